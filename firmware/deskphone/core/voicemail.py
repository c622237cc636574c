"""Voicemail as data: each account's mailbox, from message-summary NOTIFYs (RFC 3842).

Pure: the adapters (``net.mwi``) parse the NOTIFY bodies, solicited or not, and
post ``VoicemailChanged``; this module only keeps the mailboxes. The lamp, the
idle screen's count and MSG read ``PhoneState.voicemail``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mailbox:
    account: int
    waiting: bool = False        # Messages-Waiting: yes
    new: int = 0                 # Voice-Message: new/old (the counts; 0 when not given)
    old: int = 0
    urgent_new: int = 0          # (urgent_new/urgent_old)
    urgent_old: int = 0
    at: float = 0.0              # wall-clock seconds of the last NOTIFY


@dataclass(frozen=True)
class VoicemailChanged:
    """Input: a message-summary NOTIFY for ``account`` (parsed by the adapter)."""
    account: int
    waiting: bool
    new: int = 0
    old: int = 0
    urgent_new: int = 0
    urgent_old: int = 0
    at: float = 0.0
