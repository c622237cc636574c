"""The BLF line keys at work: ``state.blf`` kept from the settings and the dialog NOTIFYs,
their LEDs, and what a press does.

A press of a BLF key (``linekey.N.type = 16``), as a Yealink does it:

* during a call (the focused call connected): transfer it to the watched user, the
  way ``transfer.dsskey_deal_type`` says (2, the default: blind; 1: attended, a
  consultation call the TRANSFER key completes; 0: a new call, the first one held);
* the watched user rings: directed pickup, a call to the pickup code and the value
  (``linekey.N.extension``, else ``features.pickup.direct_pickup_code``); with no
  code it calls the watched user (an INVITE with Replaces is not something the
  engine can send: baresip 1.0.0 has no Replaces);
* otherwise (idle, talking, unknown): call the watched user on ``linekey.N.line``.

A press while the phone itself has a call that is not connected (ringing in,
dialing out) does nothing.
"""

from __future__ import annotations

from . import calls
from . import inputs as ins
from .accounts import MAX_ACCOUNTS, account
from .blf import BLF_STATES, LED, BlfLine, DialogChanged, configured, pickup_code
from .keys import MAX_LINE_KEYS
from .state import Call, PhoneState
from .step import Step

DEAL_NEW_CALL, DEAL_ATTENDED, DEAL_BLIND = 0, 1, 2


def sync(state: PhoneState) -> None:
    """``state.blf`` as the settings define it; a key whose value, label or line stays keeps
    its state and dialogs, a changed or new one starts unknown, a removed one goes.

    Settings are replaced, never changed in place, so the same object as last time
    means nothing to do: reading 29 keys' settings was a third of a remote key's step."""
    if state.settings is state.blf_settings:
        return
    state.blf_settings = state.settings
    wanted = configured(state.settings, MAX_LINE_KEYS)
    lines = state.blf
    if len(wanted) == len(lines) and all(
            (old := lines.get(n)) is not None and (old.value, old.label, old.account) == w
            for n, w in wanted.items()):
        return
    new: dict[int, BlfLine] = {}
    for n, (value, label, acc) in wanted.items():
        old = lines.get(n)
        if old is not None and old.value == value and old.account == acc:
            new[n] = BlfLine(n, value, label, acc, old.state, old.dialogs)
        else:
            new[n] = BlfLine(n, value, label, acc)
    state.blf = new


def on_dialog_changed(step: Step, inp: DialogChanged) -> None:
    line = step.state.blf.get(inp.key)
    if line is None or inp.state not in BLF_STATES or inp.value not in ("", line.value):
        return           # a key no longer BLF or watching another (a late NOTIFY), or junk
    step.state.blf[inp.key] = BlfLine(line.key, line.value, line.label, line.account,
                                      inp.state, tuple(inp.dialogs))


def led(state: PhoneState, n: int) -> str | None:
    """The LED pattern of line key ``n`` when it is a BLF key, else None."""
    line = state.blf.get(n)
    return None if line is None else LED[line.state]


def press(step: Step, line: BlfLine) -> None:
    state = step.state
    call = state.focused
    if call is not None and call.connected:
        return _transfer(step, call, line.value)
    if state.calls:
        return
    number = line.value
    if line.state == "ringing":
        number = pickup_code(state.settings, line.key) + line.value
    acc = line.account
    if not (1 <= acc <= MAX_ACCOUNTS and account(state.settings, acc).enabled):
        acc = state.default_account()
    state.menu = None
    state.dial = None
    if state.audio is None:
        state.audio = "speaker"
    calls.place(step, number, acc)


def _transfer(step: Step, call: Call, target: str) -> None:
    deal = step.state.number("transfer.dsskey_deal_type", DEAL_BLIND)
    if deal == DEAL_BLIND:
        return calls.on_transfer(step, ins.Transfer(target))
    if deal == DEAL_ATTENDED:
        step.emit("transfer_call", call)
    calls.hold(step, call, True)
    calls.place(step, target, call.account,
                consult_for=call.ref if deal == DEAL_ATTENDED else None)
