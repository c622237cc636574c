"""Action URI keys (the servlet, over real HTTP) driving real SIP calls through baresip.

The key flows themselves are tested against the simulated PBX in
test_action_uri.py; here a few of them go all the way to the wire: the far
ends (real baresips behind kamailio) see what each key did.
"""

from __future__ import annotations

import aiohttp
import pytest
import yarl

from support.sip_calls import T, alice_calls, audio_direction, is_from, until
from support.sip_lab import start_sip_phone
from support.sip_lab_fixtures import alice, carol, lab, stop_and_check  # noqa: F401

REMOTE = """\
features.action_uri_limit_ip = 127.0.0.1
features.show_action_uri_option = 0
"""


@pytest.fixture
async def remote(lab, tmp_path, receiver):
    user = lab.next_user()
    app = await start_sip_phone(tmp_path, receiver.base, lab, user, extra=REMOTE)
    app.sip_user = user
    try:
        await receiver.wait("registered", timeout=15)
        yield app
    finally:
        await stop_and_check(app)


async def get(app, path_qs: str) -> None:
    url = yarl.URL(f"http://127.0.0.1:{app.http.port}{path_qs}", encoded=True)
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as resp:
            body = await resp.text()
    assert resp.status == 200, body


async def test_number_and_outgoing_uri_place_a_real_call(remote, receiver, alice, lab):
    mark = alice.mark()
    await get(remote, f"/servlet?number=201&outgoing_uri={remote.sip_user}@127.0.0.1")
    out = await receiver.wait("outgoing_call", timeout=T)
    assert out["calledNumber"] == "201"
    ring = await alice.wait("CALL_INCOMING", after=mark)
    assert ring["id"] == out["sip_call_id"]
    await alice.on_call(ring["id"], "accept")
    await receiver.wait("call_established", timeout=T)
    await get(remote, "/servlet?key=CALLEND")
    await receiver.wait("call_terminated", timeout=T)
    closed = await alice.wait("CALL_CLOSED", after=mark)
    assert closed["param"] == "Connection reset by peer"          # our BYE


async def test_answer_hold_mute_by_key(remote, receiver, alice):
    call_id, _ = await alice_calls(remote, receiver, alice)
    mark = alice.mark()
    await get(remote, "/servlet?key=ANSWER")
    est = await receiver.wait("call_established", timeout=T)
    assert est["sip_call_id"] == call_id
    await alice.wait("CALL_ESTABLISHED", after=mark)
    mark = alice.mark()
    await get(remote, "/servlet?key=F_HOLD")
    hold = await receiver.wait("hold", timeout=T)
    assert hold["sip_call_id"] == call_id
    await alice.wait("CALL_REMOTE_SDP", lambda e: e.get("param") == "offer", after=mark)
    await audio_direction(alice, call_id, "recvonly")
    await get(remote, "/servlet?key=MUTE")
    mute = await receiver.wait("mute", timeout=T)
    assert mute["sip_call_id"] == call_id
    await until(lambda: remote.engine.calls[call_id].muted, what="baresip muted")


async def test_blind_transfer_by_key(remote, receiver, alice, carol):
    call_id, _ = await alice_calls(remote, receiver, alice)
    await get(remote, "/servlet?key=ANSWER")
    await receiver.wait("call_established", timeout=T)
    mark = carol.mark()
    await get(remote, "/servlet?key=BTrans=203")
    blind = await receiver.wait("blind_transfer_call", timeout=T)
    finished = await receiver.wait("transfer_finished", timeout=T)
    assert blind["sip_call_id"] == finished["sip_call_id"] == call_id
    await carol.wait("CALL_ESTABLISHED", is_from("201"), after=mark)
