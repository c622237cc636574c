"""Everything that can happen to the phone, as frozen dataclasses.

Adapters (keypad, hook switch, servlet, engine, timers, console) turn what they
see into these and put them in the runtime's inbox; ``Phone.handle`` takes them
one at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

# What the phone shows and remembers: inputs kept beside their own models.
from .call_log import CallLogLoaded, ClearCallLog
from .directory import DirectoryLoaded, SetLocalDirectory
from .xml_objects import PushXml, XmlLed
from .blf import DialogChanged
from .voicemail import VoicemailChanged

# --- the phone's own life ---------------------------------------------------


@dataclass(frozen=True)
class Start:
    """The adapters are up: the phone has finished starting."""


@dataclass(frozen=True)
class TimerFired:
    name: str


@dataclass(frozen=True)
class SettingsChanged:
    """The effective settings changed (web page, console, provisioning)."""
    settings: Mapping[str, object]


@dataclass(frozen=True)
class IpChanged:
    ip: str


@dataclass(frozen=True)
class AutoProvisionDone:
    ok: bool
    reason: str = ""


# --- the person at the phone ------------------------------------------------


@dataclass(frozen=True)
class KeyPress:
    """A phone key: see ``core.keys.KEYS`` for the names.

    ``remote`` marks a key pressed through Action URI: it acts like the real key
    except that it never answers the "Allow Remote Control?" prompt (a source
    allowed already must not be able to let others in).
    """
    key: str
    remote: bool = False


@dataclass(frozen=True)
class HookChanged:
    """Hook switch level. ``off_hook`` True = handset lifted.

    From the mechanical switch (``remote`` False) the level is raw and is
    debounced in the core. ``remote`` True is an OFFHOOK / ONHOOK key (Action
    URI, SIP NOTIFY, the console): a press, applied at once and in order with
    the request's other keys; there is no contact bounce to wait out.
    """
    off_hook: bool
    remote: bool = False


# --- remote control (Action URI) features with no single key ---------------


@dataclass(frozen=True)
class Dial:
    number: str
    account: int | None = None


@dataclass(frozen=True)
class Answer:
    call_id: str | None = None


@dataclass(frozen=True)
class EndCall:
    """CALLEND / CANCEL: end the focused call, or the one named, whatever its state."""
    call_id: str | None = None


@dataclass(frozen=True)
class SetHold:
    on: bool
    call_id: str | None = None


@dataclass(frozen=True)
class Transfer:
    target: str
    attended: bool = False


@dataclass(frozen=True)
class SetDnd:
    on: bool


@dataclass(frozen=True)
class SetForward:
    kind: str               # "always" | "busy" | "no_answer"
    on: bool
    target: str | None = None
    timeout: int | None = None   # no-answer: rings (x 6 s), as Yealink


@dataclass(frozen=True)
class SetCallWaiting:
    on: bool


@dataclass(frozen=True)
class SetAccountEnabled:
    account: int
    enabled: bool


@dataclass(frozen=True)
class RequestAutoProvision:
    """The AutoP key or console command; a check-sync NOTIFY (``reboot``: restart after)."""
    reboot: bool = False


@dataclass(frozen=True)
class RequestRestart:
    """Reboot (``reset`` False) or Reset (True: back to the provisioned config), e.g. Action URI."""
    reset: bool = False


@dataclass(frozen=True)
class RemoteControlAsk:
    """A trusted source with no decision yet wants to remote-control the phone: ask the user.

    ``source`` is the address as ``core.trust.source_id`` names it.
    """
    source: str


# --- the telephony engine ---------------------------------------------------


@dataclass(frozen=True)
class RegState:
    account: int
    state: str              # "registered" | "failed" | "unregistered"
    reason: str = ""


@dataclass(frozen=True)
class CallOutgoing:
    """The engine placed the call the core asked for under ``ref``.

    ``call_id`` is its SIP Call-ID.
    """
    ref: str
    call_id: str
    remote_uri: str
    remote_name: str = ""


@dataclass(frozen=True)
class CallIncoming:
    call_id: str
    account: int
    remote_uri: str
    remote_name: str = ""


@dataclass(frozen=True)
class CallRinging:
    """The far end of an outgoing call is ringing (180/183).

    ``early_media``: the far end sends its own audio (183 with SDP): no local ringback.
    """
    call_id: str
    early_media: bool = False


@dataclass(frozen=True)
class CallEstablished:
    call_id: str


@dataclass(frozen=True)
class CallClosed:
    """The engine ended a call. ``reason``: see ``CLOSE_REASONS``."""
    call_id: str
    reason: str = "normal"
    detail: str = ""


# normal: BYE or our own hangup; busy: 486/600; declined: 603 and other 4xx-6xx
# finals to our INVITE; canceled: the caller sent CANCEL; transferred: REFER
# done; error: network or engine failure; lost: the engine went away.
CLOSE_REASONS = frozenset({"normal", "busy", "declined", "canceled", "transferred", "error",
                           "lost"})


@dataclass(frozen=True)
class CallRemoteHold:
    call_id: str
    held: bool


@dataclass(frozen=True)
class TransferResult:
    call_id: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class EngineState:
    up: bool
    detail: str = ""


# --- the board ----------------------------------------------------------------


@dataclass(frozen=True)
class DeviceState:
    """A part of the board went away or came back (keypad unplugged, panel lost, no network)."""
    device: str             # keypad | hook | display | network
    present: bool
    detail: str = ""


Input = (
    Start | TimerFired | SettingsChanged | IpChanged | AutoProvisionDone | KeyPress | HookChanged
    | Dial | Answer | EndCall | SetHold | Transfer | SetDnd | SetForward | SetCallWaiting
    | SetAccountEnabled | RequestAutoProvision | RegState | CallOutgoing | CallIncoming
    | RequestRestart | RemoteControlAsk
    | CallRinging | CallEstablished | CallClosed | CallRemoteHold | TransferResult | EngineState
    | DeviceState
    | CallLogLoaded | ClearCallLog | DirectoryLoaded | SetLocalDirectory | PushXml | XmlLed
    | DialogChanged | VoicemailChanged
)

