"""The pure core: inputs in, effects out, a fake clock, no sleeps."""

from __future__ import annotations

import pytest

from deskphone.core import effects as fx
from deskphone.core import inputs as ins
from deskphone.core.phone import DeviceInfo, Phone

SETTINGS = {
    "account.1.enable": True, "account.1.user_name": "100", "account.1.display_name": "Desk",
    "account.1.sip_server.1.address": "pbx.test", "account.1.sip_server.1.port": 5060,
    "deskphone.hook.debounce_ms": 0, "phone_setting.inter_digit_time": 4,
    "call_waiting.enable": True,
}


class Harness:
    def __init__(self, **settings: object) -> None:
        self.phone = Phone({**SETTINGS, **settings}, DeviceInfo("001565000001", "deskphone",
                                                                "1.0", "10.0.0.2"))
        self.now = 1_000_000.0
        self.out: list[fx.Effect] = []
        self.send(ins.Start())
        self.send(ins.RegState(1, "registered"))

    def send(self, *inputs: ins.Input) -> list[fx.Effect]:
        effects: list[fx.Effect] = []
        for inp in inputs:
            effects += self.phone.handle(inp, self.now)
        self.out = effects
        return effects

    def keys(self, text: str) -> list[fx.Effect]:
        return self.send(*(ins.KeyPress(k) for k in text))

    def events(self) -> list[str]:
        return [e.event for e in self.out if isinstance(e, fx.Emit)]

    def of(self, kind: type) -> list:
        return [e for e in self.out if isinstance(e, kind)]

    def outgoing(self, number: str = "201", call_id: str = "out-1") -> str:
        self.send(ins.HookChanged(True))
        self.keys(number + "#")
        [dial] = self.of(fx.EngineDial)
        self.send(ins.CallOutgoing(dial.ref, call_id, f"sip:{number}@pbx.test", ""),
                  ins.CallEstablished(call_id))
        return call_id


def test_start_fires_setup_completed_and_registers_enabled_accounts():
    h = Harness()
    phone = Phone(SETTINGS, DeviceInfo("001565000001", "deskphone", "1.0"))
    out = phone.handle(ins.Start(), 0.0)
    assert [e.event for e in out if isinstance(e, fx.Emit)] == ["setup_completed"]
    assert fx.EngineRegister(1, True) in out
    assert h.phone.screen.kind == "idle"


def test_variables_have_every_name_and_empty_values_when_unknown():
    h = Harness()
    h.send(ins.HookChanged(True))
    [emit] = [e for e in h.out if isinstance(e, fx.Emit) and e.event == "off_hook"]
    assert set(emit.variables) == {
        "mac", "ip", "model", "firmware", "active_url", "active_user", "active_host", "local",
        "remote", "display_local", "display_remote", "call_id", "callerID", "calledNumber",
        "duration", "callDirection", "sip_call_id"}      # the firmware's extras, and ours
    assert emit.variables["calledNumber"] == "" and emit.variables["mac"] == "001565000001"


def test_local_and_remote_swap_with_direction():
    h = Harness()
    h.send(ins.CallIncoming("in-1", 1, "sip:300@pbx.test", "Caller"))
    [incoming] = [e for e in h.out if isinstance(e, fx.Emit) and e.event == "incoming_call"]
    assert incoming.variables["local"] == "sip:100@pbx.test"
    assert incoming.variables["remote"] == "sip:300@pbx.test"
    assert incoming.variables["display_local"] == "Desk"
    assert incoming.variables["display_remote"] == "Caller"
    assert incoming.variables["callerID"] == "Caller"


def test_hook_is_debounced_in_the_core():
    h = Harness(**{"deskphone.hook.debounce_ms": 30})
    h.send(ins.HookChanged(True))
    assert h.events() == [] and fx.StartTimer("hook", 0.03) in h.out
    h.send(ins.HookChanged(False))                   # bounced back before it settled
    h.send(ins.TimerFired("hook"))
    assert h.events() == []
    h.send(ins.HookChanged(True), ins.TimerFired("hook"))
    assert h.events() == ["off_hook", "idle_to_busy"]


def test_digits_dial_after_the_inter_digit_time():
    h = Harness()
    h.keys("20")
    assert fx.StartTimer("dial", 4.0) in h.out
    assert h.phone.screen.lines[0] == "20"
    h.send(ins.TimerFired("dial"))
    assert h.of(fx.EngineDial) == [fx.EngineDial("c1", "20", 1)]


@pytest.mark.parametrize("reason, events", [
    ("busy", ["remote_busy"]),
    ("declined", ["remote_busy"]),
    ("error", ["call_terminated"]),
])
def test_outgoing_call_closed_before_answer(reason, events):
    h = Harness()
    h.send(ins.HookChanged(True))
    h.keys("201#")
    h.send(ins.CallOutgoing("c1", "x", "sip:201@pbx.test"))
    h.send(ins.CallClosed("x", reason))
    assert h.events() == events


def test_call_waiting_off_turns_a_second_call_away_busy():
    h = Harness(**{"call_waiting.enable": False})
    h.outgoing()
    h.send(ins.CallIncoming("in-2", 1, "sip:300@pbx.test", "Second"))
    assert h.events() == ["missed_call"]
    assert fx.EngineHangup("in-2", 486) in h.out


def test_busy_forward_only_when_busy():
    h = Harness(**{"forward.busy.enable": True, "forward.busy.target": "555"})
    h.send(ins.CallIncoming("in-1", 1, "sip:300@pbx.test"))
    assert h.events() == ["incoming_call", "idle_to_busy"]
    h.send(ins.KeyPress("OK"))
    h.send(ins.CallIncoming("in-2", 1, "sip:301@pbx.test"))
    assert h.events() == ["forward_incoming_call"]
    assert fx.EngineForward("in-2", "555") in h.out


def test_no_answer_forward_after_the_configured_rings():
    h = Harness(**{"forward.no_answer.enable": True, "forward.no_answer.target": "555",
                   "forward.no_answer.timeout": 3})
    h.send(ins.CallIncoming("in-1", 1, "sip:300@pbx.test"))
    assert fx.StartTimer("noanswer:c1", 18) in h.out
    h.send(ins.TimerFired("noanswer:c1"))
    assert h.events() == ["forward_incoming_call", "busy_to_idle"]


def test_handsfree_call_survives_putting_the_handset_down():
    h = Harness()
    h.send(ins.KeyPress("SPEAKER"))
    h.keys("201#")
    [dial] = h.of(fx.EngineDial)
    h.send(ins.CallOutgoing(dial.ref, "x", "sip:201@pbx.test"), ins.CallEstablished("x"))
    h.send(ins.HookChanged(True))                    # lift the handset: audio moves to it
    assert h.phone.audio == "handset"
    h.send(ins.KeyPress("SPEAKER"))                  # back to handsfree
    h.send(ins.HookChanged(False))                   # handset down: the call goes on
    assert "call_terminated" not in h.events()
    assert h.phone.screen.kind == "connected"


def test_remote_attended_transfer_completes_when_the_target_rings():
    h = Harness()
    first = h.outgoing()
    h.send(ins.Transfer("205", attended=True))
    assert h.events() == ["transfer_call", "hold"]
    [dial] = h.of(fx.EngineDial)
    h.send(ins.CallOutgoing(dial.ref, "consult", "sip:205@pbx.test"), ins.CallRinging("consult"))
    assert fx.EngineAttendedTransfer(first, "consult") in h.out
    assert "attended_transfer_call" in h.events()
    h.send(ins.TransferResult(first, True))
    assert h.events()[:2] == ["transfer_finished", "call_terminated"]
    assert h.phone.calls == []


def test_engine_loss_ends_calls_and_unregisters():
    h = Harness()
    h.outgoing()
    h.send(ins.EngineState(False, "crashed"))
    assert h.events()[:2] == ["call_terminated", "unregistered"]
    assert h.phone.screen.lines[2] == "Phone service down"
    h.send(ins.EngineState(True))
    assert fx.EngineRegister(1, True) in h.out


def test_features_persist_and_fire_once():
    h = Harness()
    h.send(ins.SetDnd(True))
    assert h.events() == ["dnd_on"] and fx.Persist("features.dnd.enable", True) in h.out
    h.send(ins.SetDnd(True))
    assert h.events() == []                          # already on: nothing to announce
    h.send(ins.SetForward("always", True))           # no target known: refused
    assert h.events() == [] and "No forward target" in h.phone.screen.lines


def test_remote_keys_that_do_not_apply_do_nothing():
    h = Harness()
    for key in ("MUTE", "HOLD", "TRANSFER", "CONF", "LEFT", "UP"):
        h.send(ins.KeyPress(key))
        assert h.events() == [], key
        assert not h.of(fx.EngineHangup)


def test_line_key_answers_and_selects_account():
    h = Harness()
    h.send(ins.KeyPress("L1"))
    assert h.phone.screen.kind == "dialing" and h.phone.audio == "speaker"
    h.send(ins.KeyPress("X"))
    h.send(ins.CallIncoming("in-1", 1, "sip:300@pbx.test"))
    h.send(ins.KeyPress("L1"))
    assert "call_established" in h.events()


def test_leds_follow_the_call():
    h = Harness()
    h.send(ins.CallIncoming("in-1", 1, "sip:300@pbx.test"))
    assert fx.SetLed("line1", "fast") in h.out
    h.send(ins.KeyPress("OK"))
    assert fx.SetLed("line1", "on") in h.out and fx.SetLed("speaker", "on") in h.out
    h.send(ins.KeyPress("HOLD"))
    assert fx.SetLed("line1", "slow") in h.out


def test_a_render_only_when_the_screen_changes():
    h = Harness()
    h.send(ins.KeyPress("VOLUME_UP"))
    assert len(h.of(fx.Render)) == 1
    h.send(ins.TimerFired("volume"))
    assert len(h.of(fx.Render)) == 1
    h.send(ins.KeyPress("MUTE"))                     # idle: nothing changes on screen
    assert h.of(fx.Render) == []


def test_settings_changed_elsewhere_announce_features_and_register_accounts():
    h = Harness()
    changed = {**h.phone.settings, "features.dnd.enable": True, "call_waiting.enable": False,
               "account.2.enable": True, "account.2.user_name": "200",
               "account.2.sip_server.1.address": "pbx.test"}
    h.send(ins.SettingsChanged(changed))
    assert h.events() == ["dnd_on", "call_waiting_off"]
    assert h.of(fx.EngineRegister) == [fx.EngineRegister(2, True)]
    # A new password on account 1 re-registers it; disabling account 2 unregisters it.
    h.send(ins.SettingsChanged({**changed, "account.1.password": "new",
                                "account.2.enable": False}))
    assert h.events() == []
    assert h.of(fx.EngineRegister) == [fx.EngineRegister(2, False), fx.EngineRegister(1, True)]
    # The same settings again: nothing to announce, nothing to register.
    h.send(ins.SettingsChanged(h.phone.settings))
    assert h.events() == [] and h.of(fx.EngineRegister) == []
