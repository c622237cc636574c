"""ActionUrlSender against real receivers on 127.0.0.1 (and a name under .invalid)."""

from __future__ import annotations

import asyncio
import base64
import gc
import logging
import socket
import ssl
import subprocess
import time
import warnings
from dataclasses import dataclass

import pytest
from aiohttp import web

from deskphone import __version__
from deskphone.net.action_url import ActionUrlSender, redact
from support.raw_server import start_raw_server

LOGGER = "deskphone.action_url"


# --- receivers ------------------------------------------------------------------

@dataclass
class Hit:
    at: float
    raw_path: str
    query: object           # MultiDict, as the receiver's parser decoded it
    headers: object


class Recorder:
    """An aiohttp handler that records what arrives, optionally slow, failing or gated."""

    def __init__(self, *, status: int = 200, delay: float = 0.0, gate: asyncio.Event | None = None):
        self.status, self.delay, self.gate = status, delay, gate
        self.hits: list[Hit] = []
        self._changed = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.hits.append(Hit(time.monotonic(), request.raw_path, request.query.copy(),
                             request.headers.copy()))
        self._changed.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.Response(status=self.status, text="ok")

    async def wait_for(self, count: int, timeout: float = 3.0) -> list[Hit]:
        async with asyncio.timeout(timeout):
            while len(self.hits) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.hits


@pytest.fixture
async def serve():
    """serve(recorder, ssl_context=None) -> base URL of a running aiohttp receiver."""
    runners = []

    async def start(recorder: Recorder, ssl_context: ssl.SSLContext | None = None) -> str:
        app = web.Application()
        app.router.add_get("/{tail:.*}", recorder.handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        return f"{'https' if ssl_context else 'http'}://127.0.0.1:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def raw_server():
    """raw_server(behaviour) -> base URL of a TCP server that hangs or trickles."""
    servers, tasks = [], []

    async def start(behaviour: str) -> str:
        server = await start_raw_server(behaviour, tasks)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for server in servers:
        server.close()
        await server.wait_closed()


@pytest.fixture
def dead_url():
    """A port bound but not listening: connecting is refused, and nobody else can take it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


@pytest.fixture
async def make_sender():
    senders = []

    async def make(urls: dict[str, str], **settings) -> ActionUrlSender:
        sender = ActionUrlSender(lambda event: urls.get(event, ""), **settings)
        await sender.start()
        senders.append(sender)
        return sender

    yield make
    for sender in senders:
        await sender.close()


def failure_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING]


def sender_tasks() -> list[asyncio.Task]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("action-url")]


# --- what arrives ------------------------------------------------------------------

async def test_values_arrive_intact_at_the_receiver(serve, make_sender):
    receiver = Recorder()
    base = await serve(receiver)
    template = (base + "/help.xml?name=$display_remote&num=$calledNumber&mac=\\$mac"
                "&cid=$call_id&other=$foo")
    sender = await make_sender({"incoming_call": template})
    name = "A&B=C #1 %+ x"
    sender.submit("incoming_call", {"display_remote": name, "mac": "001565aabbcc",
                                    "call_id": "abc@10.0.0.1"})
    [hit] = await receiver.wait_for(1)
    assert hit.query.getall("name") == [name]
    assert hit.query.getall("num") == [""]
    assert hit.query.getall("mac") == ["001565aabbcc"]
    assert hit.query.getall("cid") == ["abc@10.0.0.1"]
    assert hit.query.getall("other") == ["$foo"]
    assert set(hit.query) == {"name", "num", "mac", "cid", "other"}
    assert hit.headers["User-Agent"] == f"deskphone/{__version__}"
    assert await sender.drain(1)
    [delivery] = sender.deliveries
    assert (delivery.event, delivery.status, delivery.error) == ("incoming_call", 200, "")
    assert delivery.event_name == "Incoming Call"


async def test_url_bytes_are_sent_as_expanded(serve, make_sender):
    receiver = Recorder()
    base = await serve(receiver)
    # Existing escapes stay; raw spaces and non-ASCII in the template are encoded.
    sender = await make_sender({"dnd_on": base + "/p%41th/x y?q=%2F&t=ü&ip=$ip&bad=%zz"})
    sender.submit("dnd_on", {"ip": "10.0.0.2"})
    [hit] = await receiver.wait_for(1)
    assert hit.raw_path == "/p%41th/x%20y?q=%2F&t=%C3%BC&ip=10.0.0.2&bad=%25zz"
    assert hit.query.getall("q") == ["/"]


async def test_event_without_url_sends_nothing(make_sender):
    sender = await make_sender({})
    sender.submit("dnd_on", {})
    assert await sender.drain(0.1)
    assert not sender.deliveries and not sender_tasks()


async def test_credentials_are_sent_but_never_logged(serve, make_sender, dead_url, caplog):
    receiver = Recorder()
    base = await serve(receiver)
    sender = await make_sender({
        "dnd_on": base.replace("://", "://alice:s3cret@") + "/x",
        "dnd_off": dead_url.replace("://", "://alice:s3cret@") + "/x",
    })
    caplog.set_level(logging.DEBUG, LOGGER)
    sender.submit("dnd_on", {})
    sender.submit("dnd_off", {})
    [hit] = await receiver.wait_for(1)
    assert hit.headers["Authorization"] == "Basic " + base64.b64encode(b"alice:s3cret").decode()
    assert await sender.drain(2)
    assert "s3cret" not in caplog.text and "alice:***@" in caplog.text
    assert all("s3cret" not in d.url for d in sender.deliveries)


@pytest.mark.parametrize("url, shown", [
    ("http://user:pw@host/x?a=1", "http://user:***@host/x?a=1"),
    ("https://user:p@ss:w@host:8443/", "https://user:***@host:8443/"),
    ("http://user@host/", "http://user@host/"),
    ("http://host/path?u=a:b@c", "http://host/path?u=a:b@c"),
    ("not a url", "not a url"),
])
def test_redact(url, shown):
    assert redact(url) == shown


# --- failures cost one log line and delay nobody else --------------------------------

@pytest.mark.parametrize("kind, reason", [
    ("down", "connection refused"),
    ("hang", "timed out after 1.0 s"),
    ("trickle", "timed out after 1.0 s"),
    ("500", "HTTP 500"),
])
async def test_bad_receiver_costs_one_line_and_delays_nobody(
        kind, reason, serve, raw_server, dead_url, make_sender, caplog):
    if kind == "down":
        bad = dead_url
    elif kind == "500":
        bad = await serve(Recorder(status=500))
    else:
        bad = await raw_server(kind)
    healthy = Recorder()
    good = await serve(healthy)
    sender = await make_sender({"dnd_on": bad + "/dnd?on=1", "dnd_off": good + "/dnd?on=0",
                                "mute": good + "/mute"}, timeout=1.0)
    caplog.set_level(logging.WARNING, LOGGER)

    submitted = time.monotonic()
    sender.submit("dnd_on", {})
    sender.submit("dnd_off", {})
    sender.submit("mute", {})
    hits = await healthy.wait_for(2)
    assert hits[-1].at - submitted < 0.5

    assert await sender.drain(3)
    [line] = failure_lines(caplog)
    assert "Open DND" in line.getMessage() and reason in line.getMessage()
    assert line.exc_info is None
    failed = [d for d in sender.deliveries if d.error]
    assert [(d.event, d.error) for d in failed] == [("dnd_on", reason)]


async def test_unresolvable_host(make_sender, caplog, monkeypatch):
    # Answer the lookup here, as the resolver would, so no DNS query leaves this machine.
    loop = asyncio.get_running_loop()
    real_getaddrinfo = loop.getaddrinfo

    async def resolve_locally(host, *args, **kwargs):
        if str(host).endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return await real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(loop, "getaddrinfo", resolve_locally)
    sender = await make_sender({"ip_change": "http://receiver.invalid/ip?ip=$ip"}, timeout=2.0)
    caplog.set_level(logging.WARNING, LOGGER)
    sender.submit("ip_change", {"ip": "10.0.0.2"})
    assert await sender.drain(3)
    [line] = failure_lines(caplog)
    assert "IP Changed" in line.getMessage()
    assert "cannot resolve host name receiver.invalid" in line.getMessage()
    assert line.exc_info is None


async def test_invalid_url_and_bad_settings_never_raise(make_sender, caplog):
    def url_for(event: str) -> str:
        if event == "mute":
            raise RuntimeError("settings store broken")
        return {"dnd_on": "ftp://example/x", "dnd_off": "http://h:port/x"}.get(event, "")

    sender = ActionUrlSender(url_for)
    await sender.start()
    try:
        caplog.set_level(logging.WARNING, LOGGER)
        sender.submit("dnd_on", {})
        sender.submit("dnd_off", {})
        sender.submit("mute", {})
        sender.submit("no_such_event", {})
        assert [d.event for d in sender.deliveries] == ["dnd_on", "dnd_off"]
        assert all(d.error.startswith("invalid URL") for d in sender.deliveries)
        assert len(failure_lines(caplog)) == 3
    finally:
        await sender.close()


# --- order, back-pressure, lifecycle ----------------------------------------------------

async def test_order_per_host_is_kept_under_a_burst(serve, make_sender):
    receiver = Recorder(delay=0.002)
    base = await serve(receiver)
    sender = await make_sender({"hold": base + "/e?n=$call_id"})
    for n in range(200):
        sender.submit("hold", {"call_id": str(n)})
    assert await sender.drain(10)
    assert [hit.query["n"] for hit in receiver.hits] == [str(n) for n in range(200)]


async def test_full_queue_drops_the_oldest_with_a_warning(serve, make_sender, caplog):
    gate = asyncio.Event()
    receiver = Recorder(gate=gate)
    base = await serve(receiver)
    sender = await make_sender({"hold": base + "/e?n=$call_id"}, max_pending_per_host=3)
    caplog.set_level(logging.WARNING, LOGGER)
    sender.submit("hold", {"call_id": "0"})
    await receiver.wait_for(1)                  # 0 is in flight, held by the gate
    for n in range(1, 10):
        sender.submit("hold", {"call_id": str(n)})
    lines = failure_lines(caplog)
    assert len(lines) == 6 and all("dropped" in r.getMessage() for r in lines)
    gate.set()
    assert await sender.drain(3)
    assert [hit.query["n"] for hit in receiver.hits] == ["0", "7", "8", "9"]
    assert [d.url.rsplit("=", 1)[1] for d in sender.deliveries if d.error.startswith("dropped")] \
        == ["1", "2", "3", "4", "5", "6"]


async def test_deliveries_ring_keeps_the_newest(serve, make_sender):
    receiver = Recorder()
    base = await serve(receiver)
    sender = await make_sender({"mute": base + "/m?n=$call_id"}, deliveries_kept=3)
    for n in range(5):
        sender.submit("mute", {"call_id": str(n)})
    assert await sender.drain(3)
    assert [d.url[-1] for d in sender.deliveries] == ["2", "3", "4"]


async def test_idle_workers_end_and_come_back(serve, make_sender):
    receiver = Recorder()
    base = await serve(receiver)
    sender = await make_sender({"mute": base + "/m"}, worker_idle=0.05)
    sender.submit("mute", {})
    assert await sender.drain(2)
    assert sender_tasks() and sender._client.idle == 1      # its connection kept
    await asyncio.sleep(0.2)
    assert not sender_tasks()
    assert sender._client.idle == 0                 # and closed with the idle worker
    sender.submit("mute", {})
    await receiver.wait_for(2)


async def test_events_before_start_are_sent_after_start(serve):
    receiver = Recorder()
    base = await serve(receiver)
    sender = ActionUrlSender(lambda event: base + "/s")
    sender.submit("setup_completed", {})
    await sender.start()
    try:
        await receiver.wait_for(1)
    finally:
        await sender.close()


async def test_close_with_a_hanging_receiver_is_quick_and_clean(raw_server, make_sender):
    base = await raw_server("hang")
    sender = ActionUrlSender(lambda event: base + "/x", timeout=30.0)
    await sender.start()
    sender.submit("dnd_on", {})
    sender.submit("dnd_off", {})
    await asyncio.sleep(0.1)                    # the first request is now waiting for an answer
    started = time.monotonic()
    await sender.close()
    assert time.monotonic() - started < 1.0
    assert not sender_tasks()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    assert not [w for w in caught if "Unclosed" in str(w.message)]
    sender.submit("dnd_on", {})                 # after close: logged and dropped, no raise
    assert not sender_tasks()


# --- HTTPS ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def self_signed(tmp_path_factory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True)
    return str(cert), str(key)


async def test_tls_settings_apply_to_the_next_event(self_signed, serve, make_sender, caplog):
    cert, key = self_signed
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    receiver = Recorder()
    base = await serve(receiver, server_context)
    settings = {"verify": True, "ca_file": None}
    sender = await make_sender({"mute": base + "/m?n=$call_id"}, timeout=2.0,
                               verify_tls=lambda: settings["verify"],
                               ca_file=lambda: settings["ca_file"])
    caplog.set_level(logging.WARNING, LOGGER)

    async def send(call_id: str, **change) -> None:
        settings.update(change)
        sender.submit("mute", {"call_id": call_id})
        assert await sender.drain(3)

    await send("verified")
    [line] = failure_lines(caplog)
    assert "Mute" in line.getMessage() and "certificate verify failed" in line.getMessage()
    assert not receiver.hits

    await send("unverified", verify=False)
    await send("ca_file", verify=True, ca_file=cert)
    await send("missing_ca_file", ca_file="/nonexistent/ca.pem")

    assert [hit.query["n"] for hit in receiver.hits] == ["unverified", "ca_file"]
    assert [d.status for d in sender.deliveries] == [None, 200, 200, None]
    assert "cannot use CA file /nonexistent/ca.pem" in sender.deliveries[-1].error
    assert len(failure_lines(caplog)) == 2
