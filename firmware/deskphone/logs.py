"""Single-line logs on stdout; under systemd each line starts with its journald priority (<3>..<7>)."""

from __future__ import annotations

import logging
import sys

_PRIORITY = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6,
             logging.DEBUG: 7}


class JournalFormatter(logging.Formatter):
    def __init__(self, prefix: bool) -> None:
        super().__init__("%(name)s: %(message)s")
        self.prefix = prefix

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record).replace("\n", " | ")   # one event, one line
        if self.prefix:
            return f"<{_PRIORITY.get(record.levelno, 6)}>{text}"
        return f"{record.levelname.lower():7} {text}"


def setup(level: str = "info", journald: bool = True) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JournalFormatter(journald))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
