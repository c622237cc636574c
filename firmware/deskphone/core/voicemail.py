"""Voicemail: each account's mailbox, from message-summary NOTIFYs (RFC 3842).

Pure data: the adapters (``net.mwi``) parse the NOTIFY bodies, solicited or not,
and post ``VoicemailChanged``; ``core.voicemail_control`` keeps the mailboxes in
``PhoneState.voicemail`` and does what follows from them: the lamp (``lamp``:
the ``mwi`` LED, and the power LED with ``phone_setting.mail_power_led_flash_enable``,
in core/outputs.py), the idle screen's count (``idle_line``, for the accounts with
``account.N.display_mwi.enable``) and MSG (``msg_key``: dials
``voice_mail.number.N`` of the first account with messages waiting, else of
the default account; an empty number says so on the screen).
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
