"""The simulated board: software twins of the keypad, hook switch, LEDs and display.

The twins carry test controls (``press``, ``lift``) and keep what they were
told (``leds``, ``frame``), in the manner of gpiozero's mock pins.
"""

from __future__ import annotations

from typing import Callable

from PIL import Image

from ..core import inputs as ins
from ..core.keys import is_key
from ..core.screens import Screen
from ..hw.render import render

Post = Callable[[ins.Input], None]


class SimKeypad:
    def __init__(self, post: Post) -> None:
        self._post = post

    def press(self, key: str) -> None:
        if not is_key(key):
            raise ValueError(f"no such key: {key!r}")
        self._post(ins.KeyPress(key))

    def type(self, digits: str) -> None:
        for d in digits:
            self.press(d)


class SimHook:
    def __init__(self, post: Post) -> None:
        self._post = post
        self.off_hook = False

    def lift(self) -> None:
        self.set(True)

    def hang_up(self) -> None:
        self.set(False)

    def set(self, off_hook: bool) -> None:
        self.off_hook = off_hook
        self._post(ins.HookChanged(off_hook))


class SimLeds:
    def __init__(self) -> None:
        self.state: dict[str, str] = {}

    def set(self, led: str, pattern: str) -> None:
        self.state[led] = pattern

    async def close(self) -> None:
        pass


class SimDisplay:
    """Keeps the last screen and its rendered frame; listeners hear of each new frame."""

    def __init__(self, width: int = 128, height: int = 64) -> None:
        self.width, self.height = width, height
        self.screen: Screen | None = None
        self.frame: Image.Image = Image.new("1", (width, height), 0)
        self.frames = 0
        self.listeners: list[Callable[[Image.Image], None]] = []

    def show(self, screen: Screen) -> None:
        self.screen = screen
        self.frame = render(screen, self.width, self.height)
        self.frames += 1
        for listener in list(self.listeners):
            listener(self.frame)

    async def close(self) -> None:
        pass
