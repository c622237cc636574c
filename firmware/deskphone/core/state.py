"""The phone's state: what it knows about itself, its calls and its screen.

Plain data with a few read-only questions on it. The models (``calls``,
``controls``, ``feature_control``, ``sound_model``, ``lifecycle``) change it;
``screens`` and ``outputs`` only read it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Mapping

from .accounts import enabled_accounts
from .call_log import CallLog
from .blf import BlfLine
from .directory import Directory
from .views import View
from .voicemail import Mailbox
from .xml_objects import XmlState

ROUTES = ("handset", "speaker", "headset")
# What the volume keys adjust, each kept as deskphone.volume.<context>: the ringer,
# each route's call (and its tones), and the key tones heard from an idle phone.
VOLUME_CONTEXTS = ("ring", "handset", "speaker", "headset", "tones")
VOLUME_STEPS = 15
DEFAULT_VOLUME = 8
MESSAGE_SECONDS = 2.0


@dataclass(frozen=True)
class DeviceInfo:
    mac: str                 # 12 lower-case hex digits, as Yealink's $mac
    model: str
    firmware: str
    ip: str = ""
    line_keys: int = 2


class CallState(enum.Enum):
    CALLING = "calling"          # outgoing, the engine has not placed it yet
    RINGBACK = "ringback"        # outgoing, placed (the far end may or may not ring yet)
    RINGING = "ringing"          # incoming, not answered
    CONNECTED = "connected"      # answered, by either side


@dataclass
class Call:
    ref: str                         # ours, known from the start
    call_id: str                     # the SIP Call-ID, "" until the engine reports it
    direction: str                   # "in" | "out"
    account: int
    remote_uri: str = ""
    remote_name: str = ""
    number: str = ""                 # what the user dialled (outgoing)
    state: CallState = CallState.CALLING
    held: bool = False               # we put it on hold
    remote_held: bool = False        # the far end put us on hold
    muted: bool = False
    established_at: float | None = None
    consult_for: str | None = None   # ref of the call this consultation would transfer
    auto_transfer: bool = False      # ATrans=: complete as soon as the target rings
    transferring: bool = False       # handed to the engine, outcome pending
    remote_ringing: bool = False     # outgoing: the far end said it rings (180/183)
    early_media: bool = False        # outgoing: the far end plays its own ringback (183)

    def matches(self, call_id: str) -> bool:
        """``call_id`` names this call: its SIP Call-ID, its ref, or its number as
        ``$call_id`` sends it (the ref's digits: ``core.variables.call_number``)."""
        return call_id in (self.call_id, self.ref, self.ref.lstrip("c")) and call_id != ""

    @property
    def connected(self) -> bool:
        return self.state is CallState.CONNECTED

    @property
    def ringing(self) -> bool:
        return self.state is CallState.RINGING


@dataclass
class DialBuffer:
    digits: str = ""
    account: int = 1
    transfer_of: str | None = None   # ref of the held call when dialling a transfer target


@dataclass
class Menu:
    items: tuple[str, ...]
    index: int = 0
    editing: str | None = None       # the forward kind whose target is being typed
    entry: str = ""


@dataclass
class Sent:
    """What the outputs last told the outside world, so that only changes go out."""
    busy: bool = False
    screen: object | None = None     # screens.Screen
    leds: dict[str, str] = field(default_factory=dict)
    status: str = ""
    tones: dict[str, str] = field(default_factory=dict)
    levels: dict[str, int] = field(default_factory=dict)
    mics: dict[str, bool] = field(default_factory=dict)
    route: str | None = None
    bell: bool = False


@dataclass
class PhoneState:
    settings: Mapping[str, object]
    device: DeviceInfo
    ip: str = ""
    started: bool = False
    hook_off: bool = False               # debounced handset hook
    raw_hook: bool = False               # the last level the switch reported
    audio: str | None = None             # None | handset | speaker | headset
    dial: DialBuffer | None = None
    calls: list[Call] = field(default_factory=list)
    focus: str | None = None             # ref of the call the screen and keys act on
    menu: Menu | None = None
    prompts: list[str] = field(default_factory=list)  # the source "Allow Remote Control?" asks
    #                                                   about: one at most (core.lifecycle)
    prompt_quiet_until: float = 0.0      # no new prompt before this time
    autop_reboot: bool = False           # a check-sync asked to restart after a good set
    regs: dict[int, str] = field(default_factory=dict)
    engine_up: bool = True
    missing: dict[str, str] = field(default_factory=dict)   # board parts gone: device -> detail
    missed: int = 0
    last_number: str = ""
    volume: int = DEFAULT_VOLUME         # the level the volume bar shows
    show_volume: bool = False
    message: str = ""
    now: float = 0.0
    # A progress tone after a call ended: (tone, route).
    progress: tuple[str, str] | None = None
    refs: int = 0
    sent: Sent = field(default_factory=Sent)
    # What the phone shows and remembers (core.records, core.xml_browser).
    call_log: CallLog = field(default_factory=CallLog)
    directory: Directory = field(default_factory=Directory)
    view: View | None = None             # History, a call log list or the directory
    xml: XmlState = field(default_factory=XmlState)
    voicemail: dict[int, Mailbox] = field(default_factory=dict)   # account -> mailbox (core.voicemail)
    blf: dict[int, BlfLine] = field(default_factory=dict)         # line key -> watched line (core.blf)
    blf_settings: object = None          # the settings ``blf`` was last synced from (blf_control)

    def setting(self, key: str, default: object) -> object:
        return self.settings.get(key, default)

    def number(self, key: str, default: int) -> int:
        """A whole-number setting (levels, delays, counts)."""
        value = self.settings.get(key, default)
        return int(value) if isinstance(value, (int, float, str)) else default

    def new_ref(self) -> str:
        self.refs += 1
        return f"c{self.refs}"

    @property
    def focused(self) -> Call | None:
        return next((c for c in self.calls if c.ref == self.focus), None)

    @property
    def busy(self) -> bool:
        return bool(self.calls) or self.dial is not None or self.audio is not None or self.hook_off

    def ringing(self) -> Call | None:
        return next((c for c in self.calls if c.ringing), None)

    def call(self, call_id: str | None) -> Call | None:
        """The call the engine or a remote key names; None names the focused one."""
        if call_id is None:
            return self.focused
        # The SIP Call-ID first: a far end's Call-ID may be all digits, like a call number.
        return next((c for c in self.calls if c.call_id == call_id), None) \
            or next((c for c in self.calls if c.matches(call_id)), None)

    def by_ref(self, ref: str | None) -> Call | None:
        return next((c for c in self.calls if c.ref == ref), None)

    def default_account(self) -> int:
        accs = enabled_accounts(self.settings)
        for a in accs:
            if self.regs.get(a.index) == "registered":
                return a.index
        return accs[0].index if accs else 1

    def volume_level(self, context: str) -> int:
        """The stored level (0..15) of a volume context (``VOLUME_CONTEXTS``)."""
        return self.number(f"deskphone.volume.{context}", DEFAULT_VOLUME)
