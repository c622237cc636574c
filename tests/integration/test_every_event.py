"""Every Action URL event, fired by driving the whole phone through its inputs.

The phone runs on the simulated board with the simulated PBX; every event's
URL points at a real aiohttp receiver on 127.0.0.1, and each test asserts the
GET that arrives there with its variables decoded by an ordinary query parser.
"""

from __future__ import annotations

import sys

from aiohttp import web

from deskphone import __version__
from deskphone.core import inputs as ins
from deskphone.core.events import EVENTS
from support.phone import settle, start_phone

OUR_URI = "sip:100@pbx.test"


def assert_device(hit) -> None:
    assert hit["mac"] == "001565abcdef"
    assert hit["ip"] == "127.0.0.1"
    assert hit["model"] == "deskphone"
    assert hit["firmware"] == __version__


def assert_account(hit) -> None:
    assert hit["active_url"] == OUR_URI
    assert hit["active_user"] == "100"
    assert hit["active_host"] == "pbx.test"


async def call_out(phone, receiver, number: str = "201"):
    phone.hook.lift()
    phone.keypad.type(number + "#")
    return await receiver.wait("outgoing_call")


async def connected_call(phone, receiver, number: str = "201"):
    await call_out(phone, receiver, number)
    return await receiver.wait("call_established")


async def ring_in(phone, receiver, number: str = "300", name: str = "Caller"):
    call_id = phone.engine.incoming(number, name)
    hit = await receiver.wait("incoming_call")
    return call_id, hit


# --------------------------------------------------------------- life cycle

async def test_event_setup_completed(phone, receiver):
    hit = await receiver.wait("setup_completed")
    assert_device(hit)
    assert hit["sip_call_id"] == "" and hit["remote"] == ""


async def test_event_registered(phone, receiver):
    hit = await receiver.wait("registered")
    assert_device(hit)
    assert_account(hit)


async def test_event_unregistered(phone, receiver):
    await receiver.wait("registered")
    phone.runtime.post(ins.SetAccountEnabled(1, False))
    hit = await receiver.wait("unregistered")
    assert_account(hit)


async def test_event_register_failed(tmp_path, receiver):
    app = await start_phone(tmp_path, receiver.base, pbx_password="not-the-account-password")
    try:
        hit = await receiver.wait("register_failed")
        assert_account(hit)
        assert "registered" not in receiver.events()
        assert app.display.screen.lines[1] == "Registration failed"
    finally:
        await app.stop()


async def test_event_ip_change(phone, receiver):
    phone.runtime.post(ins.IpChanged("127.0.0.9"))
    hit = await receiver.wait("ip_change")
    assert hit["ip"] == "127.0.0.9"


async def test_event_setup_autop_finish(tmp_path, receiver):
    served = {"y000000000000.cfg": "#!version:1.0.0.1\nfeatures.dnd.enable = 1\n"}

    async def cfg(request):
        name = request.match_info["name"]
        if name in served:
            return web.Response(text=served[name])
        raise web.HTTPNotFound()

    app = web.Application()
    app.router.add_get("/prov/{name}", cfg)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    phone = await start_phone(
        tmp_path, receiver.base,
        extra=f"static.auto_provision.server.url = http://127.0.0.1:{port}/prov/")
    try:
        await receiver.wait("setup_completed")
        assert not phone.settings["features.dnd.enable"]
        phone.keypad.press("AUTOP")
        hit = await receiver.wait("setup_autop_finish")
        assert_device(hit)
        assert phone.settings["features.dnd.enable"] is True   # the fetched file took effect
    finally:
        await phone.stop()
        await runner.cleanup()


# ------------------------------------------------------------- hook, keys

async def test_event_off_hook(phone, receiver):
    phone.hook.lift()
    hit = await receiver.wait("off_hook")
    assert_device(hit)
    assert phone.display.screen.kind == "dialing"


async def test_event_on_hook(phone, receiver):
    phone.hook.lift()
    await receiver.wait("off_hook")
    phone.hook.hang_up()
    await receiver.wait("on_hook")
    assert phone.display.screen.kind == "idle"


async def test_event_idle_to_busy(phone, receiver):
    phone.hook.lift()
    hit = await receiver.wait("idle_to_busy")
    assert_device(hit)


async def test_event_busy_to_idle(phone, receiver):
    await connected_call(phone, receiver)
    phone.hook.hang_up()
    await receiver.wait("busy_to_idle")
    assert receiver.events().index("call_terminated") < receiver.events().index("busy_to_idle")


async def test_event_headset(phone, receiver):
    phone.keypad.press("HEADSET")
    await receiver.wait("headset")
    assert phone.leds.state["headset"] == "on"


async def test_event_handfree(phone, receiver):
    phone.keypad.press("SPEAKER")
    await receiver.wait("handfree")
    assert phone.leds.state["speaker"] == "on"
    assert phone.display.screen.kind == "dialing"


# --------------------------------------------------------------- outgoing

async def test_event_outgoing_call(phone, receiver):
    hit = await call_out(phone, receiver, "201")
    assert_account(hit)
    assert hit["calledNumber"] == "201"
    assert hit["local"] == OUR_URI
    assert hit["remote"] == "sip:201@pbx.test"
    assert hit["display_remote"] == "Alice"
    assert hit["display_local"] == "Desk Phone"
    assert hit["sip_call_id"] in phone.engine.calls
    assert hit["callerID"] == ""


async def test_event_call_established(phone, receiver):
    out = await call_out(phone, receiver, "201")
    hit = await receiver.wait("call_established")
    assert hit["sip_call_id"] == out["sip_call_id"]
    assert hit["remote"] == "sip:201@pbx.test"
    assert phone.display.screen.kind == "connected"


async def test_event_call_terminated(phone, receiver):
    est = await connected_call(phone, receiver)
    phone.engine.remote_hangup()
    hit = await receiver.wait("call_terminated")
    assert hit["sip_call_id"] == est["sip_call_id"]
    assert hit["calledNumber"] == "201"


async def test_event_cancel_callout(phone, receiver):
    out = await call_out(phone, receiver, "203")          # rings, nobody answers
    phone.keypad.press("X")
    hit = await receiver.wait("cancel_callout")
    assert hit["sip_call_id"] == out["sip_call_id"]
    assert hit["calledNumber"] == "203"
    assert "call_established" not in receiver.events()


async def test_event_remote_busy(phone, receiver):
    await call_out(phone, receiver, "202")
    hit = await receiver.wait("remote_busy")
    assert hit["calledNumber"] == "202"
    assert hit["display_remote"] == "Bob"


async def test_event_remote_busy_on_decline(phone, receiver):
    await call_out(phone, receiver, "204")
    hit = await receiver.wait("remote_busy")
    assert hit["calledNumber"] == "204"


# --------------------------------------------------------------- incoming

async def test_event_incoming_call(phone, receiver):
    call_id, hit = await ring_in(phone, receiver, "300", "Caller")
    assert_account(hit)
    assert hit["sip_call_id"] == call_id
    assert hit["remote"] == "sip:300@pbx.test"
    assert hit["local"] == OUR_URI
    assert hit["display_remote"] == "Caller"
    assert hit["display_local"] == "Desk Phone"
    assert hit["callerID"] == "Caller"
    # The firmware fills $calledNumber in both directions: the remote party's number.
    assert hit["calledNumber"] == "300"
    assert hit["call_id"].isdigit() and hit["callDirection"] == "incoming"
    assert phone.leds.state["line1"] == "fast"


async def test_display_name_with_query_characters_arrives_intact(phone, receiver):
    name = "A&B=C #1 %+ x?/;é"
    _, hit = await ring_in(phone, receiver, "300", name)
    assert hit["display_remote"] == name
    assert hit["callerID"] == name


async def test_event_missed_call(phone, receiver):
    call_id, _ = await ring_in(phone, receiver)
    phone.engine.remote_hangup(call_id)
    hit = await receiver.wait("missed_call")
    assert hit["sip_call_id"] == call_id
    assert "1 missed call" in phone.display.screen.lines


async def test_event_call_remote_canceled(phone, receiver):
    call_id, _ = await ring_in(phone, receiver)
    phone.engine.remote_hangup(call_id)
    hit = await receiver.wait("call_remote_canceled")
    assert hit["sip_call_id"] == call_id
    assert hit["remote"] == "sip:300@pbx.test"


async def test_event_reject_incoming_call(phone, receiver):
    call_id, _ = await ring_in(phone, receiver)
    phone.keypad.press("X")
    hit = await receiver.wait("reject_incoming_call")
    assert hit["sip_call_id"] == call_id
    await receiver.quiet()
    assert "missed_call" not in receiver.events()
    assert call_id not in phone.engine.calls


async def test_answer_by_lifting_the_handset(phone, receiver):
    call_id, _ = await ring_in(phone, receiver)
    phone.hook.lift()
    hit = await receiver.wait("call_established")
    assert hit["sip_call_id"] == call_id
    assert phone.engine.calls[call_id].state == "connected"


async def test_event_answer_new_incoming_call(phone, receiver):
    first = await connected_call(phone, receiver)
    second_id, _ = await ring_in(phone, receiver, "301", "Second")
    assert phone.display.screen.lines[2] == "Waiting: Second"
    phone.keypad.press("OK")
    hit = await receiver.wait("answer_new_incoming_call")
    assert hit["sip_call_id"] == second_id
    held = await receiver.wait("hold")
    assert held["sip_call_id"] == first["sip_call_id"]       # the first call went on hold


async def test_event_forward_incoming_call(phone, receiver):
    phone.runtime.post(ins.SetForward("always", True, "555"))
    await receiver.wait("always_fwd_on")
    call_id, = [phone.engine.incoming("300", "Caller")]
    hit = await receiver.wait("forward_incoming_call")
    assert hit["sip_call_id"] == call_id
    assert "incoming_call" not in receiver.events()
    forwards = [c for c in phone.engine.log if type(c).__name__ == "EngineForward"]
    assert forwards and forwards[-1].target == "555"


# ------------------------------------------------------- in-call features

async def test_event_hold(phone, receiver):
    est = await connected_call(phone, receiver)
    phone.keypad.press("HOLD")
    hit = await receiver.wait("hold")
    assert hit["sip_call_id"] == est["sip_call_id"]
    assert phone.engine.calls[est["sip_call_id"]].state == "held"


async def test_event_unhold(phone, receiver):
    est = await connected_call(phone, receiver)
    phone.keypad.press("HOLD")
    await receiver.wait("hold")
    phone.keypad.press("HOLD")
    hit = await receiver.wait("unhold")
    assert hit["sip_call_id"] == est["sip_call_id"]


async def test_event_held(phone, receiver):
    est = await connected_call(phone, receiver)
    phone.engine.remote_hold(True)
    hit = await receiver.wait("held")
    assert hit["sip_call_id"] == est["sip_call_id"]
    assert "held" in phone.display.screen.icons


async def test_event_unheld(phone, receiver):
    est = await connected_call(phone, receiver)
    phone.engine.remote_hold(True)
    await receiver.wait("held")
    phone.engine.remote_hold(False)
    hit = await receiver.wait("unheld")
    assert hit["sip_call_id"] == est["sip_call_id"]


async def test_event_mute(phone, receiver):
    est = await connected_call(phone, receiver)
    phone.keypad.press("MUTE")
    hit = await receiver.wait("mute")
    assert hit["sip_call_id"] == est["sip_call_id"]
    assert phone.leds.state["mute"] == "on"


async def test_event_unmute(phone, receiver):
    await connected_call(phone, receiver)
    phone.keypad.press("MUTE")
    await receiver.wait("mute")
    phone.keypad.press("MUTE")
    await receiver.wait("unmute")
    assert phone.leds.state["mute"] == "off"


async def test_event_transfer_call(phone, receiver):
    est = await connected_call(phone, receiver)
    phone.keypad.press("TRANSFER")
    hit = await receiver.wait("transfer_call")
    assert hit["sip_call_id"] == est["sip_call_id"]
    assert phone.display.screen.title == "Transfer to"


async def test_event_blind_transfer_call(phone, receiver):
    est = await connected_call(phone, receiver)
    phone.keypad.press("TRANSFER")
    phone.keypad.type("203")
    phone.keypad.press("TRANSFER")
    hit = await receiver.wait("blind_transfer_call")
    assert hit["sip_call_id"] == est["sip_call_id"]


async def test_event_transfer_finished(phone, receiver):
    est = await connected_call(phone, receiver)
    phone.keypad.press("TRANSFER")
    phone.keypad.type("203")
    phone.keypad.press("TRANSFER")
    hit = await receiver.wait("transfer_finished")
    assert hit["sip_call_id"] == est["sip_call_id"]
    await settle(phone)
    assert phone.display.screen.kind == "dialing"     # the handset is still up
    phone.hook.hang_up()
    await receiver.wait("busy_to_idle")
    assert est["sip_call_id"] not in phone.engine.calls


async def test_event_transfer_failed(phone, receiver):
    est = await connected_call(phone, receiver)
    phone.keypad.press("TRANSFER")
    phone.keypad.type("202")                 # busy: the PBX refuses the transfer
    phone.keypad.press("TRANSFER")
    hit = await receiver.wait("transfer_failed")
    assert hit["sip_call_id"] == est["sip_call_id"]
    await settle(phone)
    assert "Transfer failed" in phone.display.screen.lines
    assert est["sip_call_id"] in phone.engine.calls      # the caller is still there, on hold


async def test_event_attended_transfer_call(phone, receiver):
    first = await connected_call(phone, receiver, "201")
    phone.keypad.press("TRANSFER")
    phone.keypad.type("205#")                # consult the target first
    consult = await receiver.wait("call_established", after=first.at + 1e-6)
    assert consult["calledNumber"] == "205"
    phone.keypad.press("TRANSFER")
    hit = await receiver.wait("attended_transfer_call")
    assert hit["sip_call_id"] == first["sip_call_id"]
    await receiver.wait("transfer_finished")
    phone.hook.hang_up()
    await receiver.wait("busy_to_idle")
    assert phone.engine.calls == {}


# ----------------------------------------------------------- phone features

async def test_event_dnd_on(phone, receiver):
    phone.keypad.press("F1")                 # the idle screen's DND soft key
    hit = await receiver.wait("dnd_on")
    assert_device(hit)
    assert phone.leds.state["dnd"] == "on"


async def test_event_dnd_off(phone, receiver):
    phone.keypad.press("F1")
    await receiver.wait("dnd_on")
    phone.keypad.press("F1")
    await receiver.wait("dnd_off")
    assert phone.leds.state["dnd"] == "off"


async def test_dnd_rejects_incoming_calls(phone, receiver):
    phone.runtime.post(ins.SetDnd(True))
    await receiver.wait("dnd_on")
    call_id = phone.engine.incoming("300", "Caller")
    hit = await receiver.wait("reject_incoming_call")
    assert hit["sip_call_id"] == call_id
    assert "incoming_call" not in receiver.events()
    hangups = [c for c in phone.engine.log if type(c).__name__ == "EngineHangup"]
    assert hangups[-1].code == 480


def menu_select(phone, item_index: int) -> None:
    """Open the feature menu from idle (OK) and move to ``item_index``."""
    phone.keypad.press("OK")
    for _ in range(item_index):
        phone.keypad.press("DOWN")


async def forward_on_off(phone, receiver, index: int, kind: str, event: str) -> None:
    menu_select(phone, index)
    phone.keypad.press("OK")                 # asks for the target
    phone.keypad.type("777")
    phone.keypad.press("OK")
    hit = await receiver.wait(f"{event}_on")
    assert_device(hit)
    assert phone.settings[f"forward.{kind}.target"] == "777"
    assert phone.settings[f"forward.{kind}.enable"] is True
    phone.keypad.press("OK")                 # same item again: off
    await receiver.wait(f"{event}_off")
    assert phone.settings[f"forward.{kind}.enable"] is False


async def test_event_always_fwd_on(phone, receiver):
    await forward_on_off(phone, receiver, 1, "always", "always_fwd")


async def test_event_always_fwd_off(phone, receiver):
    await forward_on_off(phone, receiver, 1, "always", "always_fwd")
    assert receiver.events().count("always_fwd_off") == 1


async def test_event_busy_fwd_on(phone, receiver):
    await forward_on_off(phone, receiver, 2, "busy", "busy_fwd")


async def test_event_busy_fwd_off(phone, receiver):
    await forward_on_off(phone, receiver, 2, "busy", "busy_fwd")
    assert receiver.events().count("busy_fwd_off") == 1


async def test_event_no_answer_fwd_on(phone, receiver):
    await forward_on_off(phone, receiver, 3, "no_answer", "no_answer_fwd")


async def test_event_no_answer_fwd_off(phone, receiver):
    await forward_on_off(phone, receiver, 3, "no_answer", "no_answer_fwd")
    assert receiver.events().count("no_answer_fwd_off") == 1


async def test_event_call_waiting_off(phone, receiver):
    menu_select(phone, 4)
    phone.keypad.press("OK")                 # call waiting is on by default
    await receiver.wait("call_waiting_off")
    assert phone.settings["call_waiting.enable"] is False


async def test_event_call_waiting_on(phone, receiver):
    menu_select(phone, 4)
    phone.keypad.press("OK")
    await receiver.wait("call_waiting_off")
    phone.keypad.press("OK")
    hit = await receiver.wait("call_waiting_on")
    assert_device(hit)


def test_every_event_has_a_test():
    module = sys.modules[__name__]
    missing = [e.id for e in EVENTS if not hasattr(module, f"test_event_{e.id}")]
    assert missing == []
