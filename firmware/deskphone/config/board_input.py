"""Input devices of a board: which evdev device (``DeviceMatch``) and ready-made key maps.

Pure data, no evdev import, so ``check-config`` can validate a board on any
machine, and the board check (config/) owns it while the evdev adapter
(hw/keypad_evdev.py) only reads it. A board's ``[keypad]`` names one or more
of these maps (merged in order) and may add or override single codes in
``[keypad.keys]``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from ..core.keys import is_key


@dataclass(frozen=True)
class DeviceMatch:
    """Which input device: by ``path`` (a by-id / by-path link), else ``name`` and/or ``phys``."""
    name: str | None = None
    phys: str | None = None
    path: str | None = None

    def __post_init__(self) -> None:
        if not (self.name or self.phys or self.path):
            raise ValueError("an input device needs a name, phys or path to be found by")
        if self.path and os.path.basename(self.path).startswith("event") \
                and "/by-" not in self.path:
            raise ValueError(f"{self.path}: eventN numbers change between boots; "
                             "use a /dev/input/by-id or by-path link, a name or phys")

    def matches(self, device: Any) -> bool:
        return (self.name is None or device.name == self.name) and \
            (self.phys is None or device.phys == self.phys)

    def __str__(self) -> str:
        return self.path or " ".join(f"{k}={v!r}" for k, v in
                                     (("name", self.name), ("phys", self.phys)) if v)


_DIGITS = {str(n): str(n) for n in range(10)}

KEYMAPS: dict[str, dict[str, str]] = {
    # A USB numeric keypad ("numpad"): it has no '#' and no OK, so the keys next
    # to them stand in: '/' is '#', Enter is OK, '.' and Backspace are X.
    "usb-numpad": {
        **{f"KEY_KP{n}": n for n in _DIGITS},
        "KEY_KPASTERISK": "*",
        "KEY_KPSLASH": "#",
        "KEY_KPENTER": "OK",
        "KEY_KPDOT": "X",
        "KEY_BACKSPACE": "X",
        "KEY_KPPLUS": "VOLUME_UP",
        "KEY_KPMINUS": "VOLUME_DOWN",
        "KEY_NUMLOCK": "SPEAKER",
    },
    # A 4x3 (or 4x4) matrix keypad through the kernel's gpio-matrix-keypad
    # driver; the overlay in hardware/ gives it these codes (the ones the
    # kernel keeps for telephone keypads).
    "matrix-keypad": {
        **{f"KEY_NUMERIC_{n}": n for n in _DIGITS},
        "KEY_NUMERIC_STAR": "*",
        "KEY_NUMERIC_POUND": "#",
        # The fourth column of a 4x4 keypad (A-D) as soft keys.
        "KEY_NUMERIC_A": "F1", "KEY_NUMERIC_B": "F2",
        "KEY_NUMERIC_C": "F3", "KEY_NUMERIC_D": "F4",
    },
    # Extra push buttons, usually a gpio-keys device (see hardware/).
    "buttons": {
        "KEY_OK": "OK", "KEY_ENTER": "OK", "KEY_SELECT": "OK",
        "KEY_CANCEL": "X", "KEY_EXIT": "X", "KEY_ESC": "X",
        "KEY_UP": "UP", "KEY_DOWN": "DOWN", "KEY_LEFT": "LEFT", "KEY_RIGHT": "RIGHT",
        "KEY_PHONE": "HEADSET", "KEY_SOUND": "SPEAKER",
        "KEY_MICMUTE": "MUTE", "KEY_MUTE": "MUTE",
        "KEY_PAUSE": "HOLD", "KEY_FORWARD": "TRANSFER",
        "KEY_MAIL": "MSG", "KEY_AGAIN": "RD",
        "KEY_VOLUMEUP": "VOLUME_UP", "KEY_VOLUMEDOWN": "VOLUME_DOWN",
        **{f"KEY_F{n}": f"F{n}" for n in range(1, 5)},
        # Line keys: the kernel's "macro" keys are free for this.
        **{f"KEY_MACRO{n}": f"L{n}" for n in range(1, 13)},
    },
}

_CODE_NAME = re.compile(r"^(KEY|BTN)_[A-Z0-9_]+$")


def build_keymap(maps: list[str], extra: dict[str, str]) -> dict[str, str]:
    """Merge the named ready-made maps, then ``extra``; raises ValueError naming what is wrong."""
    merged: dict[str, str] = {}
    for name in maps:
        if name not in KEYMAPS:
            raise ValueError(f"no key map {name!r} (known: {', '.join(KEYMAPS)})")
        merged.update(KEYMAPS[name])
    for code, key in extra.items():
        if not _CODE_NAME.match(code):
            raise ValueError(f"{code!r} is not a key code name (KEY_... or BTN_...)")
        if not isinstance(key, str) or not is_key(key):
            raise ValueError(f"{code}: {key!r} is not a phone key")
        merged[code] = key
    return merged
