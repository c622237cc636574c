"""Issue 15, item 8: the NOTIFY port as a reflector and amplifier for spoofed datagrams.

A 20-byte datagram earned a 111-129 byte answer and a 5 kB one 15.7 kB, each
logged, without limit. Now: nothing answers a request without sound
Via/From/To/Call-ID/CSeq, no answer is larger than its request, and one source
gets a burst of answers and then a few a second.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from notify_listener import listen
from support.sip_udp import SipPeer, notify

UNTRUSTED = {"features.action_uri_limit_ip": "10.9.9.9"}


async def answers_to(peer: SipPeer, port: int, datagram: bytes, wait: float = 0.3) -> list[bytes]:
    peer.send(datagram, port)
    await asyncio.sleep(wait)
    got = []
    while not peer.inbox.queue.empty():
        got.append(peer.inbox.queue.get_nowait()[0])
    return got


@pytest.mark.parametrize("datagram", [
    b"NOTIFY sip:x SIP/2.0\r\n\r\n",                                   # 24 bytes, no headers
    b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4\r\n\r\n",       # no From/To/Call-ID/CSeq
    b"NOTIFY sip:x SIP/2.0\r\n" + b"Via: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK1\r\n" * 120
    + b"\r\n",                                                          # 5 kB of Vias, nothing else
])
async def test_no_answer_without_the_headers_an_answer_needs(tmp_path, datagram):
    listener = await listen(tmp_path, UNTRUSTED)
    peer = await SipPeer.open("127.0.0.2")
    try:
        assert await answers_to(peer, listener.port, datagram) == []
    finally:
        peer.close()
        await listener.stop()


async def test_no_answer_is_larger_than_its_request(tmp_path):
    listener = await listen(tmp_path, UNTRUSTED)
    peer = await SipPeer.open("127.0.0.2")
    port = listener.port
    many_vias = "\r\n".join(f"Via: SIP/2.0/UDP 10.0.0.{i};branch=z9hG4bK{i}" for i in range(60))
    cases = [
        notify(port, "key=DNDOn"),                               # untrusted: 403
        notify(port, "key=DNDOn", method="OPTIONS", event=None),  # 405
        notify(port, "key=DNDOn", event="presence"),             # 489
        notify(port, "key=DNDOn", extra=many_vias),              # every Via is copied back
        notify(port, "key=DNDOn", length=99),                    # 400
        notify(port, "x" * 1200, extra="X-Pad: " + "p" * 2000),
    ]
    try:
        for datagram in cases:
            for answer in await answers_to(peer, port, datagram, wait=0.1):
                assert len(answer) <= len(datagram), (len(answer), len(datagram), answer[:60])
    finally:
        peer.close()
        await listener.stop()


async def test_one_source_gets_a_burst_of_answers_then_few_and_few_lines(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="deskphone.sip_notify")
    listener = await listen(tmp_path, UNTRUSTED)
    peer = await SipPeer.open("127.0.0.2")
    try:
        for i in range(200):
            peer.send(notify(listener.port, "key=DNDOn", call_id=f"flood-{i}"), listener.port)
        await asyncio.sleep(0.5)
        answered = peer.inbox.queue.qsize()
    finally:
        peer.close()
        await listener.stop()
    assert answered <= 25, f"{answered} answers to 200 datagrams in half a second"
    lines = [r for r in caplog.records if r.name == "deskphone.sip_notify"
             and "NOTIFY from" in r.getMessage()]
    assert len(lines) <= 25, len(lines)
