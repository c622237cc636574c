"""A receiver that is down, hangs or fails costs a log line, never the next event elsewhere."""

from __future__ import annotations

import asyncio
import logging
import socket
import time

from support.phone import start_phone
from support.receiver import Receiver


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]       # nothing listens here once the socket closes


async def test_bad_receivers_do_not_delay_a_healthy_one(tmp_path, receiver, caplog):
    caplog.set_level(logging.WARNING, "deskphone.action_url")
    hang_clients: list[asyncio.StreamWriter] = []

    async def accept_and_hang(reader, writer):
        hang_clients.append(writer)

    hanging = await asyncio.start_server(accept_and_hang, "127.0.0.1", 0)
    hang_port = hanging.sockets[0].getsockname()[1]
    failing = await Receiver().start()
    failing.status = 500
    try:
        app = await start_phone(tmp_path, receiver.base, extra="deskphone.action_url.timeout = 1",
                                url_for={
                                    "off_hook": f"http://127.0.0.1:{closed_port()}/down",
                                    "on_hook": f"http://127.0.0.1:{hang_port}/hang",
                                    "dnd_on": f"{failing.base}/dnd_on",
                                })
        try:
            await receiver.wait("setup_completed")
            for action, healthy_event in ((app.hook.lift, "idle_to_busy"),
                                          (app.hook.hang_up, "busy_to_idle")):
                t0 = time.monotonic()
                action()
                hit = await receiver.wait(healthy_event, after=t0)
                assert hit.at - t0 < 0.5, f"{healthy_event} took {hit.at - t0:.3f} s"
            app.keypad.press("F1")                  # DND on: its receiver answers 500
            await failing.wait("dnd_on")
            # A later event still arrives at once while the hanging receiver holds its request.
            t0 = time.monotonic()
            app.keypad.press("SPEAKER")
            hit = await receiver.wait("handfree", after=t0)
            assert hit.at - t0 < 0.5
            assert await app.sender.drain(3)
        finally:
            await app.stop()
        failures = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
        assert any("Off Hook" in m and "refused" in m for m in failures), failures
        assert any("On Hook" in m and "timed out" in m for m in failures), failures
        assert any("Open DND" in m and "HTTP 500" in m for m in failures), failures
        assert len(failures) == 3, failures          # one line per failed event
    finally:
        for w in hang_clients:
            w.close()
        hanging.close()
        await failing.stop()
