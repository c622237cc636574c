"""Text from outside (a caller's name and URI) made safe to show: no controls, no bidi tricks.

A SIP caller writes its own display name. Escape sequences in it (ESC, BEL,
the C1 CSI, OSC 52 that writes a terminal's clipboard) would reach the serial
console and ``deskphone sim`` raw; a line separator (U+2028, U+0085) would
split a line for clients that read with ``splitlines()``; a right-to-left
override shows "202" as something else. ``printable`` removes all of them where
names and URIs enter the phone (the engines' adapters): C0 and C1 controls and
DEL (a tab or line break becomes a blank), U+2028/U+2029, and the bidi
embedding, override and isolate marks.
"""

from __future__ import annotations

import re

_BLANKS = re.compile(r"[\t\n\r\x0b\x0c\x85\u2028\u2029]+")
_DROP = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` without control characters (line breaks become one blank)."""
    return _DROP.sub("", _BLANKS.sub(" ", text))
