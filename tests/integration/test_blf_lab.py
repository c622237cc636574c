"""BLF line keys against a real presence server: kamailio publishes the dialogs it proxies.

Real parts: kamailio 5.6 (registrar, proxy, ``dialog`` + ``pua_dialoginfo`` publishing
each call's dialog states to its own ``presence`` + ``presence_dialoginfo``, in memory),
two far-end baresips (Alice 201 calls, Bob 202 is watched and answers when told) and
the whole phone with its baresip engine, registered, line key 1 set as
``linekey.1.type = 16`` watching 202. The phone SUBSCRIBEs to ``dialog`` for 202
(net/blf.py over net/sip_subscribe.py), kamailio NOTIFYs dialog-info bodies, and the
assertions are on the phone's LED ``line1`` (the simulated board's LED adapter) and on
what the far ends saw on the wire.

The pickup: the phone's part is real, the PBX's is the lab's. Pressing L1 while 202
rings makes the phone dial ``*8202`` (``features.pickup.direct_pickup_code = *8``)
through kamailio, as it would at a PBX. kamailio has no pickup of its own, so the
lab's config routes it: it cancels the ringing branch to Bob (tmx ``t_cancel_callid``;
Alice's first INVITE ends with 487) and relays the phone's INVITE to Alice, whose
baresip (``answermode=auto``) answers it. What the phone sees is what a PBX's
directed pickup gives: its call to the code connects to the caller while Bob stops
ringing; Alice's side (a second call instead of a replaced one) is the lab's.
"""

from __future__ import annotations

import pytest

from deskphone.core import inputs as ins
from deskphone.core.effects import SetLed
from support.kamailio_presence import presence_missing, start_presence_lab
from support.sip_lab_fixtures import alice, bob, registered_phone, running_lab  # noqa: F401
from support.sip_calls import is_from
from support.waiting import until

T = 15.0
FAR_ENDS = (("Alice", "201", "auto"), ("Bob", "202", "manual"))
BLF_KEYS = "\n".join([
    "linekey.1.type = 16", "linekey.1.line = 1", "linekey.1.value = 202",
    "linekey.1.label = Bob", "features.pickup.direct_pickup_code = *8",
])


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    yield from running_lab(tmp_path_factory, FAR_ENDS, presence_missing, start_presence_lab,
                           "blflab")


@pytest.fixture
async def blf_phone(lab, tmp_path, receiver):
    async for app in registered_phone(lab, tmp_path, receiver, extra=BLF_KEYS):
        seen: list[str] = []                  # every pattern line1 was set to, in order
        app.on_effect(lambda e: seen.append(e.pattern)
                      if isinstance(e, SetLed) and e.led == "line1" else None)
        app.line1_seen = seen
        # The first NOTIFY (kamailio's dummy terminated dialog: nobody on the phone yet).
        await until(lambda: app.blf[1].state == "idle", T, "line key 1 idle")
        yield app


def watching(app, state: str, led: str):
    def check() -> bool:
        return app.blf[1].state == state and app.leds.state.get("line1") == led
    return check


def seen(app):
    return lambda: f"blf {app.blf[1].state}, line1 {app.leds.state.get('line1')}, " \
                   f"patterns {app.line1_seen}"


async def test_a_call_between_far_ends_rings_then_talks_then_idles(blf_phone, alice, bob):
    assert blf_phone.leds.state["line1"] == "off" and blf_phone.blf[1].label == "Bob"
    mark = bob.mark()
    await alice.dial(bob.far.uri)
    incoming = await bob.wait("CALL_INCOMING", after=mark, timeout=T)
    await until(watching(blf_phone, "ringing", "fast"), T, seen(blf_phone))
    ringing = blf_phone.blf[1].dialogs
    assert len(ringing) == 1 and ringing[0].direction == "recipient"
    assert ringing[0].call_id == incoming["id"]          # the dialog's ids, for a pickup
    assert "201" in ringing[0].remote
    await bob.on_call(incoming["id"], "accept")
    await bob.wait("CALL_ESTABLISHED", after=mark, timeout=T)
    await until(watching(blf_phone, "talking", "on"), T, seen(blf_phone))
    await bob.on_call(incoming["id"], "hangup")
    await until(watching(blf_phone, "idle", "off"), T, seen(blf_phone))
    assert blf_phone.line1_seen[-3:] == ["fast", "on", "off"]
    assert blf_phone.phone.state.calls == []             # the phone itself was never in it


async def test_pressing_the_key_while_it_rings_picks_the_call_up(blf_phone, receiver, alice, bob):
    bob_mark, alice_mark = bob.mark(), alice.mark()
    await alice.dial(bob.far.uri)
    incoming = await bob.wait("CALL_INCOMING", after=bob_mark, timeout=T)
    await until(watching(blf_phone, "ringing", "fast"), T, seen(blf_phone))
    blf_phone.keypad.press("L1")
    await receiver.wait("outgoing_call", timeout=T)
    assert [c.number for c in blf_phone.phone.state.calls] == ["*8202"]    # the pickup code
    # Bob stops ringing; the caller gets the phone's call, the phone's call connects.
    closed = await bob.wait("CALL_CLOSED", after=bob_mark, timeout=T)
    assert closed["id"] == incoming["id"]
    picked = await alice.wait("CALL_ESTABLISHED", lambda e: blf_phone.sip_user in
                              e.get("peeruri", ""), after=alice_mark, timeout=T)
    await receiver.wait("call_established", timeout=T)
    calls = blf_phone.phone.state.calls
    assert len(calls) == 1 and calls[0].connected and calls[0].number == "*8202"
    await until(watching(blf_phone, "idle", "off"), T, seen(blf_phone))
    await alice.on_call(picked["id"], "hangup")
    await until(lambda: not blf_phone.phone.state.calls, T, "the picked-up call ended")


async def test_pressing_the_key_during_a_call_transfers_it_blind(blf_phone, receiver, alice,
                                                                 bob):
    blf_phone.hook.lift()
    blf_phone.keypad.type("201#")                  # Alice answers by herself
    est = await receiver.wait("call_established", timeout=T)
    bob_mark = bob.mark()
    blf_phone.keypad.press("L1")                   # transfer.dsskey_deal_type 2 (default): blind
    blind = await receiver.wait("blind_transfer_call", timeout=T)
    assert blind["sip_call_id"] == est["sip_call_id"]
    # Alice, referred, now calls Bob: the watched line rings; the transfer ends when he answers.
    ring = await bob.wait("CALL_INCOMING", is_from("201"), after=bob_mark, timeout=T)
    await until(watching(blf_phone, "ringing", "fast"), T, seen(blf_phone))
    await bob.on_call(ring["id"], "accept")
    await receiver.wait("transfer_finished", timeout=T)
    await until(watching(blf_phone, "talking", "on"), T, seen(blf_phone))
    assert blf_phone.phone.state.calls == []
    await bob.on_call(ring["id"], "hangup")
    await until(watching(blf_phone, "idle", "off"), T, seen(blf_phone))
    blf_phone.hook.hang_up()


async def test_the_watch_follows_the_settings(blf_phone):
    watcher = blf_phone.blf_watcher
    (old_watch, old_sub, _book), = watcher.subs.values()
    assert old_watch.target == f"sip:202@127.0.0.1:{blf_phone.settings['account.1.sip_server.1.port']}"
    # 203: in no call of this module (an earlier test's dialog may still be ending elsewhere)
    blf_phone.writer.update({"linekey.1.value": "203", "linekey.1.label": "Carol"})
    await until(lambda: 1 in watcher.subs and watcher.subs[1][0].target.startswith("sip:203@")
                and blf_phone.blf[1].state == "idle", T, seen(blf_phone))
    assert old_sub.state == "stopped" and blf_phone.blf[1].label == "Carol"
    new_sub = watcher.subs[1][1]
    blf_phone.writer.update({"linekey.1.type": "15"})          # a plain line key again
    await until(lambda: not watcher.subs and 1 not in blf_phone.blf, T, "the watch stopped")
    assert new_sub.state == "stopped" and blf_phone.leds.state["line1"] == "off"


async def test_the_watch_follows_the_registration(blf_phone, receiver):
    watcher = blf_phone.blf_watcher
    (_watch, sub, _book), = watcher.subs.values()
    blf_phone.runtime.post(ins.SetAccountEnabled(1, False))      # unregisters
    await until(lambda: not watcher.subs and blf_phone.blf[1].state == "unknown", T,
                seen(blf_phone))
    assert sub.state == "stopped" and blf_phone.leds.state["line1"] == "off"
    blf_phone.runtime.post(ins.SetAccountEnabled(1, True))       # registered again: watched again
    await until(lambda: 1 in watcher.subs and blf_phone.blf[1].state == "idle", T,
                seen(blf_phone))
