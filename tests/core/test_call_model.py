"""The call model, table-driven: (state, input) -> (events, engine commands, the call's state).

Each row starts from a phone state built directly (no history of inputs to get
there, as h11's tests build a connection in a given state), hands the phone one
input, and compares the Action URL events, the engine commands (in order) and
what became of the call the row is about.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pytest

from deskphone.core import effects as fx
from deskphone.core import inputs as ins
from deskphone.core.phone import HANDLERS, Phone
from deskphone.core.state import Call, CallState, DeviceInfo, PhoneState
from deskphone.errors import DeskphoneError, UnknownInput

SETTINGS = {
    "account.1.enable": True, "account.1.user_name": "100",
    "account.1.sip_server.1.address": "pbx.test", "deskphone.hook.debounce_ms": 0,
    "call_waiting.enable": True, "features.busy_tone_delay": 3,
}
RINGING, RINGBACK, CALLING, CONNECTED = (CallState.RINGING, CallState.RINGBACK,
                                         CallState.CALLING, CallState.CONNECTED)
GONE = None


def incoming(ref: str = "c1", call_id: str = "in-1", state: CallState = RINGING, **kw) -> Call:
    return Call(ref, call_id, "in", 1, "sip:300@pbx.test", "Caller", state=state, **kw)


def outgoing(ref: str = "c1", call_id: str = "out-1", state: CallState = RINGBACK,
             **kw) -> Call:
    return Call(ref, call_id, "out", 1, "sip:201@pbx.test", "", number="201", state=state, **kw)


def given(*calls: Call, audio: str | None = None, **settings: object) -> Phone:
    """A started, registered phone with ``calls`` (the first focused) and nothing yet to send."""
    phone = Phone({**SETTINGS, **settings}, DeviceInfo("001565000001", "deskphone", "1.0"))
    s: PhoneState = phone.state
    s.started, s.regs, s.now = True, {1: "registered"}, 1000.0
    s.calls, s.refs = list(calls), len(calls)
    s.focus = calls[0].ref if calls else None
    s.audio = audio if audio is not None or not calls else "speaker"
    # What the outputs would have sent already, so that a row sees only its input's effects.
    s.sent.busy, s.sent.route = s.busy, s.audio
    return phone


@dataclass
class Row:
    name: str
    phone: Callable[[], Phone]
    inp: ins.Input
    events: list[str]
    commands: list[fx.Effect] = field(default_factory=list)
    call: str = "c1"                       # the ref of the call whose state is checked
    state: CallState | None = GONE         # what it is after the input (GONE: no such call)


ROWS = [
    # --- incoming ------------------------------------------------------------------
    Row("incoming rings", given, ins.CallIncoming("in-1", 1, "sip:300@pbx.test"),
        ["incoming_call", "idle_to_busy"], [], state=RINGING),
    Row("answer", lambda: given(incoming()), ins.Answer(),
        ["call_established"], [fx.EngineAnswer("in-1")], state=CONNECTED),
    Row("answer by its call id", lambda: given(incoming()), ins.Answer("in-1"),
        ["call_established"], [fx.EngineAnswer("in-1")], state=CONNECTED),
    Row("answer with the OK key", lambda: given(incoming()), ins.KeyPress("OK"),
        ["call_established"], [fx.EngineAnswer("in-1")], state=CONNECTED),
    Row("reject with X", lambda: given(incoming()), ins.KeyPress("X"),
        ["reject_incoming_call", "busy_to_idle"], [fx.EngineHangup("in-1", 486)]),
    Row("reject with CALLEND", lambda: given(incoming()), ins.EndCall(),
        ["reject_incoming_call", "busy_to_idle"], [fx.EngineHangup("in-1", 486)]),
    Row("missed: the caller cancels", lambda: given(incoming()),
        ins.CallClosed("in-1", "canceled"),
        ["missed_call", "call_remote_canceled", "busy_to_idle"]),
    Row("missed: it stops ringing", lambda: given(incoming()), ins.CallClosed("in-1"),
        ["missed_call", "busy_to_idle"]),
    Row("DND turns it away", lambda: given(**{"features.dnd.enable": True}),
        ins.CallIncoming("in-1", 1, "sip:300@pbx.test"),
        ["reject_incoming_call"], [fx.EngineHangup("in-1", 480)]),
    Row("always forward", lambda: given(**{"forward.always.enable": True,
                                           "forward.always.target": "555"}),
        ins.CallIncoming("in-1", 1, "sip:300@pbx.test"),
        ["forward_incoming_call"], [fx.EngineForward("in-1", "555")]),
    Row("no-answer forward: the rings are up",
        lambda: given(incoming(), **{"forward.no_answer.enable": True,
                                     "forward.no_answer.target": "556"}),
        ins.TimerFired("noanswer:c1"),
        ["forward_incoming_call", "busy_to_idle"], [fx.EngineForward("in-1", "556")]),
    Row("no-answer timer after the answer", lambda: given(incoming(state=CONNECTED)),
        ins.TimerFired("noanswer:c1"), [], [], state=CONNECTED),
    # --- a second call ---------------------------------------------------------------
    Row("call waiting: a second call rings", lambda: given(incoming(state=CONNECTED)),
        ins.CallIncoming("in-2", 1, "sip:301@pbx.test"), ["incoming_call"], [],
        call="c2", state=RINGING),
    Row("call waiting off: busy", lambda: given(incoming(state=CONNECTED),
                                                **{"call_waiting.enable": False}),
        ins.CallIncoming("in-2", 1, "sip:301@pbx.test"),
        ["missed_call"], [fx.EngineHangup("in-2", 486)], call="c2"),
    Row("busy forward while in a call", lambda: given(incoming(state=CONNECTED),
                                                      **{"forward.busy.enable": True,
                                                         "forward.busy.target": "557"}),
        ins.CallIncoming("in-2", 1, "sip:301@pbx.test"),
        ["forward_incoming_call"], [fx.EngineForward("in-2", "557")], call="c2"),
    Row("answer the waiting call: the first is held",
        lambda: given(incoming(state=CONNECTED), incoming("c2", "in-2")),
        ins.Answer("in-2"),
        ["hold", "answer_new_incoming_call", "call_established"],
        [fx.EngineHold("in-1", True), fx.EngineAnswer("in-2")], call="c2", state=CONNECTED),
    # --- outgoing --------------------------------------------------------------------
    Row("dial", given, ins.Dial("201"), ["idle_to_busy"], [fx.EngineDial("c1", "201", 1)],
        state=CALLING),
    Row("dial while another is still calling", lambda: given(outgoing(state=CALLING)),
        ins.Dial("202"), [], [], state=CALLING),
    Row("the engine placed it", lambda: given(outgoing("c1", "", CALLING)),
        ins.CallOutgoing("c1", "out-1", "sip:201@pbx.test"), ["outgoing_call"], [],
        state=RINGBACK),
    Row("the far end rings", lambda: given(outgoing()), ins.CallRinging("out-1"), [], [],
        state=RINGBACK),
    Row("the far end answers", lambda: given(outgoing()), ins.CallEstablished("out-1"),
        ["call_established"], [], state=CONNECTED),
    Row("cancel before the answer", lambda: given(outgoing()), ins.EndCall(),
        ["cancel_callout", "busy_to_idle"], [fx.EngineHangup("out-1")]),
    Row("cancel before the engine placed it", lambda: given(outgoing("c1", "", CALLING)),
        ins.KeyPress("X"), ["cancel_callout", "busy_to_idle"], [fx.EngineHangup("c1")]),
    Row("remote busy", lambda: given(outgoing()), ins.CallClosed("out-1", "busy", "486"),
        ["remote_busy", "busy_to_idle"]),
    Row("remote declines", lambda: given(outgoing()),
        ins.CallClosed("out-1", "declined", "603"), ["remote_busy", "busy_to_idle"]),
    Row("the call fails", lambda: given(outgoing()), ins.CallClosed("out-1", "error", "404"),
        ["call_terminated", "busy_to_idle"]),
    # --- connected -------------------------------------------------------------------
    Row("we hang up", lambda: given(outgoing(state=CONNECTED)), ins.EndCall(),
        ["call_terminated", "busy_to_idle"], [fx.EngineHangup("out-1")]),
    Row("the far end hangs up", lambda: given(incoming(state=CONNECTED)),
        ins.CallClosed("in-1"), ["call_terminated", "busy_to_idle"]),
    Row("hold", lambda: given(incoming(state=CONNECTED)), ins.SetHold(True),
        ["hold"], [fx.EngineHold("in-1", True)], state=CONNECTED),
    Row("hold again: nothing", lambda: given(incoming(state=CONNECTED, held=True)),
        ins.SetHold(True), [], [], state=CONNECTED),
    Row("unhold", lambda: given(incoming(state=CONNECTED, held=True)), ins.SetHold(False),
        ["unhold"], [fx.EngineHold("in-1", False)], state=CONNECTED),
    Row("no hold before the answer", lambda: given(incoming()), ins.SetHold(True), [], [],
        state=RINGING),
    Row("the far end holds us", lambda: given(incoming(state=CONNECTED)),
        ins.CallRemoteHold("in-1", True), ["held"], [], state=CONNECTED),
    Row("mute key", lambda: given(incoming(state=CONNECTED)), ins.KeyPress("MUTE"),
        ["mute"], [fx.EngineMute("in-1", True)], state=CONNECTED),
    Row("a digit in a call is DTMF", lambda: given(incoming(state=CONNECTED)),
        ins.KeyPress("5"), [], [fx.EngineDtmf("in-1", "5")], state=CONNECTED),
    Row("the engine goes away", lambda: given(incoming(state=CONNECTED)),
        ins.EngineState(False, "crashed"), ["call_terminated", "unregistered", "busy_to_idle"]),
    # --- transfer --------------------------------------------------------------------
    Row("blind transfer", lambda: given(incoming(state=CONNECTED)), ins.Transfer("205"),
        ["transfer_call", "blind_transfer_call"], [fx.EngineTransfer("in-1", "205")],
        state=CONNECTED),
    Row("attended transfer: consult first", lambda: given(incoming(state=CONNECTED)),
        ins.Transfer("205", attended=True), ["transfer_call", "hold"],
        [fx.EngineHold("in-1", True), fx.EngineDial("c2", "205", 1)], call="c2",
        state=CALLING),
    Row("TRANSFER key: hold and dial the target", lambda: given(incoming(state=CONNECTED)),
        ins.KeyPress("TRANSFER"), ["transfer_call", "hold"], [fx.EngineHold("in-1", True)],
        state=CONNECTED),
    Row("no transfer before the answer", lambda: given(incoming()), ins.Transfer("205"),
        [], [], state=RINGING),
    Row("transfer done", lambda: given(incoming(state=CONNECTED, transferring=True)),
        ins.TransferResult("in-1", True),
        ["transfer_finished", "call_terminated", "busy_to_idle"]),
    Row("transfer failed", lambda: given(incoming(state=CONNECTED, transferring=True)),
        ins.TransferResult("in-1", False), ["transfer_failed"], [], state=CONNECTED),
    Row("transferred away by the engine",
        lambda: given(incoming(state=CONNECTED, transferring=True)),
        ins.CallClosed("in-1", "transferred"),
        ["transfer_finished", "call_terminated", "busy_to_idle"]),
    Row("attended transfer completes when the target rings",
        lambda: given(outgoing("c2", "consult", RINGBACK, consult_for="c1", auto_transfer=True),
                      incoming(state=CONNECTED, held=True)),
        ins.CallRinging("consult"), ["attended_transfer_call"],
        [fx.EngineAttendedTransfer("in-1", "consult")], state=CONNECTED),
]


def commands(effects: list[fx.Effect]) -> list[fx.Effect]:
    # EngineRoute follows the audio route, not the call: the sound tests check it.
    return [e for e in effects if isinstance(e, fx.ENGINE_COMMANDS)
            and not isinstance(e, fx.EngineRoute)]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_call_model(row: Row) -> None:
    phone = row.phone()
    out = phone.handle(row.inp, 1001.0)
    assert [e.event for e in out if isinstance(e, fx.Emit)] == row.events
    assert commands(out) == row.commands
    call = phone.state.by_ref(row.call)
    assert (call.state if call else GONE) == row.state


def test_missed_calls_are_counted_and_shown():
    phone = given(incoming())
    phone.handle(ins.CallClosed("in-1", "canceled"), 1001.0)
    assert phone.missed == 1 and "missed" in phone.screen.icons
    assert phone.screen.lines[2] == "1 missed call"


def test_an_event_about_a_call_carries_its_variables():
    phone = given(incoming())
    [emit] = [e for e in phone.handle(ins.Answer(), 1001.0) if isinstance(e, fx.Emit)]
    assert emit.variables["sip_call_id"] == "in-1" and emit.variables["callerID"] == "Caller"
    assert emit.variables["call_id"] == "1"      # the call number of ref c1
    assert emit.variables["remote"] == "sip:300@pbx.test"


def test_every_input_type_has_a_handler():
    import typing
    assert set(typing.get_args(ins.Input)) == set(HANDLERS)


def test_an_unknown_input_is_refused_clearly_and_changes_nothing():
    @dataclass(frozen=True)
    class Bogus:
        value: int = 1

    phone = given(incoming())
    with pytest.raises(UnknownInput, match="Bogus") as caught:
        phone.handle(Bogus(), 1001.0)  # type: ignore[arg-type]
    assert isinstance(caught.value, TypeError) and isinstance(caught.value, DeskphoneError)
    assert phone.state.now == 1000.0 and phone.calls[0].state is RINGING
