"""The "Allow Remote Control?" prompt and Reboot/Reset in the pure core."""

from __future__ import annotations

from deskphone.core import effects as fx
from deskphone.core import inputs as ins
from deskphone.core.phone import DeviceInfo, Phone

SETTINGS = {
    "account.1.enable": True, "account.1.user_name": "100",
    "account.1.sip_server.1.address": "pbx.test", "deskphone.hook.debounce_ms": 0,
}


def phone(**extra) -> Phone:
    p = Phone({**SETTINGS, **extra}, DeviceInfo("001565000001", "deskphone", "1.0", "10.0.0.2"))
    p.handle(ins.Start(), 1000.0)
    return p


def test_ask_shows_the_prompt_with_the_source_and_ok_allows_it():
    p = phone()
    out = p.handle(ins.RemoteControlAsk("10.0.0.7"), 1001.0)
    renders = [e for e in out if isinstance(e, fx.Render)]
    assert renders and renders[-1].screen.kind == "prompt"
    assert renders[-1].screen.lines[:2] == ("Allow Remote Control?", "10.0.0.7")
    out = p.handle(ins.KeyPress("OK"), 1002.0)
    assert fx.Persist("deskphone.trust.10.0.0.7", "allow") in out
    assert p.screen.kind == "idle"                    # OK did not also open the menu
    assert not [e for e in out if isinstance(e, fx.Emit)]


def test_x_denies_and_f4_cancel_is_x():
    p = phone()
    p.handle(ins.RemoteControlAsk("10.0.0.7"), 1001.0)
    out = p.handle(ins.KeyPress("F4"), 1002.0)        # the "Cancel" soft key
    assert fx.Persist("deskphone.trust.10.0.0.7", "deny") in out


def test_one_prompt_at_a_time_nothing_queues():
    p = phone()
    for _ in range(3):
        p.handle(ins.RemoteControlAsk("10.0.0.7"), 1001.0)
    p.handle(ins.RemoteControlAsk("10.0.0.8"), 1001.0)
    assert p.prompts == ["10.0.0.7"]
    p.handle(ins.KeyPress("OK"), 1002.0)
    assert p.prompts == [] and p.screen.kind == "idle"       # 10.0.0.8 asks again later
    p.handle(ins.RemoteControlAsk("10.0.0.8"), 1010.0)
    out = p.handle(ins.KeyPress("X"), 1011.0)
    assert fx.Persist("deskphone.trust.10.0.0.8", "deny") in out
    assert p.prompts == []


def test_a_decided_source_is_not_asked():
    p = phone(**{"deskphone.trust.10.0.0.7": "deny"})
    p.handle(ins.RemoteControlAsk("10.0.0.7"), 1001.0)
    assert p.prompts == [] and p.screen.kind == "idle"


def test_a_ringing_call_ends_the_prompt_and_ok_answers_it():
    p = phone()
    p.handle(ins.RemoteControlAsk("10.0.0.7"), 1001.0)
    p.handle(ins.CallIncoming("in-1", 1, "sip:300@pbx.test", "Caller"), 1002.0)
    assert p.screen.kind == "ringing"
    out = p.handle(ins.KeyPress("OK"), 1003.0)
    assert "call_established" in [e.event for e in out if isinstance(e, fx.Emit)]
    assert not [e for e in out if isinstance(e, fx.Persist)]
    assert p.prompts == []


def test_a_decision_from_the_web_page_clears_the_prompt():
    p = phone()
    p.handle(ins.RemoteControlAsk("10.0.0.7"), 1001.0)
    p.handle(ins.SettingsChanged({**SETTINGS, "deskphone.trust.10.0.0.7": "allow"}), 1002.0)
    assert p.prompts == [] and p.screen.kind == "idle"


def test_reboot_and_reset():
    p = phone()
    assert fx.Restart(False) in p.handle(ins.RequestRestart(False), 1001.0)
    assert fx.Restart(True) in p.handle(ins.RequestRestart(True), 1002.0)


def test_a_remote_ok_never_answers_the_prompt():
    """An allowed source pressing OK (or a soft key) must not let another source in."""
    from deskphone.core import effects as fx
    from deskphone.core import inputs as ins
    from deskphone.core.phone import DeviceInfo, Phone

    phone = Phone({"features.show_action_uri_option": True},
                  DeviceInfo("001565000001", "deskphone", "1.0"))
    phone.handle(ins.Start(), 0.0)
    phone.handle(ins.RemoteControlAsk("10.0.0.9"), 0.0)
    assert phone.screen.kind == "prompt"
    for key in ("OK", "X", "F1", "F4"):
        out = phone.handle(ins.KeyPress(key, remote=True), 0.0)
        assert not [e for e in out if isinstance(e, fx.Persist)], key
        assert phone.screen.kind == "prompt", key
        assert phone.menu is None, key               # nothing opened behind the prompt
    out = phone.handle(ins.KeyPress("OK"), 0.0)      # the person at the phone
    assert fx.Persist("deskphone.trust.10.0.0.9", "allow") in out


def test_an_unanswered_prompt_expires_and_decides_nothing():
    p = phone()
    out = p.handle(ins.RemoteControlAsk("10.0.0.7"), 1001.0)
    assert fx.StartTimer("prompt", 30.0) in out
    p.handle(ins.TimerFired("prompt"), 1031.0)
    assert p.prompts == [] and p.screen.kind == "idle"
    assert "deskphone.trust.10.0.0.7" not in p.settings
    p.handle(ins.RemoteControlAsk("10.0.0.8"), 1032.0)       # within the pause: not asked
    assert p.prompts == []
    p.handle(ins.RemoteControlAsk("10.0.0.8"), 1034.0)       # after it: asked
    assert p.prompts == ["10.0.0.8"]
