"""Single-line logs on stdout; under systemd each line starts with its journald priority (<3>..<7>)."""

from __future__ import annotations

import logging
import re
import sys
from typing import Iterable

LEVELS = ("debug", "info", "warning", "error")

_PRIORITY = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6,
             logging.DEBUG: 7}


class JournalFormatter(logging.Formatter):
    def __init__(self, prefix: bool) -> None:
        super().__init__("%(name)s: %(message)s")
        self.prefix = prefix

    def format(self, record: logging.LogRecord) -> str:
        text = redact_text(super().format(record).replace("\n", " | "))   # one event, one line
        if self.prefix:
            return f"<{_PRIORITY.get(record.levelno, 6)}>{text}"
        return f"{record.levelname.lower():7} {text}"


def setup(level: str = "info", journald: bool = True, *, pinned: bool = False) -> None:
    """Log to stdout. ``pinned``: the level came from the command line and settings do not change it."""
    global _configured, _pinned
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JournalFormatter(journald))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("PIL").setLevel(logging.INFO)      # its debug lines are PNG chunk dumps
    _configured, _pinned = True, pinned


# --- the level at runtime ------------------------------------------------------

_configured = False     # setup() ran (the daemon); in tests pytest owns logging
_pinned = False


def set_level(level: str) -> None:
    """Change the level now (the serial console's ``log LEVEL``); not persisted."""
    if level not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, not {level!r}")
    logging.getLogger().setLevel(level.upper())


def current_level() -> str:
    return logging.getLevelName(logging.getLogger().getEffectiveLevel()).lower()


def apply_configured_level(level: object) -> None:
    """``deskphone.log_level`` from the settings: applied unless --log-level said otherwise."""
    if _configured and not _pinned and level in LEVELS and level != current_level():
        set_level(str(level))


# --- no secrets in a log line ----------------------------------------------------

# user:password@ in any URL, and password-like query or form fields.
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:]*):[^\s/]*@")
_FIELD = re.compile(r"(?i)\b((?:pass(?:word)?|passwd|pwd|secret|token)=)[^&\s]+")
MIN_SECRET = 4          # shorter values (a PIN like "100" is also an extension) are not masked
_secrets: set[str] = set()


def register_secrets(values: Iterable[object]) -> None:
    """Values that must never appear in a log line (SIP and provisioning passwords)."""
    for value in values:
        if isinstance(value, str) and len(value) >= MIN_SECRET:
            _secrets.add(value)


def redact_text(text: str) -> str:
    text = _URL_PASSWORD.sub(r"\1:***@", text)
    text = _FIELD.sub(r"\1***", text)
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return text
