"""Issue 15, item 3 (and 10's tracebacks): any host holding the HTTP listener's resources.

What the red team did, scaled down: idle connections that never send a byte,
a slowloris head, one host opening connection after connection, a listener
full of idle connections while a trusted client needs it, half-sent 128 KB
POSTs from an untrusted address, and oversized heads that made aiohttp log a
traceback each. Real sockets on 127.0.0.0/8; other 127.x sources are other
hosts. Limits are test-sized (``guard(...)``); the defaults and the measured
RSS and descriptors are in the README (tests/bench/bench_http_flood.py).
"""

from __future__ import annotations

import asyncio
import logging
import os

from phone_web import closed_by_server, get, guard, serve, status_of

TRUSTED = {"features.action_uri_limit_ip": "127.0.0.1",
           "deskphone.trust.127.0.0.1": "allow"}


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_a_connection_that_never_sends_a_byte_is_closed(tmp_path):
    served = await serve(tmp_path, TRUSTED, guard=guard(idle_timeout=0.5))
    sock = served.connect("127.0.0.2")
    try:
        assert await closed_by_server(sock, within=5.0)
    finally:
        sock.close()
        await served.stop()


async def test_a_slowloris_head_is_cut(tmp_path):
    served = await serve(tmp_path, TRUSTED, guard=guard(idle_timeout=0.5))
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port,
                                                  local_addr=("127.0.0.2", 0))
    try:
        writer.write(b"GET /servlet?key=OK HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        cut = False
        for _ in range(40):                       # a header byte every 0.1 s, for 4 s at most
            try:
                writer.write(b"X")
                await writer.drain()
            except ConnectionError:
                cut = True
                break
            try:
                async with asyncio.timeout(0.1):
                    if await reader.read(100) == b"":
                        cut = True
                        break
            except TimeoutError:
                pass
        assert cut, "a head trickled byte by byte kept the connection for 4 s"
    finally:
        writer.close()
        await served.stop()


async def test_one_host_gets_its_share_of_connections_and_no_more(tmp_path):
    served = await serve(tmp_path, TRUSTED, guard=guard(per_source=8, idle_timeout=30))
    socks = [served.connect("127.0.0.2") for _ in range(30)]
    try:
        closed = await asyncio.gather(*(closed_by_server(s, within=1.0) for s in socks))
        assert sum(closed) >= 30 - 8, f"{30 - sum(closed)} of 30 idle connections held"
        answer = await served.raw(get("/servlet?key=VOLUME_UP"))
        assert status_of(answer) == 200           # the trusted host is served meanwhile
    finally:
        for s in socks:
            s.close()
        await served.stop()


async def test_a_full_listener_still_serves_a_trusted_client_within_its_budget(tmp_path):
    budget = 24
    served = await serve(tmp_path, TRUSTED,
                         guard=guard(max_connections=budget, per_source=8, idle_timeout=30))
    before = open_fds()
    socks = [served.connect(f"127.0.0.{2 + i % 6}") for i in range(48)]   # 6 hosts, 8 each
    try:
        await asyncio.sleep(0.3)
        # Our 48 client sockets, and the server's side of what it holds: never past the budget.
        held = open_fds() - before - len(socks)
        assert held <= budget, f"the listener holds {held} connections (budget {budget})"
        answer = await served.raw(get("/servlet?key=VOLUME_UP"))
        assert status_of(answer) == 200
    finally:
        for s in socks:
            s.close()
        await served.stop()


async def test_an_untrusted_post_is_refused_before_its_body(tmp_path):
    served = await serve(tmp_path, TRUSTED)
    head = (b"POST /servlet HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 131072\r\n\r\nkey=OK&x=")             # and never the rest
    try:
        answer = await served.raw(head, source="127.0.0.2", timeout=3.0)
        assert status_of(answer) == 403 and b"not a trusted source" in answer
    finally:
        await served.stop()


async def test_floods_are_logged_as_counts_not_tracebacks(tmp_path, caplog):
    served = await serve(tmp_path, TRUSTED, guard=guard(per_source=4, idle_timeout=30))
    caplog.set_level(logging.INFO)
    socks = [served.connect("127.0.0.3") for _ in range(200)]
    oversized = get("/servlet?key=OK", extra="X-Filler: " + "a" * 20000 + "\r\n")
    try:
        answers = await asyncio.gather(*(served.raw(oversized, source="127.0.0.4")
                                         for _ in range(30)))
        assert all(status_of(a) in (400, 431) or a == b"" for a in answers)
        await asyncio.sleep(0.2)
    finally:
        for s in socks:
            s.close()
        await served.stop()
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert tracebacks == [], f"{len(tracebacks)} tracebacks, the first: {tracebacks[:1]}"
    lines = [r for r in caplog.records if r.name in ("aiohttp.server", "deskphone.http")
             and r.levelno >= logging.INFO and "HTTP on" not in r.getMessage()]
    assert len(lines) <= 10, [r.getMessage()[:80] for r in lines]
