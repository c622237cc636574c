"""Issue 15, item 10: log lines that any host can cause.

The limiter remembered 256 sources, so a flood from more sources than that
logged a line each; "asking the user" lines were not limited at all. Sources
are real: one TCP connection from each of 400 addresses 127.0.5.x-127.0.6.x.
"""

from __future__ import annotations

import asyncio
import logging

from notify_listener import listen
from phone_web import get, serve, status_of
from support.sip_udp import SipPeer, notify


async def test_refusals_from_many_sources_are_a_few_lines(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    served = await serve(tmp_path, {"features.action_uri_limit_ip": "10.9.9.9"})
    try:
        sources = [f"127.0.{5 + i // 200}.{1 + i % 200}" for i in range(400)]
        answers = [await served.raw(get("/servlet?key=OK"), source=s) for s in sources]
        assert all(status_of(a) == 403 for a in answers)
    finally:
        await served.stop()
    lines = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(lines) <= 80, f"{len(lines)} lines for 400 refusals"


async def test_asking_the_user_is_not_a_line_per_request(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    listener = await listen(tmp_path, {"features.action_uri_limit_ip": "any",
                                       "deskphone.sip_notify_auth": False})
    peers = [await SipPeer.open(f"127.0.7.{i}") for i in range(1, 201)]
    try:
        for peer in peers:
            peer.send(notify(listener.port, "key=OK"), listener.port)
        await asyncio.sleep(0.3)
    finally:
        for peer in peers:
            peer.close()
        await listener.stop()
    asks = [r for r in caplog.records if "asking the user" in r.getMessage()]
    assert 1 <= len(asks) <= 10, len(asks)
