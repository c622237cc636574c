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
    value: str = ""              # the value subscribed to; a NOTIFY for another is stale


# ------------------------------------------------------------------ the keys

LINEKEY_BLF = 16                 # linekey.N.type: Yealink's DSS key type "BLF"
EARLY = ("trying", "proceeding", "early")
DIALOG_STATES = (*EARLY, "confirmed", "terminated")

# The line key's LED per state. Yealink's BLF LED mode 1 (off when idle, fast blink when
# the watched user rings, steady while busy) is the one a one-colour LED can show: mode 0's
# green idle / red busy needs two colours. No NOTIFY yet / a failed subscription: off.
LED = {"idle": "off", "ringing": "fast", "talking": "on", "unknown": "off"}


def summed_state(dialogs: tuple[Dialog, ...] | list[Dialog]) -> str:
    """One of BLF_STATES for the watched user's dialogs.

    Ringing wins (a press then picks the call up, even over a call the user is in):
    an early dialog the user receives (direction recipient, or none given). Talking:
    a confirmed dialog, or an early one the user started (Yealink lights "dialing" as
    busy). Nothing else alive: idle.
    """
    live = [d for d in dialogs if d.state != "terminated"]
    if any(d.state in EARLY and d.direction != "initiator" for d in live):
        return "ringing"
    if any(d.state == "confirmed" or d.state in EARLY for d in live):
        return "talking"
    return "idle"


def configured(settings, max_keys: int) -> dict[int, tuple[str, str, int]]:
    """The BLF keys the settings define: key N -> (value, label, account), from linekey.N.*."""
    found: dict[int, tuple[str, str, int]] = {}
    for n in range(1, max_keys + 1):
        p = f"linekey.{n}."
        try:
            kind = int(settings.get(p + "type", 0) or 0)
            account = int(settings.get(p + "line", 1) or 1)
        except (TypeError, ValueError):
            continue
        value = str(settings.get(p + "value", "") or "").strip()
        if kind == LINEKEY_BLF and value:
            found[n] = (value, str(settings.get(p + "label", "") or ""), account)
    return found


def pickup_code(settings, key: int) -> str:
    """The directed pickup prefix for line key ``key``: linekey.N.extension (Yealink's BLF
    pickup code) before features.pickup.direct_pickup_code; "" when neither is set."""
    for name in (f"linekey.{key}.extension", "features.pickup.direct_pickup_code"):
        code = str(settings.get(name, "") or "").strip()
        if code:
            return code
    return ""


def ringing_text(lines) -> str:
    """The idle screen's line for the first watched user who rings ("" when none does):
    the key's label (linekey.N.label, else its value), as Yealink's BLF alert names it."""
    for n in sorted(lines):
        line = lines[n]
        if line.state == "ringing":
            return f"{line.label or line.value} ringing"
    return ""
