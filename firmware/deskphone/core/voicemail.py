"""Voicemail: each account's mailbox, from message-summary NOTIFYs (RFC 3842).

Pure: the adapters (``net.mwi``) parse the NOTIFY bodies, solicited or not, and
post ``VoicemailChanged``; ``on_voicemail_changed`` keeps the mailboxes in
``PhoneState.voicemail``. From them: the lamp (``lamp``: the ``mwi`` LED, and
the power LED with ``phone_setting.mail_power_led_flash_enable``, in
core/outputs.py), the idle screen's count (``idle_line``, for the accounts with
``account.N.display_mwi.enable``) and MSG (``msg_key``: dials
``voice_mail.number.N`` of the first account with messages waiting, else of
the default account; an empty number says so on the screen).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .accounts import MAX_ACCOUNTS, enabled_accounts

if TYPE_CHECKING:
    from .state import PhoneState
    from .step import Step


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


# ------------------------------------------------------------------ the behaviour
# (the handler of VoicemailChanged, the lamp, the idle screen's line, MSG)

def on_voicemail_changed(step: "Step", inp: VoicemailChanged) -> None:
    """A mailbox as its NOTIFY has it; an account the phone cannot have changes nothing."""
    if not 1 <= inp.account <= MAX_ACCOUNTS:
        return
    step.state.voicemail[inp.account] = Mailbox(
        inp.account, inp.waiting, *(max(0, v) for v in (inp.new, inp.old, inp.urgent_new,
                                                        inp.urgent_old)), at=inp.at)


def waiting(state: "PhoneState") -> list[Mailbox]:
    """The mailboxes with messages waiting, of enabled accounts, in account order."""
    enabled = {a.index for a in enabled_accounts(state.settings)}
    return [box for n, box in sorted(state.voicemail.items()) if box.waiting and n in enabled]


def shown(state: "PhoneState") -> list[Mailbox]:
    """The waiting mailboxes whose count the idle screen shows (``account.N.display_mwi``)."""
    return [box for box in waiting(state)
            if state.settings.get(f"account.{box.account}.display_mwi.enable", True)]


def idle_line(state: "PhoneState") -> str:
    """"2 new voicemails", "New voicemail" (waiting, no count given), or ""."""
    boxes = shown(state)
    if not boxes:
        return ""
    new = sum(box.new for box in boxes)
    if not new:
        return "New voicemail"
    return f"{new} new voicemail{'s' if new != 1 else ''}"


def lamp(state: "PhoneState") -> bool:
    """The message-waiting lamp: lit while any enabled account has messages waiting."""
    return bool(waiting(state))


def msg_key(step: "Step") -> None:
    """MSG: call the voicemail of the account with messages, else of the default account."""
    from . import calls            # at use: calls imports state, which imports this module
    state = step.state
    if state.calls:
        return
    boxes = waiting(state)
    account = boxes[0].account if boxes else state.default_account()
    number = str(state.settings.get(f"voice_mail.number.{account}", "")).strip()
    if not number:
        step.flash("No voicemail number set")      # voice_mail.number.N is empty
        return
    state.menu, state.dial = None, None
    state.audio = state.audio or "speaker"
    calls.place(step, number, account)
