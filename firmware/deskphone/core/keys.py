"""The phone's key names: the physical keys and the Yealink Action URI values that press them."""

from __future__ import annotations

DIGITS = tuple("0123456789*#")
NAVIGATION = ("UP", "DOWN", "LEFT", "RIGHT")
SOFT_KEYS = ("F1", "F2", "F3", "F4")
FUNCTION_KEYS = (
    "OK", "X", "SPEAKER", "HEADSET", "MUTE", "HOLD", "TRANSFER", "CONF", "MSG", "RD",
    "VOLUME_UP", "VOLUME_DOWN", "AUTOP",
)
MAX_LINE_KEYS = 29   # the largest Yealink (T48G) has L1..L29


def is_line_key(key: str) -> bool:
    return key.startswith("L") and key[1:].isdigit() and 1 <= int(key[1:]) <= MAX_LINE_KEYS


def is_key(key: str) -> bool:
    return key in DIGITS or key in NAVIGATION or key in SOFT_KEYS or key in FUNCTION_KEYS \
        or is_line_key(key)
