"""SIGTERM while the phone is busy: in a call, in a burst of Action URLs, mid-download: out in 2 s.

``deskphone run`` (simulated board) as systemd starts it. systemd sends SIGTERM
and, after ``TimeoutStopSec``, SIGKILL; the phone must not need the second.
Each test makes the phone busy in one way through its real doors (Action URI
over HTTP), sends SIGTERM and checks: exit status 0 within 2 s, the runtime
state still loads, and no child process is left.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from deskphone.config.store import StateStore
from support.daemon import PhoneProcess
from support.phone import BOARD, write_config
from support.waiting import until

TRUSTED = ("features.action_uri_limit_ip = 127.0.0.1\n"
           "features.show_action_uri_option = 0\n")


def make_phone(tmp: Path, receiver_base: str, extra: str = "",
               url_for: dict[str, str] | None = None) -> PhoneProcess:
    board = tmp / "board.toml"
    board.write_text(BOARD.format(password=""))
    write_config(tmp / "config", receiver_base, TRUSTED + extra, url_for)
    return PhoneProcess(tmp, board)


async def key(phone: PhoneProcess, value: str) -> int:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{phone.http_port}/servlet?key={value}") as r:
            return r.status


async def terminate(phone: PhoneProcess) -> float:
    """SIGTERM; seconds until the process is gone (waited for off the event loop)."""
    assert phone.proc is not None
    t0 = time.monotonic()
    phone.proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.to_thread(phone.proc.wait, 5)
    finally:
        phone.kill()
    return time.monotonic() - t0


def check_after(phone: PhoneProcess, took: float) -> None:
    assert took < 2.0, f"SIGTERM to exit took {took:.2f} s"
    assert phone.proc is not None and phone.proc.returncode == 0, phone.log.read_text()[-2000:]
    StateStore(phone.tmp / "state").load()          # the runtime state still reads
    assert "Traceback" not in phone.log.read_text()


async def test_sigterm_during_a_call(tmp_path, receiver):
    phone = make_phone(tmp_path, receiver.base)
    await asyncio.to_thread(phone.start)
    try:
        await receiver.wait("setup_completed")
        assert await key(phone, "DNDOn") == 200     # something to save on the way out
        assert await key(phone, "number=201") == 200
        await receiver.wait("call_established", timeout=5)
        took = await terminate(phone)
    finally:
        phone.kill()
    check_after(phone, took)
    assert StateStore(tmp_path / "state").load().get("features.dnd.enable") is True


async def test_sigterm_during_a_burst_of_action_urls_to_a_hanging_receiver(tmp_path, receiver):
    writers: list[asyncio.StreamWriter] = []

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)                      # accept, read nothing, answer nothing

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    stuck = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    phone = make_phone(tmp_path, receiver.base, "deskphone.action_url.timeout = 60\n",
                       url_for={"dnd_on": stuck + "/on", "dnd_off": stuck + "/off"})
    await asyncio.to_thread(phone.start)
    try:
        await receiver.wait("setup_completed")
        for n in range(40):                         # 40 events: 8 in flight, the rest queued
            assert await key(phone, "DNDOn" if n % 2 == 0 else "DNDOff") == 200
        await until(lambda: len(writers) >= 8, 5, "8 requests in flight")
        took = await terminate(phone)
    finally:
        phone.kill()
        for w in writers:
            w.close()
        server.close()
    check_after(phone, took)
    assert "dropped at shutdown" in phone.log.read_text()


async def test_sigterm_during_a_provisioning_download(tmp_path, receiver):
    started = asyncio.Event()

    async def trickle(request: web.Request) -> web.StreamResponse:
        started.set()
        response = web.StreamResponse(headers={"Content-Length": "100000"})
        await response.prepare(request)
        for _ in range(1000):
            await response.write(b"#")
            await asyncio.sleep(0.1)
        return response

    app = web.Application()
    app.router.add_get("/{tail:.*}", trickle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/prov/"
    phone = make_phone(tmp_path, receiver.base, f"static.auto_provision.server.url = {url}\n")
    await asyncio.to_thread(phone.start)
    try:
        await receiver.wait("setup_completed")
        assert await key(phone, "AutoP") == 200
        await asyncio.wait_for(started.wait(), 5)   # the download is under way
        await asyncio.sleep(0.2)
        took = await terminate(phone)
    finally:
        phone.kill()
        await runner.cleanup()
    check_after(phone, took)
    from deskphone.net.provisioning import PROVISIONED
    assert not (tmp_path / "state" / PROVISIONED).exists()     # nothing half-installed
    assert "auto provisioning from" in phone.log.read_text()


@pytest.fixture(autouse=True)
def _no_leftovers(tmp_path):
    yield
    from support.sip_lab import processes_mentioning
    assert processes_mentioning(str(tmp_path / "state")) == []
