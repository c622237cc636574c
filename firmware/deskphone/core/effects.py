"""What the core asks the outside world to do, as frozen dataclasses.

The runtime hands each effect to the adapter that owns it; the core never
waits for an effect to finish (results come back as inputs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .events import BY_ID


@dataclass(frozen=True)
class Emit:
    """Fire Action URL event ``event`` with the 14 Yealink variables computed for it."""
    event: str
    variables: Mapping[str, str]

    def __post_init__(self) -> None:
        if self.event not in BY_ID:
            raise ValueError(f"not an Action URL event: {self.event!r}")


@dataclass(frozen=True)
class Render:
    screen: "object"        # core.screens.Screen (kept loose to avoid an import cycle)


@dataclass(frozen=True)
class SetLed:
    led: str                # power, mwi, dnd, mute, speaker, headset, line1..lineN
    pattern: str            # off | on | slow | fast


@dataclass(frozen=True)
class StartTimer:
    name: str
    delay: float            # seconds; a running timer of the same name is replaced


@dataclass(frozen=True)
class CancelTimer:
    name: str


@dataclass(frozen=True)
class Persist:
    """Store a runtime change of a setting (Yealink key and typed value) in the state directory."""
    key: str
    value: object


@dataclass(frozen=True)
class StartAutoProvision:
    pass


@dataclass(frozen=True)
class Restart:
    reset: bool = False     # True: clear persisted runtime state first


@dataclass(frozen=True)
class Status:
    """One line for the service manager / console: what the phone is doing."""
    text: str


# --- engine commands --------------------------------------------------------


@dataclass(frozen=True)
class EngineDial:
    ref: str
    number: str
    account: int


@dataclass(frozen=True)
class EngineAnswer:
    call_id: str


@dataclass(frozen=True)
class EngineHangup:
    call_id: str
    code: int = 0           # 0: BYE/CANCEL as the state needs; 486/480/603: reject with it


@dataclass(frozen=True)
class EngineHold:
    call_id: str
    on: bool


@dataclass(frozen=True)
class EngineMute:
    call_id: str
    on: bool


@dataclass(frozen=True)
class EngineDtmf:
    call_id: str
    digit: str


@dataclass(frozen=True)
class EngineTransfer:
    call_id: str
    target: str


@dataclass(frozen=True)
class EngineAttendedTransfer:
    call_id: str            # the held call that goes away
    target_call_id: str     # the consultation call it is joined to


@dataclass(frozen=True)
class EngineForward:
    call_id: str
    target: str


@dataclass(frozen=True)
class EngineRegister:
    account: int
    enabled: bool


@dataclass(frozen=True)
class EngineRoute:
    """Call audio goes to this sound device from now on (also for calls still to come)."""
    route: str              # handset | speaker | headset


ENGINE_COMMANDS = (
    EngineDial, EngineAnswer, EngineHangup, EngineHold, EngineMute, EngineDtmf,
    EngineTransfer, EngineAttendedTransfer, EngineForward, EngineRegister, EngineRoute,
)


# --- the phone's own sounds (sound/ plays them) ------------------------------

@dataclass(frozen=True)
class PlayTone:
    """Play ``cadence`` (core.tones) on the device of ``route``.

    ``overlay`` False: it becomes the route's tone, replacing the one before, and
    repeats until StopTone (its ``!`` elements only the first time). ``overlay``
    True: a one-shot (key tone, confirmation) played once over whatever plays.
    """
    route: str              # handset | speaker | headset
    tone: str               # its name in the plan (dial, key, ring, ...): for logs and tests
    cadence: tuple          # tuple[core.tones.Element, ...]
    overlay: bool = False


@dataclass(frozen=True)
class StopTone:
    """The route's (non-overlay) tone stops now."""
    route: str


@dataclass(frozen=True)
class SetVolume:
    """The level, 0..15, of everything the device of ``route`` plays from now on."""
    route: str
    level: int


@dataclass(frozen=True)
class SetMicMute:
    """Switch the microphone of ``route``'s device off (``on`` True) or back on."""
    route: str
    on: bool


@dataclass(frozen=True)
class Bell:
    """The board's bell or buzzer follows ``cadence`` (its frequencies: on); () silences it."""
    cadence: tuple


SOUND_EFFECTS = (PlayTone, StopTone, SetVolume, SetMicMute, Bell)

Effect = (
    Emit | Render | SetLed | StartTimer | CancelTimer | Persist | StartAutoProvision | Restart
    | Status | EngineDial | EngineAnswer | EngineHangup | EngineHold | EngineMute | EngineDtmf
    | EngineTransfer | EngineAttendedTransfer | EngineForward | EngineRegister | EngineRoute
    | PlayTone | StopTone | SetVolume | SetMicMute | Bell
)
