"""Voicemail at work: the mailboxes kept from ``VoicemailChanged``, the lamp, the idle line, MSG.

The data is ``core.voicemail`` (``Mailbox``, ``VoicemailChanged``); this module is
the behaviour, kept apart so that the state can hold mailboxes without importing
the call model.
"""

from __future__ import annotations

from . import calls
from .accounts import MAX_ACCOUNTS, enabled_accounts
from .state import PhoneState
from .step import Step
from .voicemail import Mailbox, VoicemailChanged

def on_voicemail_changed(step: Step, inp: VoicemailChanged) -> None:
    """A mailbox as its NOTIFY has it; an account the phone cannot have changes nothing."""
    if not 1 <= inp.account <= MAX_ACCOUNTS:
        return
    step.state.voicemail[inp.account] = Mailbox(
        inp.account, inp.waiting, *(max(0, v) for v in (inp.new, inp.old, inp.urgent_new,
                                                        inp.urgent_old)), at=inp.at)


def waiting(state: PhoneState) -> list[Mailbox]:
    """The mailboxes with messages waiting, of enabled accounts, in account order."""
    enabled = {a.index for a in enabled_accounts(state.settings)}
    return [box for n, box in sorted(state.voicemail.items()) if box.waiting and n in enabled]


def shown(state: PhoneState) -> list[Mailbox]:
    """The waiting mailboxes whose count the idle screen shows (``account.N.display_mwi``)."""
    return [box for box in waiting(state)
            if state.settings.get(f"account.{box.account}.display_mwi.enable", True)]


def idle_line(state: PhoneState) -> str:
    """"2 new voicemails", "New voicemail" (waiting, no count given), or ""."""
    boxes = shown(state)
    if not boxes:
        return ""
    new = sum(box.new for box in boxes)
    if not new:
        return "New voicemail"
    return f"{new} new voicemail{'s' if new != 1 else ''}"


def lamp(state: PhoneState) -> bool:
    """The message-waiting lamp: lit while any enabled account has messages waiting."""
    return bool(waiting(state))


def msg_key(step: Step) -> None:
    """MSG: call the voicemail of the account with messages, else of the default account."""
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
