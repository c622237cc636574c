"""The XML browser in the pure core: pushed objects over calls, their keys, timers and sessions."""

from __future__ import annotations

from deskphone.core import effects as fx
from deskphone.core import inputs as ins
from deskphone.core.phone import DeviceInfo, Phone
from deskphone.core.xml_browser import execute_inputs
from deskphone.core.xml_objects import (Execute, FetchXml, MenuItem, PushXml, Status, TextMenu,
                                        TextScreen, XmlLed)

SETTINGS = {"account.1.enable": True, "account.1.label": "Desk", "account.1.user_name": "100",
            "account.1.sip_server.1.address": "pbx.test", "deskphone.hook.debounce_ms": 0}
T0 = 1_700_000_000.0
SCREEN = TextScreen("Door", "Someone at the door", beep=True, timeout=0,
                    done_action="http://pbx.test/done.xml",
                    cancel_action="http://pbx.test/cancel.xml")
MENU = TextMenu("Queues", (MenuItem("Sales", "http://pbx.test/s.xml"),
                           MenuItem("Support", "Dial:7002")), timeout=10)


def started() -> Phone:
    phone = Phone(SETTINGS, DeviceInfo("001565000001", "T", "1", line_keys=2))
    phone.handle(ins.Start(), T0)
    phone.handle(ins.RegState(1, "registered"), T0)
    return phone


def feed(phone: Phone, *inputs) -> list:
    return [e for inp in inputs for e in phone.handle(inp, T0)]


def test_a_pushed_screen_beeps_and_ok_requests_its_done_action():
    phone = started()
    effects = feed(phone, PushXml(SCREEN))
    assert phone.screen.kind == "xml_text" and any(isinstance(e, fx.PlayTone) for e in effects)
    assert fx.CancelTimer("xml") in effects                  # Timeout=0: it stays
    effects = feed(phone, ins.KeyPress("OK"))
    assert FetchXml("http://pbx.test/done.xml") in effects and phone.screen.kind == "idle"
    feed(phone, PushXml(SCREEN))
    assert FetchXml("http://pbx.test/cancel.xml") in feed(phone, ins.KeyPress("X"))


def test_answering_from_under_a_pushed_screen_shows_the_call_and_the_screen_comes_back():
    phone = started()
    feed(phone, PushXml(SCREEN), ins.CallIncoming("in-1", 1, "sip:201@pbx.test", "Alice"))
    assert phone.screen.kind == "ringing"
    feed(phone, ins.KeyPress("OK"))                          # answers: the prompt-free OK
    assert phone.screen.kind == "connected"
    feed(phone, ins.CallClosed("in-1", "normal"))
    assert phone.screen.kind == "xml_text" and phone.screen.title == "Door"


def test_a_screen_pushed_during_a_call_shows_over_it_and_x_gives_the_call_back():
    phone = started()
    feed(phone, ins.Dial("201"))
    ref = phone.state.calls[0].ref
    feed(phone, ins.CallOutgoing(ref, "out-1", "sip:201@pbx.test"), ins.CallEstablished("out-1"))
    feed(phone, PushXml(SCREEN))
    assert phone.screen.kind == "xml_text"
    feed(phone, ins.KeyPress("X"))
    assert phone.screen.kind == "connected" and phone.state.calls    # X left the screen only


def test_menu_digits_up_down_and_the_timeout():
    phone = started()
    effects = feed(phone, PushXml(MENU))
    assert fx.StartTimer("xml", 10.0) in effects and phone.screen.selected == 0
    feed(phone, ins.KeyPress("UP"))
    assert phone.screen.selected == 1                        # wraps to the last
    effects = feed(phone, ins.KeyPress("2"))
    assert [e.number for e in effects if isinstance(e, fx.EngineDial)] == ["7002"]
    feed(phone, PushXml(MENU), ins.TimerFired("xml"))
    assert phone.screen.kind != "xml_menu"


def test_status_sessions_replace_clear_expire_and_are_bounded():
    phone = started()
    effects = feed(phone, PushXml(Status("q", ("3 calls waiting",), beep=False, timeout=30)))
    assert phone.screen.lines[1] == "3 calls waiting" and fx.StartTimer("xmlstatus:q", 30.0) \
        in effects
    feed(phone, PushXml(Status("q", ("4 calls waiting",), beep=False)))
    assert phone.screen.lines[1] == "4 calls waiting"
    feed(phone, ins.TimerFired("xmlstatus:q"))
    assert phone.screen.lines[1] == ""
    for n in range(20):
        feed(phone, PushXml(Status(f"s{n}", (f"line {n}",), beep=False, timeout=0)))
    assert len(phone.state.xml.statuses) == 8 and "s19" in phone.state.xml.statuses
    feed(phone, PushXml(Status("s19", ("",), beep=False)))
    assert "s19" not in phone.state.xml.statuses


def test_a_ringing_call_and_a_registration_problem_keep_their_lines():
    phone = started()
    feed(phone, ins.RegState(1, "failed"),
         PushXml(Status("q", ("Lot 1", "Lot 2"), beep=False, timeout=0)))
    assert phone.screen.lines[1:] == ("Registration failed", "Lot 1")


def test_execute_items_become_inputs_in_order():
    inputs = execute_inputs(Execute(("Key:LINE2", "Dial:201:2", "Led:MWI=fastflash")),
                            line_keys=2)
    assert inputs == [ins.KeyPress("L2", remote=True), ins.Dial("201", 2), XmlLed("mwi", "fast")]
