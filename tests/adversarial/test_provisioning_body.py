"""Issue 15, item 2 (and the hostile provisioning servers around it), over real sockets.

The red team's case: a valid 181-byte file sent in two writes 300 ms apart was
stored at 42 bytes and "applied". Here a raw TCP server on 127.0.0.1 writes the
exact bytes; the phone's fetcher must take all 181 or nothing. Then the servers a
phone should not trust with its memory or its time: a body that never ends
(chunked, no length), a body above the cap, one that trickles past the timeout.
Item 16 (a full disk) is tests/net/test_provisioning_faults.py; item 17 (the
check on a thread) is tests/bench/bench_provisioning_stall.py, as a figure.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from deskphone.net.provisioning import check_files
from deskphone.net.provisioning_fetch import MAX_FILE, Fetcher, ProvisioningError, target_for

FILE = (b"#!version:1.0.0.1\nfeatures.dnd.enable = 1\nforward.always.target = 500\n"
        b"forward.always.enable = 1\ncall_waiting.enable = 0\n"
        b"# the red team's file: 181 bytes\n")
FILE += b"#" * (181 - len(FILE) - 1) + b"\n"


async def serve(script):
    """A raw HTTP server on 127.0.0.1 whose every connection runs ``script(writer)``."""
    tasks: list[asyncio.Task] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tasks.append(asyncio.current_task())
        try:
            await reader.readuntil(b"\r\n\r\n")
            await script(writer)
        except (asyncio.CancelledError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    return server, tasks


async def fetch(server, timeout: float = 5.0) -> bytes | None:
    port = server.sockets[0].getsockname()[1]
    async with Fetcher(target_for(f"http://127.0.0.1:{port}/", "", ""), timeout=timeout) as f:
        return await f.get("y000000000000.cfg")


async def test_181_bytes_in_two_writes_300_ms_apart_arrive_whole():
    assert len(FILE) == 181

    async def two_writes(writer):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 181\r\n\r\n"
                     + FILE[:42])
        await writer.drain()
        await asyncio.sleep(0.3)
        writer.write(FILE[42:])
        await writer.drain()

    server, _ = await serve(two_writes)
    async with server:
        assert await fetch(server) == FILE
    texts, report = check_files({"y000000000000.cfg": FILE})
    assert not report.refused and not report.problems


async def test_42_of_181_bytes_then_close_applies_nothing():
    async def cut(writer):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 181\r\n\r\n" + FILE[:42])
        await writer.drain()

    server, _ = await serve(cut)
    async with server:
        with pytest.raises(ProvisioningError, match="nothing applied"):
            await fetch(server)


async def test_a_body_without_end_or_length_stops_at_the_cap():
    async def endless(writer):
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"#" * 65536
        while True:
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()

    server, tasks = await serve(endless)
    async with server:
        with pytest.raises(ProvisioningError, match="larger than 1024 KiB"):
            await fetch(server)
        for task in tasks:
            task.cancel()


async def test_a_content_length_above_the_cap_is_refused_before_reading():
    async def big(writer):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (MAX_FILE + 1))
        await writer.drain()
        await asyncio.Event().wait()             # sends nothing more: only the header counts

    server, tasks = await serve(big)
    async with server:
        with pytest.raises(ProvisioningError, match="larger than 1024 KiB"):
            await fetch(server)
        for task in tasks:
            task.cancel()


async def test_a_trickling_server_is_cut_at_the_timeout():
    async def trickle(writer):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        while True:
            writer.write(b"#")
            await writer.drain()
            await asyncio.sleep(0.05)

    server, tasks = await serve(trickle)
    async with server:
        started = time.monotonic()
        with pytest.raises(ProvisioningError, match="no answer within 1 s"):
            await fetch(server, timeout=1.0)
        assert time.monotonic() - started < 3            # bounded: the timeout, not the body
        for task in tasks:
            task.cancel()
