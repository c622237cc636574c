"""The call model: how calls are placed, answered, ended, held, forwarded and transferred.

Which Action URL event fires when (our reading of the Yealink descriptions,
documented in the README):

- Outgoing Call: the engine has placed the call (the SIP Call-ID is known).
- Established: a call is answered, by either side. Terminated: an answered
  call ends, for any reason.
- Missed Call: an incoming call ends unanswered without the user rejecting it
  (plus Call Remote Canceled when the caller cancelled it), or is turned away
  busy because call waiting is off.
- Reject Incoming Call: the user (or a remote key) rejects a ringing call, or
  DND turns it away.
- Cancel Call Out: the user ends an outgoing call before it is answered.
- Remote Busy: the far end rejects an outgoing call (busy, decline, 4xx-6xx).
- Transfer Call: a transfer starts (the TRANSFER key, BTrans= or ATrans=);
  Blind Transfer / Attended Transfer: the transfer is handed to the engine;
  Transfer Finished / Transfer Failed: its outcome.

The transitions of ``Call.state``: an outgoing call is CALLING until the engine
places it, RINGBACK until answered, then CONNECTED; an incoming call is
RINGING until answered (CONNECTED) or gone. A call leaves ``state.calls``
when it ends, in any state.

Leaving the dial buffer (``cancel_dial``) is here rather than with the other
dialing in ``controls``: CALLEND reaches it too, and a transfer being dialled
gives its held call back.
"""

from __future__ import annotations

from . import effects as fx
from . import inputs as ins
from . import sound_model
from .accounts import enabled_accounts
from .features import CALL_WAITING, DND, FORWARDS, NO_ANSWER_TIMEOUT_KEY
from .state import Call, CallState, DialBuffer
from .step import Step

RING_SECONDS = 6                     # Yealink counts no-answer forward in rings of 6 s
REG_EVENTS = {"registered": "registered", "failed": "register_failed",
                "unregistered": "unregistered"}


# ------------------------------------------------------------ transitions

def place(step: Step, number: str, account_index: int, consult_for: str | None = None,
          auto_transfer: bool = False) -> Call:
    state = step.state
    call = Call(ref=state.new_ref(), call_id="", direction="out", account=account_index,
                number=number, consult_for=consult_for, auto_transfer=auto_transfer)
    state.calls.append(call)
    state.focus = call.ref
    state.last_number = number
    step.send(fx.EngineDial(call.ref, number, account_index))
    return call


def remove(step: Step, call: Call) -> None:
    state = step.state
    state.calls.remove(call)
    step.cancel_timer(f"noanswer:{call.ref}")
    if state.focus == call.ref:
        nxt = state.by_ref(call.consult_for) or (state.calls[0] if state.calls else None)
        state.focus = nxt.ref if nxt else None
    if not state.calls:
        if state.hook_off:
            state.audio = "handset"
            state.dial = DialBuffer(account=state.default_account())
        else:
            state.audio = None


def answer(step: Step, call: Call, audio: str) -> None:
    state = step.state
    others = [c for c in state.calls if c is not call and c.connected and not c.held]
    for other in others:
        hold(step, other, True)
    state.dial = None
    state.menu = None
    state.audio = "handset" if state.hook_off else audio
    state.focus = call.ref
    call.state = CallState.CONNECTED
    call.established_at = step.now
    step.cancel_timer(f"noanswer:{call.ref}")
    step.send(fx.EngineAnswer(call.call_id))
    if others or len(state.calls) > 1:
        step.emit("answer_new_incoming_call", call)
    step.emit("call_established", call)
    schedule_ticks(step)


def reject(step: Step, call: Call) -> None:
    step.send(fx.EngineHangup(call.call_id, 486))
    step.emit("reject_incoming_call", call)
    remove(step, call)


def end(step: Step, call: Call) -> None:
    """The user ends ``call`` in whatever state it is."""
    if call.ringing:
        return reject(step, call)
    step.send(fx.EngineHangup(call.call_id or call.ref))
    step.emit("call_terminated" if call.connected else "cancel_callout", call)
    remove(step, call)


def hold(step: Step, call: Call, on: bool) -> None:
    if call.held == on:
        return
    call.held = on
    step.send(fx.EngineHold(call.call_id, on))
    step.emit("hold" if on else "unhold", call)


def mute(step: Step, call: Call, on: bool) -> None:
    call.muted = on
    step.send(fx.EngineMute(call.call_id, on))
    step.emit("mute" if on else "unmute", call)


def forward(step: Step, call: Call, target: str) -> None:
    step.send(fx.EngineForward(call.call_id, target))
    step.emit("forward_incoming_call", call)
    remove(step, call)


def transfer_key(step: Step) -> None:
    """TRANSFER: start a transfer, or complete the one under way (blind or attended)."""
    state = step.state
    call = state.focused
    if call is None:
        return
    if state.dial is not None and state.dial.transfer_of is not None:
        held = state.by_ref(state.dial.transfer_of)
        target = state.dial.digits
        if held is not None and target:
            # TRANSFER again before dialling the target out: a blind transfer.
            state.dial = None
            step.cancel_timer("dial")
            blind_transfer(step, held, target)
        return
    if call.consult_for is not None:
        held = state.by_ref(call.consult_for)
        if held is not None and call.state in (CallState.RINGBACK, CallState.CONNECTED):
            attended_transfer(step, held, call)
        return
    if call.connected:
        step.emit("transfer_call", call)
        hold(step, call, True)
        state.dial = DialBuffer(account=call.account, transfer_of=call.ref)


def blind_transfer(step: Step, call: Call, target: str) -> None:
    call.transferring = True
    step.send(fx.EngineTransfer(call.call_id, target))
    step.emit("blind_transfer_call", call)


def attended_transfer(step: Step, held: Call, consult: Call) -> None:
    held.transferring = True
    step.send(fx.EngineAttendedTransfer(held.call_id, consult.call_id))
    step.emit("attended_transfer_call", held)


def complete_consult(step: Step, consult: Call) -> None:
    held = step.state.by_ref(consult.consult_for)
    consult.auto_transfer = False
    if held is not None:
        attended_transfer(step, held, consult)


def schedule_ticks(step: Step) -> None:
    """One timer drives the on-screen clock: every second in a call, every minute when idle."""
    if any(c.connected for c in step.state.calls):
        step.timer("tick", 1.0)
    else:
        step.timer("tick", 60.0 - (step.now % 60.0) + 0.01)


def no_answer_timeout(step: Step, ref: str) -> None:
    """The no-answer forward's time is up for the call ``ref``."""
    call = step.state.by_ref(ref)
    target = FORWARDS["no_answer"].target(step.state.settings)
    if call and call.ringing and target:
        forward(step, call, target)


# ------------------------------------------------- remote-control inputs

def on_dial(step: Step, inp: ins.Dial) -> None:
    state = step.state
    if any(c.state in (CallState.CALLING, CallState.RINGBACK) for c in state.calls):
        return step.flash("Busy")
    for c in state.calls:
        if c.connected:
            hold(step, c, True)
    state.dial = None
    state.menu = None
    if state.audio is None:
        state.audio = "handset" if state.hook_off else "speaker"
    place(step, inp.number, inp.account or state.default_account())


def on_answer(step: Step, inp: ins.Answer) -> None:
    state = step.state
    call = state.call(inp.call_id) if inp.call_id else state.ringing()
    if call is not None and call.ringing:
        answer(step, call, state.audio or "speaker")


def on_end_call(step: Step, inp: ins.EndCall) -> None:
    state = step.state
    call = state.call(inp.call_id)
    if inp.call_id is None and call is None:
        call = state.ringing()
    if call is not None:
        end(step, call)
    elif state.dial is not None and inp.call_id is None:
        cancel_dial(step)


def cancel_dial(step: Step) -> None:
    """Leave the dial buffer; a transfer being dialled gives the held call back."""
    state = step.state
    dial = state.dial
    assert dial is not None
    state.dial = None
    step.cancel_timer("dial")
    if dial.transfer_of is not None:
        held = state.by_ref(dial.transfer_of)
        if held is not None:
            state.focus = held.ref
            hold(step, held, False)
    elif not state.hook_off and not state.calls:
        state.audio = None


def on_set_hold(step: Step, inp: ins.SetHold) -> None:
    state = step.state
    call = state.call(inp.call_id)
    if inp.call_id is None and not inp.on and call is not None and not call.held:
        # UNHOLD / F_UNHOLD with the focused call talking: resume the call on hold
        # (the one other call), as the Resume soft key of that call would.
        held = [c for c in state.calls if c.connected and c.held]
        if len(held) == 1:
            return swap(step)
    if call is not None and call.connected:
        hold(step, call, inp.on)


def swap(step: Step) -> None:
    """SWAP: with a call talking and one on hold, hold the one and resume the other.

    With one call there is nothing to swap with, and nothing happens (the Swap soft
    key of a Yealink is only there with two calls).
    """
    state = step.state
    connected = [c for c in state.calls if c.connected]
    talking = [c for c in connected if not c.held]
    held = [c for c in connected if c.held]
    if len(connected) != 2 or len(held) != 1 or (talking and talking[0].transferring):
        return
    if talking:
        hold(step, talking[0], True)
    state.focus = held[0].ref
    hold(step, held[0], False)


def split(step: Step) -> None:
    """SPLIT: split a conference into its calls. This phone holds no local conference
    (CONF says "No conference"), so there is never one to split: nothing happens."""


def on_transfer(step: Step, inp: ins.Transfer) -> None:
    call = step.state.focused
    if call is None or not call.connected or not inp.target:
        return
    step.emit("transfer_call", call)
    if inp.attended:
        hold(step, call, True)
        place(step, inp.target, call.account, consult_for=call.ref, auto_transfer=True)
    else:
        blind_transfer(step, call, inp.target)


# ------------------------------------------------------- engine events

def on_engine_state(step: Step, inp: ins.EngineState) -> None:
    state = step.state
    if inp.up == state.engine_up:
        return
    state.engine_up = inp.up
    if inp.up:
        state.sent.route = None          # a new engine starts on its configured devices
        for acc in enabled_accounts(state.settings):
            step.send(fx.EngineRegister(acc.index, True))
        return
    for call in list(state.calls):
        step.emit("call_terminated", call)
        remove(step, call)
    for n, reg in list(state.regs.items()):
        if reg == "registered":
            state.regs[n] = "unregistered"
            step.emit("unregistered", account_index=n)


def on_reg_state(step: Step, inp: ins.RegState) -> None:
    regs = step.state.regs
    if regs.get(inp.account) == inp.state:
        return
    regs[inp.account] = inp.state
    step.emit(REG_EVENTS[inp.state], account_index=inp.account)


def on_call_outgoing(step: Step, inp: ins.CallOutgoing) -> None:
    call = step.state.by_ref(inp.ref)
    if call is None:
        return
    call.call_id = inp.call_id
    call.remote_uri = inp.remote_uri
    call.remote_name = inp.remote_name or call.remote_name
    call.state = CallState.RINGBACK
    step.emit("outgoing_call", call)


def on_call_ringing(step: Step, inp: ins.CallRinging) -> None:
    call = step.state.call(inp.call_id)
    if call is not None and call.direction == "out" and \
            call.state in (CallState.CALLING, CallState.RINGBACK):
        call.state = CallState.RINGBACK
        call.remote_ringing = True
        call.early_media = call.early_media or inp.early_media
        if call.auto_transfer:
            complete_consult(step, call)


def on_call_established(step: Step, inp: ins.CallEstablished) -> None:
    call = step.state.call(inp.call_id)
    if call is None or call.direction != "out" or call.connected:
        return
    call.state = CallState.CONNECTED
    call.established_at = step.now
    step.emit("call_established", call)
    schedule_ticks(step)
    if call.auto_transfer:
        complete_consult(step, call)


def on_call_incoming(step: Step, inp: ins.CallIncoming) -> None:
    state = step.state
    settings = state.settings
    call = Call(ref=state.new_ref(), call_id=inp.call_id, direction="in", account=inp.account,
                remote_uri=inp.remote_uri, remote_name=inp.remote_name,
                state=CallState.RINGING)
    if DND.on(settings):
        step.send(fx.EngineHangup(call.call_id, 480))
        step.emit("reject_incoming_call", call)
        return
    if FORWARDS["always"].on(settings):
        return _turn_away_forward(step, call, "always")
    if state.calls:
        if FORWARDS["busy"].on(settings):
            return _turn_away_forward(step, call, "busy")
        if not CALL_WAITING.on(settings):
            step.send(fx.EngineHangup(call.call_id, 486))
            state.missed += 1
            step.emit("missed_call", call)
            return
    state.calls.append(call)
    if state.focus is None:
        state.focus = call.ref
    state.menu = None
    step.emit("incoming_call", call)
    no_answer = FORWARDS["no_answer"]
    if no_answer.on(settings) and no_answer.target(settings):
        rings = state.number(NO_ANSWER_TIMEOUT_KEY, 2)
        step.timer(f"noanswer:{call.ref}", rings * RING_SECONDS)


def _turn_away_forward(step: Step, call: Call, kind: str) -> None:
    step.send(fx.EngineForward(call.call_id, FORWARDS[kind].target(step.state.settings)))
    step.emit("forward_incoming_call", call)


def on_call_closed(step: Step, inp: ins.CallClosed) -> None:
    state = step.state
    call = state.call(inp.call_id)
    if call is None:
        return      # we ended it ourselves already
    route = state.audio
    tone = sound_model.progress_tone(call, inp)
    if call.ringing:
        state.missed += 1
        step.emit("missed_call", call)
        if inp.reason == "canceled":
            step.emit("call_remote_canceled", call)
    elif call.connected:
        if call.transferring and inp.reason == "transferred":
            step.emit("transfer_finished", call)
        step.emit("call_terminated", call)
    elif inp.reason in ("busy", "declined"):
        step.emit("remote_busy", call)
        step.flash("Busy" if inp.reason == "busy" else "Call rejected")
    else:
        step.emit("call_terminated", call)
        step.flash(inp.detail or "Call failed")
    consult_for = call.consult_for
    remove(step, call)
    if tone is not None and not state.calls:
        sound_model.start_progress(step, tone, route)
    held = state.by_ref(consult_for)
    if held is not None and not held.transferring:
        state.focus = held.ref


def on_call_remote_hold(step: Step, inp: ins.CallRemoteHold) -> None:
    call = step.state.call(inp.call_id)
    if call is not None and call.remote_held != inp.held:
        call.remote_held = inp.held
        step.emit("held" if inp.held else "unheld", call)


def on_transfer_result(step: Step, inp: ins.TransferResult) -> None:
    state = step.state
    call = state.call(inp.call_id)
    if call is None or not call.transferring:
        return
    call.transferring = False
    if inp.ok:
        step.emit("transfer_finished", call)
        step.emit("call_terminated", call)
        consult = next((c for c in state.calls if c.consult_for == call.ref), None)
        remove(step, call)
        if consult is not None:
            # Our leg of the consultation call goes away with the transfer.
            remove(step, consult)
        step.flash("Transferred")
    else:
        step.emit("transfer_failed", call)
        step.flash("Transfer failed")
