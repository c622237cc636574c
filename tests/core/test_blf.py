"""The BLF line keys in the pure core: state.blf from linekey.N.*, the dialog states summed
up, the LEDs, and what a press does (call, directed pickup by code, transfer)."""

from __future__ import annotations

import pytest

from deskphone.core import effects as fx
from deskphone.core import inputs as ins
from deskphone.core.blf import Dialog, DialogChanged, summed_state
from deskphone.core.phone import DeviceInfo, Phone
from deskphone.core.state import Call, CallState

SETTINGS = {
    "account.1.enable": True, "account.1.user_name": "100",
    "account.1.sip_server.1.address": "pbx.test", "deskphone.hook.debounce_ms": 0,
    "linekey.2.type": 16, "linekey.2.value": "202", "linekey.2.label": "Bob",
    "linekey.2.line": 1,
}
EARLY_IN = Dialog("d1", "early", "recipient", "ci-1", "lt", "rt", "sip:201@pbx.test")


def phone(**extra) -> Phone:
    p = Phone({**SETTINGS, **extra}, DeviceInfo("001565000001", "deskphone", "1.0", "10.0.0.2"))
    p.handle(ins.Start(), 1000.0)
    p.state.regs[1] = "registered"
    return p


def leds(out) -> dict[str, str]:
    return {e.led: e.pattern for e in out if isinstance(e, fx.SetLed)}


def dials(out) -> list[fx.EngineDial]:
    return [e for e in out if isinstance(e, fx.EngineDial)]


@pytest.mark.parametrize("dialogs, state", [
    ((), "idle"),
    ((Dialog("a", "terminated"),), "idle"),
    ((Dialog("a", "trying", "recipient"),), "ringing"),
    ((Dialog("a", "proceeding"),), "ringing"),            # no direction given: ringing
    ((Dialog("a", "early", "initiator"),), "talking"),    # dialing out shows busy
    ((Dialog("a", "confirmed", "initiator"),), "talking"),
    ((Dialog("a", "confirmed"), Dialog("b", "early", "recipient")), "ringing"),  # waiting call
    ((Dialog("a", "terminated"), Dialog("b", "confirmed")), "talking"),
])
def test_dialogs_sum_up_to_one_state(dialogs, state):
    assert summed_state(dialogs) == state


def test_the_keys_come_from_the_settings_and_start_unknown_with_the_led_off():
    p = phone(**{"linekey.1.type": 15, "linekey.1.value": "",      # a plain line key
                 "linekey.3.type": 16, "linekey.3.value": ""})     # BLF with no value: none
    assert list(p.state.blf) == [2]
    line = p.state.blf[2]
    assert (line.value, line.label, line.account, line.state) == ("202", "Bob", 1, "unknown")
    assert p.state.sent.leds["line2"] == "off"


def test_led_follows_the_dialog_states():
    p = phone()
    assert leds(p.handle(DialogChanged(2, "ringing", (EARLY_IN,)), 1001.0)) == {"line2": "fast"}
    assert p.state.blf[2].dialogs == (EARLY_IN,)
    assert leds(p.handle(DialogChanged(2, "talking"), 1002.0)) == {"line2": "on"}
    assert leds(p.handle(DialogChanged(2, "idle"), 1003.0)) == {"line2": "off"}
    # an unknown key or state changes nothing
    assert p.handle(DialogChanged(7, "ringing"), 1004.0) == []
    assert p.handle(DialogChanged(2, "bogus"), 1005.0) == []
    assert p.state.blf[2].state == "idle"


def test_a_settings_change_adds_removes_and_keeps_keys():
    p = phone()
    p.handle(DialogChanged(2, "talking"), 1001.0)
    out = p.handle(ins.SettingsChanged({**p.settings, "linekey.2.label": "Robert",
                                        "linekey.1.type": 16, "linekey.1.value": "203"}), 1002.0)
    assert p.state.blf[2].state == "talking" and p.state.blf[2].label == "Robert"
    assert p.state.blf[1].state == "unknown" and p.state.sent.leds["line1"] == "off"
    p.handle(ins.SettingsChanged({**p.settings, "linekey.2.value": "204"}), 1003.0)
    assert p.state.blf[2].state == "unknown"          # another user watched: known again later
    out = p.handle(ins.SettingsChanged({**p.settings, "linekey.2.type": 15}), 1004.0)
    assert 2 not in p.state.blf


def test_press_on_an_idle_watched_user_calls_them():
    p = phone()
    p.handle(DialogChanged(2, "idle"), 1001.0)
    out = p.handle(ins.KeyPress("L2"), 1002.0)
    assert [(d.number, d.account) for d in dials(out)] == [("202", 1)]
    assert p.state.audio == "speaker"


def test_press_while_it_rings_picks_up_with_the_code():
    p = phone(**{"features.pickup.direct_pickup_code": "*8"})
    p.handle(DialogChanged(2, "ringing", (EARLY_IN,)), 1001.0)
    assert [d.number for d in dials(p.handle(ins.KeyPress("L2"), 1002.0))] == ["*8202"]


def test_the_keys_own_pickup_code_comes_first_and_no_code_calls_the_user():
    p = phone(**{"features.pickup.direct_pickup_code": "*8", "linekey.2.extension": "**"})
    p.handle(DialogChanged(2, "ringing", (EARLY_IN,)), 1001.0)
    assert [d.number for d in dials(p.handle(ins.KeyPress("L2"), 1002.0))] == ["**202"]
    q = phone()
    q.handle(DialogChanged(2, "ringing", (EARLY_IN,)), 1001.0)
    assert [d.number for d in dials(q.handle(ins.KeyPress("L2"), 1002.0))] == ["202"]


def connected(p: Phone) -> Call:
    call = Call("c1", "call-1", "out", 1, "sip:300@pbx.test", "", number="300",
                state=CallState.CONNECTED)
    p.state.calls, p.state.refs, p.state.focus, p.state.audio = [call], 1, "c1", "speaker"
    return call


@pytest.mark.parametrize("deal, want", [
    (None, [fx.EngineTransfer("call-1", "202")]),          # the default: blind
    (2, [fx.EngineTransfer("call-1", "202")]),
    (1, [fx.EngineHold("call-1", True), "consult"]),
    (0, [fx.EngineHold("call-1", True), "new"]),
])
def test_press_during_a_call_transfers_as_dsskey_deal_type_says(deal, want):
    p = phone(**({} if deal is None else {"transfer.dsskey_deal_type": deal}))
    call = connected(p)
    out = p.handle(ins.KeyPress("L2"), 1002.0)
    engine = [e for e in out if isinstance(e, (fx.EngineTransfer, fx.EngineHold, fx.EngineDial))]
    assert engine[0] == want[0]
    if len(want) > 1:
        assert [d.number for d in dials(out)] == ["202"]
        consult = p.state.calls[-1]
        assert consult.consult_for == (call.ref if want[1] == "consult" else None)
    else:
        assert call.transferring and not dials(out)


def test_press_while_the_phone_itself_rings_does_nothing():
    p = phone()
    ringing = Call("c1", "in-1", "in", 1, "sip:300@pbx.test", "", state=CallState.RINGING)
    p.state.calls, p.state.refs, p.state.focus = [ringing], 1, "c1"
    out = p.handle(ins.KeyPress("L2"), 1002.0)
    assert not dials(out) and ringing.state == CallState.RINGING


def test_a_plain_line_key_still_acts_as_before():
    p = phone()
    p.handle(ins.KeyPress("L1"), 1002.0)
    assert p.state.dial is not None and p.state.audio == "speaker"


def test_the_idle_screen_names_the_watched_user_who_rings():
    p = phone()
    p.handle(DialogChanged(2, "ringing", (EARLY_IN,)), 1001.0)
    assert p.screen.kind == "idle" and p.screen.lines[2] == "Bob ringing"
    p.handle(DialogChanged(2, "talking"), 1002.0)
    assert "ringing" not in p.screen.lines[2]


def test_a_late_notify_for_the_keys_old_value_is_ignored():
    p = phone()
    p.handle(ins.SettingsChanged({**p.settings, "linekey.2.value": "204"}), 1001.0)
    assert p.handle(DialogChanged(2, "ringing", (EARLY_IN,), "202"), 1002.0) == []
    p.handle(DialogChanged(2, "talking", (), "204"), 1003.0)
    assert p.state.blf[2].state == "talking"
