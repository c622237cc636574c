"""Fault injection: Action URL receivers that fail in every way, while a person uses the phone.

The whole phone (simulated board) sends the DND events (F1 toggles DND) to a
receiver that is broken in one way per test: refused, accept-and-hang, a slow
trickle, 500, HTTPS with a certificate nobody vouches for, a host name that
does not resolve (answered here, no DNS query leaves the machine). Each F1
press is also a screen change, so while the broken receiver holds its requests
the time from the key to the new frame is measured. Checked: the phone stays
responsive (input-to-screen median under 50 ms, none over 500 ms: generous, a
loaded 2-core machine renders a frame in about a millisecond), and each
failed event costs exactly one log line that names it and the reason.

tests/net/test_action_url.py checks the same failures on the sender alone;
tests/integration/test_unhealthy_receivers.py that a healthy receiver is not
delayed by a broken one.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import statistics
import subprocess
import time

import pytest
from aiohttp import web

from support.phone import start_phone
from support.raw_server import start_raw_server

PRESSES = 6


@pytest.fixture(scope="module")
def bad_certificate(tmp_path_factory) -> ssl.SSLContext:
    folder = tmp_path_factory.mktemp("badtls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
         "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


REASONS = {
    "refused": "connection refused",
    "hang": "timed out after 1.0 s",
    "trickle": "timed out after 1.0 s",
    "500": "HTTP 500",
    "bad-certificate": "certificate verify failed",
    "unresolvable": "cannot resolve host name receiver.invalid",
}


@pytest.mark.parametrize("kind", list(REASONS))
async def test_a_broken_receiver_costs_a_line_per_event_and_no_responsiveness(
        kind, tmp_path, receiver, caplog, monkeypatch, bad_certificate):
    caplog.set_level(logging.WARNING, "deskphone.action_url")
    cleanup = []
    tasks: list[asyncio.Task] = []
    if kind == "refused":
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))                 # bound, not listening: refused
        cleanup.append(sock.close)
        bad = f"http://127.0.0.1:{sock.getsockname()[1]}"
    elif kind in ("hang", "trickle"):
        server = await start_raw_server(kind, tasks)
        cleanup.append(server.close)
        bad = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    elif kind in ("500", "bad-certificate"):
        async def fail(request: web.Request) -> web.Response:
            return web.Response(status=500)

        app = web.Application()
        app.router.add_get("/{tail:.*}", fail)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        context = bad_certificate if kind == "bad-certificate" else None
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        cleanup.append(runner.cleanup)
        bad = f"{'https' if context else 'http'}://127.0.0.1:{runner.addresses[0][1]}"
    else:
        loop = asyncio.get_running_loop()
        real = loop.getaddrinfo

        async def resolve_locally(host, *args, **kwargs):
            if str(host).endswith(".invalid"):
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return await real(host, *args, **kwargs)
        monkeypatch.setattr(loop, "getaddrinfo", resolve_locally)
        bad = "http://receiver.invalid"

    phone = await start_phone(tmp_path, receiver.base, extra="deskphone.action_url.timeout = 1",
                              url_for={"dnd_on": bad + "/dnd_on?mac=$mac",
                                       "dnd_off": bad + "/dnd_off?mac=$mac"})
    try:
        await receiver.wait("setup_completed")
        shown = asyncio.Event()
        phone.display.listeners.append(lambda frame: shown.set())
        latencies = []
        for _ in range(PRESSES):
            shown.clear()
            t0 = time.monotonic()
            phone.keypad.press("F1")                # DND on / off: an event and a new screen
            await asyncio.wait_for(shown.wait(), 2)
            latencies.append(time.monotonic() - t0)
            await asyncio.sleep(0.05)
        # A healthy receiver of another event is not held up either.
        t0 = time.monotonic()
        phone.keypad.press("SPEAKER")
        hit = await receiver.wait("handfree", after=t0)
        assert hit.at - t0 < 0.5
        assert await phone.sender.drain(5), "the failed requests did not end"
    finally:
        await phone.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for close in cleanup:
            result = close()
            if asyncio.iscoroutine(result):
                await result
    assert statistics.median(latencies) < 0.05, latencies
    assert max(latencies) < 0.5, latencies
    failures = [r.getMessage() for r in caplog.records
                if r.name == "deskphone.action_url" and "failed" in r.getMessage()]
    assert len(failures) == PRESSES, failures            # one line per failed event
    assert all(REASONS[kind] in line for line in failures), failures
    names = [("Open DND" if n % 2 == 0 else "Close DND") for n in range(PRESSES)]
    assert sorted(names) == sorted(line.split(" failed")[0].removeprefix("Action URL ")
                                   for line in failures)
    assert all(r.exc_info is None for r in caplog.records if r.name == "deskphone.action_url")
