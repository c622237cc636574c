"""net/sip_subscribe.py against a hand-written notifier (tests/support/sip_notifier.py), real UDP.

The notifier checks the digest with its own MD5, grants Expires, sends in-dialog
NOTIFYs; the test sees what the subscriber answered and what it handed on.
"""

from __future__ import annotations

import asyncio

import pytest

from deskphone.net import sip_subscribe
from deskphone.net.sip_subscribe import Identity, Subscription
from support.sip_notifier import Notifier
from support.sip_udp import SipPeer, notify
from support.waiting import until

BODY = "Messages-Waiting: yes\r\nVoice-Message: 2/8 (1/0)\r\n"


@pytest.fixture
async def world():
    made: list = []

    async def make(notifier_kw: dict | None = None, **kw):
        notifier = await Notifier.open(**(notifier_kw or {}))
        got: list[tuple[dict, bytes]] = []
        states: list[str] = []
        sub = Subscription(event="message-summary", accept="application/simple-message-summary",
                           target="sip:1001@127.0.0.1",
                           me=Identity("sip:1001@127.0.0.1", "1001", "secret"),
                           server=("127.0.0.1", notifier.port),
                           on_notify=lambda h, b: got.append((h, b)), on_state=states.append,
                           **kw)
        made.append((notifier, sub))
        assert await sub.start()
        return notifier, sub, got, states

    yield make
    for notifier, sub in made:
        await sub.stop()
        notifier.close()


async def test_subscribes_with_digest_and_takes_its_notifies(world):
    notifier, sub, got, states = await world()
    await until(lambda: notifier.dialogs and sub.state == "active", what="subscribed")
    first, second = notifier.subscribes[:2]
    assert "authorization" not in dict(first.headers)            # challenged first
    assert second.get("authorization").startswith("Digest ")
    for s in (first, second):
        assert s.get("event") == "message-summary"
        assert s.get("accept") == "application/simple-message-summary"
        assert s.expires == 3600
    dialog = notifier.only_dialog()
    raw = notifier.notify(dialog, BODY)
    await until(lambda: got, what="the NOTIFY handed on")
    headers, body = got[0]
    assert body == BODY.encode() and headers["event"] == "message-summary"
    await until(lambda: notifier.answers_to("NOTIFY"), what="an answer to the NOTIFY")
    assert notifier.answers_to("NOTIFY")[0].status == 200
    # A retransmission is answered again and not handed on again.
    notifier.transport.sendto(raw, dialog.contact)
    await until(lambda: len(notifier.answers_to("NOTIFY")) == 2)
    assert len(got) == 1 and sub.stats["retransmission"] == 1
    assert states[:2] == ["subscribing", "active"]


async def test_refreshes_before_expires_in_the_dialog(world):
    notifier, sub, got, _ = await world({"expires": 6})
    await until(lambda: sub.state == "active")
    n = len(notifier.subscribes)
    # Granted 6 s: refreshed 1 s ahead at the latest (85 %, at least MIN_REFRESH ahead).
    await until(lambda: len(notifier.subscribes) > n, timeout=6.0, what="a refresh")
    refresh = notifier.subscribes[n]
    assert refresh.get("call-id") == notifier.only_dialog().call_id
    assert "tag=" in refresh.get("to")                             # in the dialog
    assert refresh.start.startswith("SUBSCRIBE sip:notifier@127.0.0.1:")   # the remote target
    assert len(notifier.dialogs) == 1


async def test_terminated_ends_the_dialog_and_a_new_one_starts(world):
    notifier, sub, got, _ = await world()
    await until(lambda: sub.state == "active")
    notifier.notify(notifier.only_dialog(), "Messages-Waiting: no\r\n",
                    state="terminated;reason=timeout")
    await until(lambda: got)
    await until(lambda: len(notifier.dialogs) == 2, timeout=5.0, what="a new subscription")
    assert sub.state == "active"


async def test_a_refused_subscribe_backs_off(world, monkeypatch):
    monkeypatch.setattr(sip_subscribe, "RETRY_FIRST", 0.3)
    notifier, sub, _, states = await world({"refuse": 404})
    await until(lambda: len(notifier.subscribes) >= 3, timeout=5.0, what="retries")
    times = [s for s in notifier.subscribes]
    assert "failed" in states and sub.stats["failed"] >= 2
    # Doubling: 0.3, 0.6, 1.2 ... never a busy loop.
    await asyncio.sleep(0.5)
    assert len(notifier.subscribes) <= len(times) + 2


async def test_a_notifier_that_never_answers_is_given_up_and_tried_again(world, monkeypatch):
    monkeypatch.setattr(sip_subscribe, "RETRY_FIRST", 0.2)
    silent = await SipPeer.open()
    notifier, sub, _, states = await world(timeout=1.0)
    sub.server = ("127.0.0.1", silent.port)          # the next attempt goes to a silent host
    notifier.refuse = 500
    await until(lambda: "failed" in states, timeout=5.0)
    n = sub.stats["failed"]
    await until(lambda: sub.stats["failed"] > n + 1, timeout=8.0, what="given up on time")
    silent.close()


async def test_notifies_of_no_dialog_of_ours_get_481_and_are_not_handed_on(world):
    notifier, sub, got, _ = await world()
    await until(lambda: sub.state == "active")
    peer = await SipPeer.open()
    answer = await peer.ask(notify(sub.port, BODY, event="message-summary"), sub.port)
    assert answer.status == 481
    dialog = notifier.only_dialog()
    answer = await peer.ask(notify(sub.port, BODY, event="message-summary", call_id=dialog.call_id,
                                   from_tag="forged", to_tag="wrong"), sub.port)
    assert answer.status == 481
    answer = await peer.ask(notify(sub.port, "x", method="OPTIONS"), sub.port)
    assert answer.status == 405
    peer.send(b"\x00garbage" * 100, sub.port)
    await peer.silence(0.2)
    peer.close()
    assert got == []


async def test_a_huge_body_is_refused_and_not_handed_on(world):
    notifier, sub, got, _ = await world()
    await until(lambda: sub.state == "active")
    notifier.notify(notifier.only_dialog(), "Voice-Message: 1/1\r\n" * 2000)
    await until(lambda: notifier.answers_to("NOTIFY"))
    assert notifier.answers_to("NOTIFY")[0].status == 413 and got == []


async def test_stop_unsubscribes_and_closes(world):
    notifier, sub, _, states = await world()
    await until(lambda: sub.state == "active")
    n = len(notifier.subscribes)
    await sub.stop()
    assert notifier.subscribes[n].expires == 0 and states[-1] == "stopped"
    peer = await SipPeer.open()
    peer.send(notify(sub.port, BODY, event="message-summary"), sub.port)
    await peer.silence(0.2)                       # the socket is gone
    peer.close()


async def test_stop_is_quick_when_the_notifier_is_gone(world):
    notifier, sub, _, _ = await world()
    await until(lambda: sub.state == "active")
    notifier.close()
    loop = asyncio.get_running_loop()
    began = loop.time()
    await sub.stop()
    assert loop.time() - began < sip_subscribe.STOP_WAIT + 0.5


async def test_a_notifier_that_terminates_at_once_is_not_asked_in_a_tight_loop(world, monkeypatch):
    monkeypatch.setattr(sip_subscribe, "RETRY_FIRST", 0.4)
    notifier, sub, got, _ = await world()
    loop = asyncio.get_running_loop()
    began = loop.time()
    for n in range(1, 4):
        await until(lambda: len(notifier.dialogs) == n and sub.state == "active", timeout=5.0)
        notifier.notify(notifier.only_dialog(), "Messages-Waiting: no\r\n",
                        state="terminated;reason=deactivated")
    await until(lambda: len(notifier.dialogs) == 4, timeout=5.0)
    # Each ended within a second of starting: 0.4, 0.8, 1.6 s of backoff at least (-10 %).
    assert loop.time() - began >= 0.9 * (0.4 + 0.8 + 1.6)


async def test_a_flood_of_notifies_is_held_to_the_rate(world):
    notifier, sub, got, _ = await world()
    await until(lambda: sub.state == "active")
    dialog = notifier.only_dialog()
    for _ in range(60):
        notifier.notify(dialog, BODY)
    await until(lambda: len(notifier.answers_to("NOTIFY")) == 60)
    statuses = [a.status for a in notifier.answers_to("NOTIFY")]
    assert statuses.count(503) >= 30 and len(got) <= sip_subscribe.NOTIFY_BURST + 2
    assert len(got) == statuses.count(200)


@pytest.mark.parametrize("data", [
    b"", b"\x00\xff" * 50, b"SIP/2.0 200 OK\r\nVia: x\r\n",            # no blank line
    b"SIP/2.0 99 Odd\r\n\r\n", b"SIP/2.0 200 OK\r\n" + b"X-A: b\r\n" * 200 + b"\r\n",
    b"NOTIFY sip:x SIP/2.0\r\n\r\n", b"SIP/2.0 200 OK\r\nnot a header\r\n\r\n",
])
def test_what_is_no_response_is_none(data):
    from deskphone.net.sip_subscribe_wire import parse_response
    assert parse_response(data) is None


def test_the_parts_of_an_answer():
    from deskphone.net.sip_subscribe_wire import expires_of, param, parse_response, tag_of, uri_of
    r = parse_response(b"SIP/2.0 200 OK\nt: \"N\" <sip:a@b;x=1>;tag=abc\nExpires: 600\n"
                       b"m: <sip:n@127.0.0.1:9>\n\n")
    assert r is not None and r.status == 200
    assert tag_of(r.get("to")) == "abc" and uri_of(r.get("contact")) == "sip:n@127.0.0.1:9"
    assert expires_of(r.get("expires"), 5) == 600
    assert expires_of("active;expires=30", 5) == 30 and expires_of("99999999999", 5) == 5
    assert param("reason=timeout;retry-after=7", "retry-after") == "7"
    assert param("", "reason") == "" and tag_of(None) == ""
