"""The call log, RD and XML Execute with real SIP: the whole phone on baresip, kamailio, far ends.

A real call sequence with the lab's baresip far ends (Alice 201 and Bob 202 answer only
when told): an answered call in, a missed call (Alice gives up: CANCEL), a rejected call
(X: 486), a call out that rings and is cancelled, a call out to a busy number (Bob: 486).
The log has exactly the expected entries, written to the state directory; a restarted
phone has them too, and RD twice dials the latest placed call. An XML push of
``YealinkIPPhoneExecute`` with ``Dial:201`` (Yealink's ExecuteItem shape) reaches Alice.
"""

from __future__ import annotations

import json
import time

import aiohttp

from support.sip_calls import T, until
from support.sip_lab import start_sip_phone
from support.sip_lab_fixtures import alice, bob, lab, stop_and_check  # noqa: F401

PUSH = "push_xml.server = 127.0.0.1\nfeatures.show_action_uri_option = 0\n" \
       "features.action_uri_limit_ip = 127.0.0.1\n"


async def alice_calls(app, receiver, alice) -> tuple[str, float]:
    """Alice calls the phone; (her Call-ID, when the phone said Incoming Call)."""
    mark, since = alice.mark(), time.monotonic()
    await alice.dial(f"sip:{app.sip_user}@127.0.0.1:{alice.far.registrar_port}")
    hit = await receiver.wait("incoming_call", timeout=T, after=since)
    ringing = await alice.wait("CALL_RINGING", after=mark)
    assert hit["sip_call_id"] == ringing["id"]
    return ringing["id"], hit.at


def log_of(app) -> dict[str, list[tuple[str, str]]]:
    return {kind: [(e.name, e.number) for e in entries]
            for kind, entries in app.phone.state.call_log.lists.items()}


async def test_a_call_sequence_is_logged_kept_across_a_restart_and_rd_twice_redials(
        lab, tmp_path, receiver, alice, bob):
    user = lab.next_user()
    app = await start_sip_phone(tmp_path, receiver.base, lab, user)
    app.sip_user = user
    try:
        await receiver.wait("registered", timeout=15)
        # Answered in.
        await alice_calls(app, receiver, alice)
        app.keypad.press("OK")
        await receiver.wait("call_established", timeout=T)
        app.keypad.press("X")
        await receiver.wait("call_terminated", timeout=T)
        await until(lambda: not app.phone.calls, T)
        # Missed: Alice gives up while it rings.
        call_id, at = await alice_calls(app, receiver, alice)
        await alice.on_call(call_id, "hangup")
        await receiver.wait("missed_call", timeout=T, after=at)
        await until(lambda: not app.phone.calls, T)
        # Rejected at the phone.
        _, at = await alice_calls(app, receiver, alice)
        app.keypad.press("X")
        await receiver.wait("reject_incoming_call", timeout=T, after=at)
        await until(lambda: not app.phone.calls, T)
        # Out to a ringing number, cancelled.
        mark = alice.mark()
        app.keypad.type("201#")
        await alice.wait("CALL_INCOMING", after=mark)
        app.keypad.press("X")
        await receiver.wait("cancel_callout", timeout=T)
        await until(lambda: not app.phone.calls, T)
        # Out to a busy number.
        mark = bob.mark()
        app.keypad.type("202#")
        ring = await bob.wait("CALL_INCOMING", after=mark)
        await bob.on_call(ring["id"], "hangup")
        await receiver.wait("remote_busy", timeout=T)
        await until(lambda: len(log_of(app)["placed"]) == 2, T)
        expected = {"missed": [("Alice", "201")],
                    "received": [("Alice", "201"), ("Alice", "201")],
                    "placed": [("", "202"), ("", "201")]}
        assert log_of(app) == expected
        answered = app.phone.state.call_log.lists["received"][-1]
        assert answered.account == 1 and answered.duration >= 0
        assert app.phone.missed == 1
        await until(lambda: app.display.screen.lines[2] == "1 missed call", T)  # after "Busy"
    finally:
        await stop_and_check(app)
    on_disk = json.loads((tmp_path / "state" / "call_log.json").read_text())
    assert len(on_disk["entries"]) == 4 + 1

    since = time.monotonic()
    again = await start_sip_phone(tmp_path, receiver.base, lab, user)
    try:
        await receiver.wait("registered", timeout=15, after=since)
        await until(lambda: log_of(again) == expected, T)
        assert again.phone.missed == 1                     # still new: never looked at
        mark = bob.mark()
        again.keypad.press("RD")                           # the placed list
        await until(lambda: again.display.screen.kind == "calllog", T)
        assert again.display.screen.lines[0].startswith("202")
        again.keypad.press("RD")                           # and the latest, dialled
        ring = await bob.wait("CALL_INCOMING", after=mark)
        assert f"sip:{user}@" in ring["peeruri"]
    finally:
        await stop_and_check(again)


async def test_an_xml_execute_dial_reaches_alice(lab, tmp_path, receiver, alice):
    user = lab.next_user()
    app = await start_sip_phone(tmp_path, receiver.base, lab, user, extra=PUSH)
    try:
        await receiver.wait("registered", timeout=15)
        mark = alice.mark()
        body = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n<YealinkIPPhoneExecute Beep="no">'
                '<ExecuteItem URI="Dial:201"/></YealinkIPPhoneExecute>')
        async with aiohttp.ClientSession() as session:
            async with session.post(f"http://127.0.0.1:{app.http.port}/servlet?push=xml",
                                    data=body, headers={"Content-Type": "text/xml"}) as resp:
                assert resp.status == 200, await resp.text()
        ring = await alice.wait("CALL_INCOMING", after=mark)
        out = await receiver.wait("outgoing_call", timeout=T)
        assert ring["id"] == out["sip_call_id"] and out["calledNumber"] == "201"
    finally:
        await stop_and_check(app)
