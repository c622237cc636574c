"""Every call event from real SIP traffic: the phone drives baresip, calls go through kamailio.

Each test starts the whole phone with ``deskphone.engine = baresip`` (its own
baresip child), registered at a kamailio on 127.0.0.1, and talks to far ends
that are real baresips (Alice 201 and Bob 202 answer when told, Carol 203 by
herself). The assertions are on the Action URL requests a real HTTP receiver
gets, and on what the far ends saw on the wire (their own events).

Measured with baresip 1.0.0; where that version cannot do what a Yealink
does, the test pins down what the phone does instead (see the README table).
"""

from __future__ import annotations

from deskphone.core import inputs as ins
from support.sip_lab import start_sip_phone
from support.sip_calls import T, alice_calls, audio_direction, call_alice, is_from, until
from support.sip_lab_fixtures import alice, bob, carol, lab, sip_phone, stop_and_check  # noqa: F401


# ------------------------------------------------------------- registration

async def test_registered(sip_phone, receiver, lab):
    hit = await receiver.wait("registered")
    user = sip_phone.sip_user
    assert hit["active_user"] == user
    assert hit["active_url"] == f"sip:{user}@127.0.0.1:{lab.port}"
    assert hit["active_host"] == f"127.0.0.1:{lab.port}"
    assert sip_phone.engine.caps.version == (1, 0, 0)


async def test_register_failed_with_a_wrong_password(lab, tmp_path, receiver):
    user = lab.next_user()
    app = await start_sip_phone(tmp_path, receiver.base, lab, user, password="wrong")
    try:
        hit = await receiver.wait("register_failed", timeout=T)
        assert hit["active_user"] == user
        assert hit["active_url"] == f"sip:{user}@127.0.0.1:{lab.port}"
        assert "registered" not in receiver.events()
        assert app.display.screen.lines[1] == "Registration failed"
    finally:
        await stop_and_check(app)


async def test_unregistered_when_the_account_is_disabled_and_back(sip_phone, receiver):
    first = await receiver.wait("registered")
    sip_phone.runtime.post(ins.SetAccountEnabled(1, False))
    hit = await receiver.wait("unregistered", timeout=T)
    assert hit["active_user"] == sip_phone.sip_user
    assert sip_phone.engine.uas == {}
    sip_phone.runtime.post(ins.SetAccountEnabled(1, True))
    again = await receiver.wait("registered", timeout=T, after=first.at + 1e-6)
    assert again["active_user"] == sip_phone.sip_user


# ----------------------------------------------------------------- outgoing

async def test_outgoing_established_terminated(sip_phone, receiver, alice, lab):
    est = await call_alice(sip_phone, receiver, alice)
    out = await receiver.wait("outgoing_call")
    assert out["calledNumber"] == "201"
    assert out["remote"] == f"sip:201@127.0.0.1:{lab.port}"
    assert out["local"] == f"sip:{sip_phone.sip_user}@127.0.0.1:{lab.port}"
    assert est["calledNumber"] == "201"
    assert sip_phone.display.screen.kind == "connected"
    await alice.on_call(est["sip_call_id"], "hangup")
    hit = await receiver.wait("call_terminated", timeout=T)
    assert hit["sip_call_id"] == est["sip_call_id"]
    events = receiver.events()
    assert events.index("idle_to_busy") < events.index("outgoing_call")


async def test_busy_to_idle_after_hanging_up(sip_phone, receiver, alice):
    est = await call_alice(sip_phone, receiver, alice)
    mark = alice.mark()
    sip_phone.hook.hang_up()
    await receiver.wait("busy_to_idle", timeout=T)
    closed = await alice.wait("CALL_CLOSED", after=mark)          # our BYE reached her
    assert closed["id"] == est["sip_call_id"]
    events = receiver.events()
    assert events.index("call_terminated") < events.index("busy_to_idle")


async def test_remote_busy(sip_phone, receiver, alice):
    mark = alice.mark()
    sip_phone.keypad.type("201#")
    out = await receiver.wait("outgoing_call", timeout=T)
    ring = await alice.wait("CALL_INCOMING", after=mark)
    await alice.on_call(ring["id"], "hangup")                    # baresip rejects with 486
    hit = await receiver.wait("remote_busy", timeout=T)
    assert hit["sip_call_id"] == out["sip_call_id"]
    assert hit["calledNumber"] == "201"
    await receiver.quiet()
    assert "call_established" not in receiver.events()


async def test_remote_busy_when_the_number_does_not_exist(sip_phone, receiver):
    sip_phone.keypad.type("999#")                               # kamailio: 404 Not Found
    hit = await receiver.wait("remote_busy", timeout=T)
    assert hit["calledNumber"] == "999"


async def test_cancel_call_out(sip_phone, receiver, alice):
    mark = alice.mark()
    sip_phone.hook.lift()
    sip_phone.keypad.type("201#")
    out = await receiver.wait("outgoing_call", timeout=T)
    await alice.wait("CALL_INCOMING", after=mark)
    sip_phone.keypad.press("X")
    hit = await receiver.wait("cancel_callout", timeout=T)
    assert hit["sip_call_id"] == out["sip_call_id"]
    closed = await alice.wait("CALL_CLOSED", after=mark)          # our CANCEL reached her
    assert closed["id"] == out["sip_call_id"]
    assert closed["param"] == "Connection reset by peer"


# ----------------------------------------------------------------- incoming

async def test_incoming_call(sip_phone, receiver, alice, lab):
    call_id, hit = await alice_calls(sip_phone, receiver, alice)
    assert hit["sip_call_id"] == call_id                         # the SIP Call-ID
    assert hit["remote"] == f"sip:201@127.0.0.1:{lab.port}"
    assert hit["display_remote"] == "Alice"
    assert hit["callerID"] == "Alice"
    assert hit["calledNumber"] == "201"          # the remote user part, incoming too
    assert hit["active_user"] == sip_phone.sip_user
    await receiver.wait("idle_to_busy")


async def test_answer_and_established(sip_phone, receiver, alice):
    call_id, _ = await alice_calls(sip_phone, receiver, alice)
    mark = alice.mark()
    sip_phone.keypad.press("OK")
    hit = await receiver.wait("call_established", timeout=T)
    assert hit["sip_call_id"] == call_id
    await alice.wait("CALL_ESTABLISHED", after=mark)             # she hears us now
    sip_phone.keypad.press("X")
    await receiver.wait("call_terminated", timeout=T)
    await alice.wait("CALL_CLOSED", after=mark)


async def test_missed_call_and_call_remote_canceled(sip_phone, receiver, alice):
    call_id, _ = await alice_calls(sip_phone, receiver, alice)
    await alice.on_call(call_id, "hangup")                       # CANCEL while it rings
    missed = await receiver.wait("missed_call", timeout=T)
    canceled = await receiver.wait("call_remote_canceled", timeout=T)
    assert missed["sip_call_id"] == canceled["sip_call_id"] == call_id
    assert canceled["callerID"] == "Alice"
    await receiver.wait("busy_to_idle", timeout=T)


async def test_reject_incoming_call(sip_phone, receiver, alice):
    mark = alice.mark()
    call_id, _ = await alice_calls(sip_phone, receiver, alice)
    sip_phone.keypad.press("X")
    hit = await receiver.wait("reject_incoming_call", timeout=T)
    assert hit["sip_call_id"] == call_id
    closed = await alice.wait("CALL_CLOSED", after=mark)
    assert closed["param"].startswith("486")
    await receiver.quiet()
    assert "missed_call" not in receiver.events()


async def test_dnd_rejects_the_call(sip_phone, receiver, alice):
    sip_phone.runtime.post(ins.SetDnd(True))
    await receiver.wait("dnd_on", timeout=T)
    mark = alice.mark()
    await alice.dial(f"sip:{sip_phone.sip_user}@127.0.0.1:{alice.far.registrar_port}")
    hit = await receiver.wait("reject_incoming_call", timeout=T)
    closed = await alice.wait("CALL_CLOSED", after=mark)
    assert hit["sip_call_id"] == closed["id"]
    # The core asks for 480; baresip 1.0.0 can only reject with 486 (README table).
    assert closed["param"].startswith("486")
    assert "incoming_call" not in receiver.events()


async def test_call_waiting_off_turns_a_second_call_away(sip_phone, receiver, alice, bob):
    sip_phone.runtime.post(ins.SetCallWaiting(False))
    await call_alice(sip_phone, receiver, alice)
    mark = bob.mark()
    await bob.dial(f"sip:{sip_phone.sip_user}@127.0.0.1:{bob.far.registrar_port}")
    missed = await receiver.wait("missed_call", timeout=T)
    closed = await bob.wait("CALL_CLOSED", after=mark)
    assert missed["sip_call_id"] == closed["id"]
    assert missed["callerID"] == "Bob"
    assert closed["param"].startswith("486")


async def test_answer_new_incoming_call(sip_phone, receiver, alice, bob):
    first = await call_alice(sip_phone, receiver, alice)
    a_mark, b_mark = alice.mark(), bob.mark()
    await bob.dial(f"sip:{sip_phone.sip_user}@127.0.0.1:{bob.far.registrar_port}")
    incoming = await receiver.wait("incoming_call", timeout=T)
    assert incoming["callerID"] == "Bob"
    sip_phone.keypad.press("OK")
    hit = await receiver.wait("answer_new_incoming_call", timeout=T)
    assert hit["sip_call_id"] == incoming["sip_call_id"]
    held = await receiver.wait("hold", timeout=T)
    assert held["sip_call_id"] == first["sip_call_id"]                   # Alice went on hold
    await bob.wait("CALL_ESTABLISHED", after=b_mark)
    await alice.wait("CALL_REMOTE_SDP", lambda e: e.get("param") == "offer", after=a_mark)
    await audio_direction(alice, first["sip_call_id"], "recvonly")   # she is held, on the wire
    # Bob hangs up: baresip 1.0.0 would resume Alice by itself; the phone keeps her held.
    await bob.on_call(incoming["sip_call_id"], "hangup")
    await receiver.wait("call_terminated", timeout=T)
    call = sip_phone.engine.calls[first["sip_call_id"]]
    assert call.want_hold is True
    # baresip resumes Alice by itself; the phone puts her back on hold: she ends up held.
    await audio_direction(alice, first["sip_call_id"], "recvonly")
    assert sip_phone.display.screen.kind == "connected"
    await receiver.quiet()
    assert "unhold" not in receiver.events()


# --------------------------------------------------------- in-call features

async def test_hold_and_unhold(sip_phone, receiver, alice):
    est = await call_alice(sip_phone, receiver, alice)
    mark = alice.mark()
    sip_phone.keypad.press("HOLD")
    hold = await receiver.wait("hold", timeout=T)
    assert hold["sip_call_id"] == est["sip_call_id"]
    await alice.wait("CALL_REMOTE_SDP", lambda e: e.get("param") == "offer", after=mark)
    await audio_direction(alice, est["sip_call_id"], "recvonly")
    mark = alice.mark()
    sip_phone.keypad.press("HOLD")
    unhold = await receiver.wait("unhold", timeout=T)
    assert unhold["sip_call_id"] == est["sip_call_id"]
    await alice.wait("CALL_REMOTE_SDP", lambda e: e.get("param") == "offer", after=mark)
    await audio_direction(alice, est["sip_call_id"], "sendrecv")
    await receiver.quiet()
    assert "held" not in receiver.events()          # our own hold is not the far end's


async def test_held_and_unheld_by_the_far_end(sip_phone, receiver, alice):
    est = await call_alice(sip_phone, receiver, alice)
    await alice.on_call(est["sip_call_id"], "hold")
    held = await receiver.wait("held", timeout=T)
    assert held["sip_call_id"] == est["sip_call_id"]
    assert "held" in sip_phone.display.screen.icons
    await alice.on_call(est["sip_call_id"], "resume")
    unheld = await receiver.wait("unheld", timeout=T)
    assert unheld["sip_call_id"] == est["sip_call_id"]


async def test_mute_and_unmute(sip_phone, receiver, alice):
    est = await call_alice(sip_phone, receiver, alice)
    sip_phone.keypad.press("MUTE")
    mute = await receiver.wait("mute", timeout=T)
    assert mute["sip_call_id"] == est["sip_call_id"]
    call = sip_phone.engine.calls[est["sip_call_id"]]
    await until(lambda: call.muted, what="baresip said 'call muted'")
    sip_phone.keypad.press("MUTE")
    unmute = await receiver.wait("unmute", timeout=T)
    assert unmute["sip_call_id"] == est["sip_call_id"]
    await until(lambda: not call.muted, what="baresip said 'call un-muted'")
    assert sip_phone.leds.state["mute"] == "off"


async def test_dtmf_reaches_the_far_end(sip_phone, receiver, alice):
    est = await call_alice(sip_phone, receiver, alice)
    mark = alice.mark()
    sip_phone.keypad.type("5")
    dtmf = await alice.wait("CALL_DTMF_START", after=mark)
    assert dtmf["param"] == "5" and dtmf["id"] == est["sip_call_id"]


# ---------------------------------------------------------------- transfers

async def test_blind_transfer_finished(sip_phone, receiver, alice, carol):
    est = await call_alice(sip_phone, receiver, alice)
    mark = carol.mark()
    sip_phone.keypad.press("TRANSFER")
    started = await receiver.wait("transfer_call", timeout=T)
    sip_phone.keypad.type("203")
    sip_phone.keypad.press("TRANSFER")
    blind = await receiver.wait("blind_transfer_call", timeout=T)
    finished = await receiver.wait("transfer_finished", timeout=T)
    assert started["sip_call_id"] == blind["sip_call_id"] == finished["sip_call_id"] == est["sip_call_id"]
    await receiver.wait("call_terminated", timeout=T)
    # Alice now talks to Carol (who answers by herself).
    await carol.wait("CALL_ESTABLISHED", is_from("201"), after=mark)
    assert est["sip_call_id"] not in sip_phone.engine.calls


async def test_transfer_failed(sip_phone, receiver, alice):
    est = await call_alice(sip_phone, receiver, alice)
    mark = alice.mark()
    sip_phone.keypad.press("TRANSFER")
    sip_phone.keypad.type("999")                         # no such user: 404 for Alice's INVITE
    sip_phone.keypad.press("TRANSFER")
    failed = await receiver.wait("transfer_failed", timeout=T)
    assert failed["sip_call_id"] == est["sip_call_id"]
    # baresip 1.0.0 ends a call whose transfer failed; the phone says so.
    await receiver.wait("call_terminated", timeout=T)
    await alice.wait("CALL_CLOSED", lambda e: e["id"] == est["sip_call_id"], after=mark)
    assert "transfer_finished" not in receiver.events()


async def test_attended_transfer_emulated(sip_phone, receiver, alice, carol):
    first = await call_alice(sip_phone, receiver, alice)
    mark = carol.mark()
    sip_phone.keypad.press("TRANSFER")
    sip_phone.keypad.type("203#")                       # consult Carol first
    consult = await receiver.wait("call_established", timeout=T, after=first.at + 1e-6)
    assert consult["calledNumber"] == "203"
    sip_phone.keypad.press("TRANSFER")
    hit = await receiver.wait("attended_transfer_call", timeout=T)
    assert hit["sip_call_id"] == first["sip_call_id"]
    finished = await receiver.wait("transfer_finished", timeout=T)
    assert finished["sip_call_id"] == first["sip_call_id"]
    await carol.wait("CALL_ESTABLISHED", is_from("201"), after=mark)
    sip_phone.hook.hang_up()
    await receiver.wait("busy_to_idle", timeout=T)
    assert sip_phone.engine.calls == {}


# ---------------------------------------------------------------- forwarding

async def test_forward_always(sip_phone, receiver, bob, carol):
    sip_phone.runtime.post(ins.SetForward("always", True, "203"))
    await receiver.wait("always_fwd_on", timeout=T)
    c_mark, b_mark = carol.mark(), bob.mark()
    await bob.dial(f"sip:{sip_phone.sip_user}@127.0.0.1:{bob.far.registrar_port}")
    hit = await receiver.wait("forward_incoming_call", timeout=T)
    assert hit["callerID"] == "Bob"
    # Bob ends up talking to Carol: answered, then REFERred (no 302 in baresip).
    await carol.wait("CALL_ESTABLISHED", is_from("202"), after=c_mark)
    await bob.wait("TRANSFER", after=b_mark)
    await receiver.quiet()
    assert "incoming_call" not in receiver.events()
    assert "call_established" not in receiver.events()


async def test_forward_busy_keeps_the_current_call(sip_phone, receiver, alice, bob, carol):
    first = await call_alice(sip_phone, receiver, alice)
    sip_phone.runtime.post(ins.SetForward("busy", True, "203"))
    await receiver.wait("busy_fwd_on", timeout=T)
    c_mark = carol.mark()
    await bob.dial(f"sip:{sip_phone.sip_user}@127.0.0.1:{bob.far.registrar_port}")
    hit = await receiver.wait("forward_incoming_call", timeout=T)
    assert hit["callerID"] == "Bob"
    await carol.wait("CALL_ESTABLISHED", is_from("202"), after=c_mark)
    # Alice is still connected and not left on hold by baresip's answer.
    await receiver.quiet(0.5)
    assert "hold" not in receiver.events()
    await audio_direction(alice, first["sip_call_id"], "sendrecv")
    assert sip_phone.display.screen.kind == "connected"


async def test_forward_no_answer(sip_phone, receiver, bob, carol):
    sip_phone.runtime.post(ins.SetForward("no_answer", True, "203", timeout=1))   # one ring: 6 s
    await receiver.wait("no_answer_fwd_on", timeout=T)
    c_mark = carol.mark()
    await bob.dial(f"sip:{sip_phone.sip_user}@127.0.0.1:{bob.far.registrar_port}")
    incoming = await receiver.wait("incoming_call", timeout=T)
    hit = await receiver.wait("forward_incoming_call", timeout=T + 6)
    assert hit["sip_call_id"] == incoming["sip_call_id"]
    await carol.wait("CALL_ESTABLISHED", is_from("202"), after=c_mark)


# ------------------------------------------------------------- two accounts

async def test_second_account_receives_and_places_its_own_calls(lab, tmp_path, receiver, alice):
    user1, user2 = lab.next_user(), lab.next_user()
    second = "\n".join([
        "account.2.enable = 1", "account.2.label = Line 2", f"account.2.user_name = {user2}",
        f"account.2.auth_name = {user2}", "account.2.password = secret",
        "account.2.sip_server.1.address = 127.0.0.1", f"account.2.sip_server.1.port = {lab.port}",
    ])
    app = await start_sip_phone(tmp_path, receiver.base, lab, user1, extra=second)
    try:
        await until(lambda: {h["active_user"] for h in receiver.hits if h.event == "registered"}
                    == {user1, user2}, what="both accounts registered")
        # A call to the second account is reported as that account's.
        mark = alice.mark()
        await alice.dial(f"sip:{user2}@127.0.0.1:{lab.port}")
        incoming = await receiver.wait("incoming_call", timeout=T)
        assert incoming["active_user"] == user2
        assert incoming["local"] == f"sip:{user2}@127.0.0.1:{lab.port}"
        app.keypad.press("X")
        await receiver.wait("reject_incoming_call", timeout=T)
        await alice.wait("CALL_CLOSED", after=mark)
        # Dialling from line 2 goes out as user 2 (baresip's current UA is chosen per call).
        mark = alice.mark()
        app.keypad.press("L2")
        app.keypad.type("201#")
        out = await receiver.wait("outgoing_call", timeout=T)
        assert out["active_user"] == user2
        ring = await alice.wait("CALL_INCOMING", after=mark)
        assert ring["peeruri"].startswith(f"sip:{user2}@")
        assert ring["id"] == out["sip_call_id"]
    finally:
        await stop_and_check(app)
