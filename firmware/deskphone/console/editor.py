"""Line editing for a raw serial line: the console echoes what is typed, itself.

pyserial puts the port in raw mode (no kernel echo, no line buffering), and
terminal programs (screen, minicom, picocom, PuTTY) do not echo locally, so
each typed character is echoed here, once. Handled: printable text (UTF-8),
backspace and DEL, CR, LF or CRLF as the end of a line (a CRLF is one line,
not a line and an empty one), Ctrl-C (drop the line), Ctrl-U (erase it), and
escape sequences such as the arrow keys (swallowed, so they never reach a
command as garbage). What follows a prefix that ``mask`` accepts (``config set
account.1.password ``) is echoed as ``*``, so a password typed on the console
is not left on the screen. Pure: bytes in, echo bytes and finished lines out.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from typing import Callable

MAX_LINE = 512
ESC = "\x1b"
BELL = b"\x07"


@dataclass
class Edited:
    echo: bytes = b""
    lines: list[str] = field(default_factory=list)   # finished lines, in order (may be "")


class LineEditor:
    def __init__(self, mask: Callable[[str], bool] | None = None) -> None:
        self.buffer: list[str] = []
        self.mask = mask
        self._masked_from: int | None = None    # buffer index from which the echo is "*"
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._after_cr = False
        self._escape = ""            # "" | ESC | ESC + "[" ... while a sequence is being read

    @property
    def text(self) -> str:
        return "".join(self.buffer)

    @property
    def shown(self) -> str:
        """The line as the screen shows it (masked part as "*"), for redrawing it."""
        if self._masked_from is None:
            return self.text
        hidden = len(self.buffer) - self._masked_from
        return "".join(self.buffer[:self._masked_from]) + "*" * hidden

    def feed(self, data: bytes) -> Edited:
        out = Edited()
        echo: list[bytes] = []
        for ch in self._decoder.decode(data):
            if self._escape:
                self._escape_char(ch)
                continue
            after_cr, self._after_cr = self._after_cr, False
            if ch == "\r":
                self._finish(out, echo)
                self._after_cr = True
            elif ch == "\n":
                if not after_cr:            # the LF of a CRLF ends nothing
                    self._finish(out, echo)
            elif ch in ("\x7f", "\b"):
                if self.buffer:
                    self.buffer.pop()
                    echo.append(b"\b \b")
                    if self._masked_from is not None and len(self.buffer) < self._masked_from:
                        self._masked_from = None
            elif ch == "\x03":              # Ctrl-C: forget the line
                self._clear()
                echo.append(b"^C")
                out.lines.append("")
                echo.append(b"\r\n")
            elif ch == "\x15":              # Ctrl-U: erase the line
                echo.append(b"\b \b" * len(self.buffer))
                self._clear()
            elif ch == ESC:
                self._escape = ESC
            elif ch < " " or ch == "\x7f" or "\x80" <= ch <= "\x9f":
                continue                    # other control characters: ignored
            elif len(self.buffer) >= MAX_LINE:
                echo.append(BELL)
            else:
                if self._masked_from is None and self.mask is not None and self.mask(self.text):
                    self._masked_from = len(self.buffer)
                self.buffer.append(ch)
                echo.append(b"*" if self._masked_from is not None else ch.encode("utf-8"))
        out.echo = b"".join(echo)
        return out

    def _finish(self, out: Edited, echo: list[bytes]) -> None:
        out.lines.append(self.text)
        self._clear()
        echo.append(b"\r\n")

    def _clear(self) -> None:
        self.buffer.clear()
        self._masked_from = None

    def _escape_char(self, ch: str) -> None:
        # ESC [ params final  (CSI), ESC O x (SS3, some keypads), ESC x (anything else).
        if self._escape == ESC:
            self._escape = ESC + ch if ch in "[O" else ""
        elif self._escape == ESC + "O":
            self._escape = ""
        elif "\x40" <= ch <= "\x7e":
            self._escape = ""
        elif len(self._escape) > 16:        # not a real sequence: stop swallowing
            self._escape = ""
        else:
            self._escape += ch
