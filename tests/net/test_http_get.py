"""net/http_get.py, the Action URL sender's HTTP/1.1 client, against real servers on 127.0.0.1.

Two kinds of server: aiohttp's (what most receivers are built on: Python, or any
well-behaved HTTP/1.1 server) and a scripted one that answers each request with
the bytes a test gives it, to play the receivers that answer oddly or hostilely.
"""

from __future__ import annotations

import asyncio
import base64

import pytest
import yarl
from aiohttp import web

from deskphone.net import http_get
from deskphone.net.http_get import HttpGetClient, HttpGetError

UA = "deskphone/test"


class Scripted:
    """Answers the Nth request head with ``answers[N]`` (bytes); ``None`` closes instead."""

    def __init__(self, answers: list[bytes | None], close_after: bool = False) -> None:
        self.answers = list(answers)
        self.close_after = close_after
        self.heads: list[bytes] = []
        self.connections = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while self.answers:
                head = await reader.readuntil(b"\r\n\r\n")
                self.heads.append(head)
                answer = self.answers.pop(0)
                if answer is None:
                    break
                writer.write(answer)
                await writer.drain()
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        for w in self.writers:
            w.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def url(base: str, path: str = "/e?mac=001565000001") -> yarl.URL:
    return yarl.URL(base + path, encoded=True)


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@pytest.fixture
async def client():
    c = HttpGetClient(UA, body_limit=1024)
    yield c
    await c.close()


async def test_keep_alive_against_aiohttp_and_what_the_receiver_sees(client):
    seen = []

    async def handle(request: web.Request) -> web.Response:
        seen.append((request.raw_path, dict(request.headers)))
        return web.Response(text="ok")
    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        for i in range(3):
            answer = await client.get(url(f"http://127.0.0.1:{port}", f"/e?n={i}&v=%2F%20"))
            assert answer.status == 200
        assert client.connections_made == 1            # one connection, kept
        path, headers = seen[0]
        assert path == "/e?n=0&v=%2F%20"                # the bytes as given, not re-quoted
        assert headers["Host"] == f"127.0.0.1:{port}"
        assert headers["User-Agent"] == UA and headers["Accept"] == "*/*"
        assert "Authorization" not in headers
    finally:
        await runner.cleanup()


async def test_credentials_in_the_url_go_as_basic_and_the_host_header_drops_them():
    server = Scripted([OK])
    base = await server.start()
    c = HttpGetClient(UA)
    try:
        host = base.split("//")[1]
        await c.get(url(f"http://alice:p%40ss@{host}", "/x"))
        head = server.heads[0].decode()
        assert f"\r\nHost: {host}\r\n" in head
        assert "Authorization: Basic " + base64.b64encode(b"alice:p@ss").decode() in head
    finally:
        await c.close()
        await server.stop()


def test_the_host_header_of_a_default_port_and_of_an_ipv6_literal():
    c = HttpGetClient(UA)
    assert b"\r\nHost: pbx.test\r\n" in c._request_bytes(yarl.URL("http://pbx.test:80/a"))
    assert b"\r\nHost: pbx.test\r\n" in c._request_bytes(yarl.URL("https://pbx.test/a"))
    assert b"\r\nHost: [::1]:8080\r\n" in c._request_bytes(yarl.URL("http://[::1]:8080/a"))
    assert c._request_bytes(yarl.URL("http://h.test")).startswith(b"GET / HTTP/1.1\r\n")


async def test_chunked_with_extensions_and_trailers_is_read_and_the_connection_kept(client):
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"4;name=x\r\nabcd\r\n3\r\nefg\r\n0\r\nX-Trailer: 1\r\n\r\n")
    server = Scripted([chunked, OK])
    base = await server.start()
    try:
        assert (await client.get(url(base))).status == 200
        assert (await client.get(url(base))).status == 200
        assert server.connections == 1 and client.connections_made == 1
    finally:
        await server.stop()


async def test_an_answer_until_the_close_is_taken_and_the_connection_not_kept(client):
    server = Scripted([b"HTTP/1.1 200 OK\r\n\r\nsome body", OK], close_after=True)
    base = await server.start()
    try:
        assert (await client.get(url(base))).status == 200
        assert client.idle == 0
        assert (await client.get(url(base))).status == 200
        assert client.connections_made == 2
    finally:
        await server.stop()


async def test_a_body_past_the_limit_ends_the_answer_and_the_connection(client):
    big = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000
    server = Scripted([big])
    base = await server.start()
    try:
        answer = await asyncio.wait_for(client.get(url(base)), 5)
        assert answer.status == 200 and client.idle == 0
    finally:
        await server.stop()


async def test_an_interim_100_is_skipped_and_connection_close_is_obeyed(client):
    server = Scripted([b"HTTP/1.1 100 Continue\r\n\r\n"
                       b"HTTP/1.1 302 Found\r\nLocation: /next\r\nConnection: close\r\n"
                       b"Content-Length: 0\r\n\r\n"])
    base = await server.start()
    try:
        answer = await client.get(url(base))
        assert (answer.status, answer.location) == (302, "/next")
        assert client.idle == 0
    finally:
        await server.stop()


async def test_http_1_0_without_keep_alive_is_not_kept(client):
    server = Scripted([b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"])
    base = await server.start()
    try:
        assert (await client.get(url(base))).status == 200 and client.idle == 0
    finally:
        await server.stop()


@pytest.mark.parametrize("answer, why", [
    (b"HTTP/1.1 200 OK\r\nX: " + b"y" * 20000 + b"\r\n\r\n", "header longer than"),
    (b"X" * 20000, "header longer than"),                          # no head end at all
    (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "not an HTTP/1.x status line"),
    (b"HTTP/1.1 2000 OK\r\n\r\n", "not an HTTP/1.x status line"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", "Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "Content-Length"),
    (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "bad header line"),
    (b"HTTP/1.1 200 OK\r\n Folded: x\r\n\r\n", "bad header line"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1" * 5000, "chunk size line"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nonly5", "closed mid-answer"),
])
async def test_a_broken_or_hostile_answer_is_a_clear_error_and_nothing_is_kept(answer, why, client):
    server = Scripted([answer], close_after=True)
    base = await server.start()
    try:
        with pytest.raises(HttpGetError, match=why) as caught:
            await asyncio.wait_for(client.get(url(base)), 5)
        assert str(caught.value).startswith("bad answer: ")
        assert client.idle == 0
    finally:
        await server.stop()


async def test_a_kept_connection_the_receiver_closed_costs_one_retry_on_a_new_one(client):
    server = Scripted([OK, None, OK])          # answers, then closes on the next request
    base = await server.start()
    try:
        assert (await client.get(url(base))).status == 200
        assert (await client.get(url(base))).status == 200
        assert client.connections_made == 2 and len(server.heads) == 3
    finally:
        await server.stop()


async def test_a_new_connection_closed_without_an_answer_is_not_retried(client):
    server = Scripted([None, OK])
    base = await server.start()
    try:
        with pytest.raises(HttpGetError, match="closed the connection without an answer"):
            await client.get(url(base))
        assert len(server.heads) == 1
    finally:
        await server.stop()


async def test_bytes_on_an_idle_connection_drop_it(client):
    server = Scripted([OK + b"HTTP/1.1 200 OK\r\n\r\n", OK])     # one answer too many
    base = await server.start()
    try:
        assert (await client.get(url(base))).status == 200
        assert client.idle == 0                  # more than the answer: not trusted again
        assert (await client.get(url(base))).status == 200
        assert client.connections_made == 2
    finally:
        await server.stop()


async def test_a_cancelled_request_closes_its_connection(client):
    server = Scripted([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", OK])  # stays open
    base = await server.start()
    try:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await client.get(url(base))
        assert client.idle == 0 and not client._busy
    finally:
        await server.stop()


async def test_idle_connections_are_bounded_per_host_and_expire(client, monkeypatch):
    server = Scripted([OK] * 40)
    base = await server.start()
    try:
        await asyncio.gather(*(client.get(url(base)) for _ in range(12)))
        assert client.idle == http_get.MAX_IDLE_PER_HOST
        now = [0.0]
        client._clock = lambda: now[0]
        for conns in client._idle.values():
            for conn in conns:
                conn.idle_since = 0.0
        now[0] = http_get.IDLE_SECONDS + 1          # all of them too old to trust
        made = client.connections_made
        assert (await client.get(url(base))).status == 200
        assert client.connections_made == made + 1 and client.idle == 1
    finally:
        await server.stop()


async def test_refused_and_unresolvable_are_said_so(client):
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    with pytest.raises(HttpGetError, match="^connection refused$"):
        await client.get(yarl.URL(f"http://127.0.0.1:{port}/x"))
    with pytest.raises(HttpGetError, match="cannot resolve host name receiver.invalid"):
        await client.get(yarl.URL("http://receiver.invalid/x"))


async def test_start_now_writes_on_a_kept_connection_before_any_await(client):
    server = Scripted([OK, OK, OK])
    base = await server.start()
    try:
        assert client.start_now(url(base)) is None          # nothing kept yet: get() connects
        assert (await client.get(url(base))).status == 200
        written = []
        started = client.start_now(url(base), on_written=lambda: written.append(True))
        assert started is not None and written == [True]    # out in this very turn
        assert (await client.finish(started)).status == 200
        assert client.connections_made == 1 and len(server.heads) == 2
        assert client.start_now(url(base.replace("http:", "https:"))) is None   # no context yet
    finally:
        await server.stop()


async def test_forget_closes_the_kept_connections_to_one_receiver_only(client):
    one, two = Scripted([OK, OK]), Scripted([OK])
    base1, base2 = await one.start(), await two.start()
    try:
        await client.get(url(base1))
        await client.get(url(base2))
        assert client.idle == 2
        host, port = base1.split("//")[1].split(":")
        client.forget("http", host, int(port))
        assert client.idle == 1
        assert (await client.get(url(base1))).status == 200
        assert client.connections_made == 3                 # base1 again, on a new one
    finally:
        await one.stop()
        await two.stop()
