"""What the simulator may touch beyond the PhoneHost port: the board's parts and the sim PBX.

The composition root hands these to the web simulator and the terminal, with
the host, when the board is simulated; the serial console and the other
adapters never see them. A simulated board may still carry a real part (a
luma display, an evdev keypad in the hardware fault tests), so each field is
what the simulator needs of the part, not the twin's class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping, Protocol

from ..core.screens import Screen

if TYPE_CHECKING:       # Pillow is imported where a frame is drawn
    from PIL.Image import Image


class Keypad(Protocol):
    def press(self, key: str) -> None: ...


class HookSwitch(Protocol):
    off_hook: bool

    def set(self, off_hook: bool) -> None: ...


class LedPanel(Protocol):
    @property
    def state(self) -> Mapping[str, str]: ...


class Display(Protocol):
    screen: Screen | None
    frame: "Image"
    listeners: list[Callable[["Image"], None]]


class SimulatedPbx(Protocol):
    """The far end that ``engine.sim.SimEngine`` plays: calls in, answers, hangs up, fails."""

    def incoming(self, number: str, name: str = "") -> object: ...
    def remote_answer(self) -> bool: ...
    def remote_hangup(self) -> bool: ...
    def remote_hold(self, held: bool) -> bool: ...
    def crash(self) -> None: ...
    def restart(self) -> None: ...


@dataclass(frozen=True)
class SimControls:
    keypad: Keypad
    hook: HookSwitch
    leds: LedPanel
    display: Display
    engine: SimulatedPbx | None = None    # None: a simulated board with a real engine

    def pbx(self) -> SimulatedPbx:
        if self.engine is None:
            raise ValueError("the engine is not the simulated PBX (deskphone.engine = sim)")
        return self.engine
