"""The Action URL sender's HTTP/1.1 client: GET only, kept-alive connections, TLS, bounded.

Why not aiohttp's ``ClientSession``: an Action URL is one GET whose answer is
only looked at for its status and ``Location``, and aiohttp's client spends
about 65 us of CPU more per request than this (one GET to a local aiohttp
server, client and server together: 116 against 51 us on a 2-core x86 machine;
several times that on a Pi), most of it before the request is written. That
is the latency a remote key's event waits for.

What it does: ``GET`` with ``Host``, ``User-Agent``, ``Accept`` and, when the
URL has ``user:password@``, Basic credentials (as aiohttp sends them). Each
connection (``http_answer.py``) reads the answer's head and its body framing,
bounded, and throws the body away. A connection whose answer allows it is kept
for the next request to the same scheme, host, port and TLS settings (at most
``MAX_IDLE_PER_HOST`` each and
``MAX_IDLE`` in all, none idle longer than ``IDLE_SECONDS``). A kept connection
that the receiver has closed meanwhile costs one retry on a new connection,
and only when nothing of an answer came (a GET may be repeated).

Every failure is an ``HttpGetError`` whose text is the reason the sender logs.
The caller bounds the time (``asyncio.timeout``); a request cancelled half-way
closes its connection.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
import time
from dataclasses import dataclass

import yarl

from .http_answer import Answer, ClosedUnanswered, Connection, HttpGetError

MAX_IDLE_PER_HOST = 8
MAX_IDLE = 64
IDLE_SECONDS = 30.0

_KeyT = tuple[str, str, int, object]


@dataclass(eq=False)
class Started:
    """A request already written on a kept connection (``start_now``); ``finish`` it."""
    key: tuple
    url: yarl.URL
    context: ssl.SSLContext | None
    data: bytes
    conn: Connection
    waiter: asyncio.Future[Answer]


class HttpGetClient:
    def __init__(self, user_agent: str, *, body_limit: int = 64 * 1024,
                 clock=time.monotonic) -> None:
        self.user_agent = user_agent
        self.body_limit = body_limit
        self._clock = clock
        self._idle: dict[_KeyT, list[Connection]] = {}
        self._busy: set[Connection] = set()
        self._default_tls: ssl.SSLContext | None = None
        self._unverified: ssl.SSLContext | None = None
        self.connections_made = 0

    async def get(self, url: yarl.URL, tls: bool | ssl.SSLContext = True,
                  on_written=None) -> Answer:
        """GET ``url`` (http or https); ``tls``: verify with the system CAs (True), do not
        verify (False), or this context. ``on_written`` is called once the request is out."""
        context = await self._context(tls) if url.scheme == "https" else None
        key = self._key(url, context)
        data = self._request_bytes(url)
        conn = self._take(key)
        if conn is None:
            return await self._fresh(key, url, context, data, on_written)
        return await self.finish(Started(key, url, context, data, conn,
                                         self._send(conn, data, on_written)), on_written)

    def start_now(self, url: yarl.URL, tls: bool | ssl.SSLContext = True,
                  on_written=None) -> Started | None:
        """Write the GET in this turn of the loop, no await, if a kept connection to its
        receiver is idle (and an https context is at hand): the common case of a receiver
        the phone talks to. None otherwise (``get`` then does all of it)."""
        context = None
        if url.scheme == "https":
            context = tls if isinstance(tls, ssl.SSLContext) \
                else self._default_tls if tls else self._unverified
            if context is None:
                return None
        key = self._key(url, context)
        conn = self._take(key)
        if conn is None:
            return None
        try:
            data = self._request_bytes(url)
        except HttpGetError:
            self._keep(key, conn)
            return None                     # get() says what is wrong with it
        return Started(key, url, context, data, conn, self._send(conn, data, on_written))

    async def finish(self, started: Started, on_written=None) -> Answer:
        """The answer to a request ``start_now`` wrote (a retry on a new connection when
        the kept one had been closed by the receiver)."""
        conn = started.conn
        try:
            answer, keep = await conn.receive(started.waiter)
        except ClosedUnanswered:           # kept too long by us, closed by the receiver
            return await self._fresh(started.key, started.url, started.context, started.data,
                                     on_written)
        finally:
            self._busy.discard(conn)
        if keep:
            self._keep(started.key, conn)
        return answer

    async def _fresh(self, key: _KeyT, url: yarl.URL, context: ssl.SSLContext | None,
                     data: bytes, on_written) -> Answer:
        conn = await self._connect(url.raw_host or "", key[2], context)
        self._busy.add(conn)
        try:
            answer, keep = await conn.request(data, on_written)
        finally:
            self._busy.discard(conn)
        if keep:
            self._keep(key, conn)
        return answer

    def _send(self, conn: Connection, data: bytes, on_written) -> asyncio.Future[Answer]:
        self._busy.add(conn)
        return conn.send(data, on_written)

    @staticmethod
    def _key(url: yarl.URL, context: ssl.SSLContext | None) -> _KeyT:
        port = url.port or (443 if url.scheme == "https" else 80)
        return (url.scheme, url.raw_host or "", port, id(context) if context is not None else None)

    async def close(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.abort()
        self._idle.clear()
        for conn in list(self._busy):
            conn.abort()
        self._busy.clear()

    def forget(self, scheme: str, host: str, port: int | None) -> None:
        """Close the kept connections to this receiver (its sender has gone idle)."""
        port = port or (443 if scheme == "https" else 80)
        for key in [k for k in self._idle if k[:3] == (scheme, host, port)]:
            for conn in self._idle.pop(key):
                conn.abort()

    @property
    def idle(self) -> int:
        return sum(len(c) for c in self._idle.values())

    # -- helpers

    def _request_bytes(self, url: yarl.URL) -> bytes:
        target, hostport = url.raw_path_qs or "/", url.host_port_subcomponent or ""
        if any(c in part for part in (target, hostport) for c in "\r\n\0 \t"):
            raise HttpGetError("bad URL: white space or control characters in it")
        lines = [f"GET {target} HTTP/1.1", f"Host: {hostport}",
                 f"User-Agent: {self.user_agent}", "Accept: */*"]
        if url.user is not None:
            pair = f"{url.user}:{url.password or ''}"
            try:
                raw = pair.encode("latin-1")
            except UnicodeEncodeError:
                raw = pair.encode("utf-8")
            lines.append("Authorization: Basic " + base64.b64encode(raw).decode("ascii"))
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")

    async def _context(self, tls: bool | ssl.SSLContext) -> ssl.SSLContext:
        if isinstance(tls, ssl.SSLContext):
            return tls
        if tls:
            if self._default_tls is None:   # loading the system CAs reads files: a thread
                self._default_tls = await asyncio.to_thread(ssl.create_default_context)
            return self._default_tls
        if self._unverified is None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            self._unverified = context
        return self._unverified

    async def _connect(self, host: str, port: int,
                       context: ssl.SSLContext | None) -> Connection:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await loop.create_connection(
                lambda: Connection(self.body_limit), host, port, ssl=context,
                server_hostname=host if context is not None else None)
        except ssl.SSLCertVerificationError as exc:
            detail = getattr(exc, "verify_message", "") or ""
            raise HttpGetError(f"certificate verify failed: {detail}".rstrip(": ")) from None
        except ssl.SSLError as exc:
            raise HttpGetError(f"TLS error: {exc.reason or exc}") from None
        except socket.gaierror:
            raise HttpGetError(f"cannot resolve host name {host}") from None
        except ConnectionRefusedError:
            raise HttpGetError("connection refused") from None
        except OSError as exc:
            raise HttpGetError(f"cannot connect: {exc.strerror or exc}") from None
        self.connections_made += 1
        return conn

    def _take(self, key: _KeyT) -> Connection | None:
        conns = self._idle.get(key)
        now = self._clock()
        while conns:
            conn = conns.pop()
            if not conn.closed and now - conn.idle_since < IDLE_SECONDS:
                return conn
            conn.abort()
        self._idle.pop(key, None)
        return None

    def _keep(self, key: _KeyT, conn: Connection) -> None:
        now = self._clock()
        conn.idle_since = now
        conns = self._idle.setdefault(key, [])
        conns.append(conn)
        if len(conns) > MAX_IDLE_PER_HOST:
            conns.pop(0).abort()
        if self.idle > MAX_IDLE:            # the longest idle, whichever host it was for
            oldest_key = min(self._idle, key=lambda k: self._idle[k][0].idle_since
                             if self._idle[k] else now)
            if self._idle[oldest_key]:
                self._idle[oldest_key].pop(0).abort()
        for k in [k for k, c in self._idle.items() if not c or all(x.closed for x in c)]:
            del self._idle[k]
