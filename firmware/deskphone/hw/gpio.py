"""The hook switch and the LEDs on GPIO pins, through gpiozero.

Every device takes its pin factory by keyword (``pin_factory=``): lgpio on the
Pi, gpiozero's ``MockFactory`` in tests. gpiozero calls edge callbacks on a
thread of its own (lgpio's alert thread; with mock pins, whoever drives the
pin): they cross into the event loop with ``loop.call_soon_threadsafe`` and do
nothing else.

The hook switch is not debounced here: mock pins ignore ``bounce_time`` and so
do some kernels, so the core settles it (``deskphone.hook.debounce_ms``).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from dataclasses import dataclass
from typing import Any, Callable

from ..core import inputs as ins

log = logging.getLogger("deskphone.hw.gpio")

Post = Callable[[ins.Input], None]

# Seconds on / off. Yealink-like: a slow blink for a held call or a waiting
# message, a fast one for a ringing line.
BLINK = {"slow": 0.5, "fast": 0.15}
PATTERNS = ("off", "on", "slow", "fast")


def make_pin_factory(name: str | None, workdir: str | None = None) -> Any:
    """The gpiozero pin factory: ``GPIOZERO_PIN_FACTORY`` first, then the board's choice.

    None leaves the choice to gpiozero (it tries lgpio first). lgpio keeps a
    FIFO in its working directory, so ``LG_WD`` points at a writable one.
    """
    name = os.environ.get("GPIOZERO_PIN_FACTORY") or name
    if not name:
        return None
    name = name.lower()
    if name == "mock":
        # A dry run of a Pi board on any machine: pins that remember, PWM included.
        from gpiozero.pins.mock import MockFactory, MockPWMPin
        return MockFactory(pin_class=MockPWMPin)
    if name == "lgpio" and workdir:
        os.environ.setdefault("LG_WD", workdir)
    from importlib.metadata import entry_points
    for ep in entry_points(group="gpiozero_pin_factories"):
        if ep.name == name:
            return ep.load()()
    raise ValueError(f"gpiozero has no pin factory {name!r}")


class GpioHookSwitch:
    """The handset hook switch on one GPIO pin.

    ``pull``: ``up`` (switch to ground, the default), ``down`` (switch to 3V3)
    or ``none`` (an external resistor; then ``active_low`` says which level is
    "closed"). ``closed_means``: ``on_hook`` when the resting handset closes the
    switch (the usual build), ``off_hook`` when lifting it does.
    """

    role = "hook"

    def __init__(self, post: Post, pin: int | str, *, pull: str = "up",
                 active_low: bool = True, closed_means: str = "on_hook",
                 pin_factory: Any = None) -> None:
        from gpiozero import DigitalInputDevice
        pull_up = {"up": True, "down": False, "none": None}[pull]
        self._post = post
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed_off_hook = closed_means == "off_hook"
        self.device = DigitalInputDevice(
            pin, pull_up=pull_up, active_state=(not active_low) if pull_up is None else None,
            bounce_time=None, pin_factory=pin_factory)
        self.callbacks_on: set[str] = set()     # thread names callbacks came from (for tests)

    @property
    def off_hook(self) -> bool:
        return bool(self.device.is_active) == self.closed_off_hook

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._post(ins.HookChanged(self.off_hook))
        self.device.when_activated = lambda: self._edge(True)
        self.device.when_deactivated = lambda: self._edge(False)

    def _edge(self, closed: bool) -> None:
        # On gpiozero's thread: hand over to the loop, nothing else.
        import threading
        self.callbacks_on.add(threading.current_thread().name)
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._post, ins.HookChanged(closed == self.closed_off_hook))

    async def close(self) -> None:
        self.device.when_activated = None
        self.device.when_deactivated = None
        self.device.close()


@dataclass(frozen=True)
class LedPin:
    pin: int | str
    active_high: bool = True
    brightness: float = 1.0         # below 1: PWM, where the pin can do it


class GpioLeds:
    """The phone's LEDs (power, mwi, dnd, mute, speaker, headset, line1..N): each optional.

    A pattern the board has no LED for is ignored. Blinking runs on gpiozero's
    own source thread, at the LED's brightness.
    """

    def __init__(self, pins: dict[str, LedPin], *, pin_factory: Any = None) -> None:
        self.leds: dict[str, Any] = {}
        self.brightness: dict[str, float] = {}
        self.state: dict[str, str] = {}
        for name, spec in pins.items():
            self.leds[name], self.brightness[name] = self._make(name, spec, pin_factory)

    @staticmethod
    def _make(name: str, spec: LedPin, pin_factory: Any) -> tuple[Any, float]:
        from gpiozero import LED, PWMLED
        from gpiozero.exc import PinPWMUnsupported
        if spec.brightness < 1.0:
            try:
                return PWMLED(spec.pin, active_high=spec.active_high, initial_value=0,
                              pin_factory=pin_factory), spec.brightness
            except PinPWMUnsupported:
                log.warning("LED %s: pin %s cannot dim (no PWM); it lights fully", name, spec.pin)
        return LED(spec.pin, active_high=spec.active_high, initial_value=False,
                   pin_factory=pin_factory), 1.0

    def set(self, led: str, pattern: str) -> None:
        if pattern not in PATTERNS:
            raise ValueError(f"no LED pattern {pattern!r}")
        device = self.leds.get(led)
        previous = self.state.get(led)
        self.state[led] = pattern
        if device is None or previous == pattern:
            return
        level = self.brightness[led]
        device.source = None                    # stops a running blink
        if pattern == "off":
            device.value = 0
        elif pattern == "on":
            device.value = level
        else:
            device.source_delay = BLINK[pattern]
            device.source = itertools.cycle((level, 0))

    async def close(self) -> None:
        for device in self.leds.values():
            device.source = None
            device.close()
