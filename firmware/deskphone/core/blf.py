"""BLF line keys as data: the watched extensions and their dialog state (RFC 4235).

Pure: the adapter (``net.blf``) subscribes to the ``dialog`` event package for
each ``linekey.N.type = 16`` key and posts ``DialogChanged`` with the parsed
``application/dialog-info+xml``; this module keeps the lines. The line keys'
LEDs, the key presses and ``/api/v1/blf`` read ``PhoneState.blf``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BLF_STATES = ("idle", "ringing", "talking", "unknown")   # unknown: no NOTIFY yet / failed


@dataclass(frozen=True)
class Dialog:
    """One dialog of the watched extension, as dialog-info gave it."""
    id: str
    state: str                   # trying | proceeding | early | confirmed | terminated
    direction: str = ""          # initiator | recipient | ""
    call_id: str = ""
    local_tag: str = ""
    remote_tag: str = ""
    remote: str = ""             # the other party's identity (URI or number)


@dataclass(frozen=True)
class BlfLine:
    key: int                     # the line key number N of linekey.N
    value: str                   # linekey.N.value: the watched extension / URI
    label: str = ""              # linekey.N.label
    account: int = 1             # linekey.N.line
    state: str = "unknown"       # one of BLF_STATES
    dialogs: tuple[Dialog, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class DialogChanged:
    """Input: a dialog NOTIFY for line key ``key`` (the adapter parsed the body)."""
    key: int
    state: str                   # one of BLF_STATES, as the adapter summed the dialogs up
    dialogs: tuple[Dialog, ...] = ()
