"""The Action URL sender's HTTP/1.1 client: GET only, kept-alive connections, TLS, bounded.

Why not aiohttp's ``ClientSession``: an Action URL is one GET whose answer is
only looked at for its status and ``Location``, and aiohttp's client spends
about 65 us of CPU more per request than this (one GET to a local aiohttp
server, client and server together: 116 against 51 us on a 2-core x86 machine;
several times that on a Pi), most of it before the request is written. That
is the latency a remote key's event waits for.

What it does: ``GET`` with ``Host``, ``User-Agent``, ``Accept`` and, when the
URL has ``user:password@``, Basic credentials (as aiohttp sends them). The
answer's head (at most ``MAX_HEAD`` bytes) and body framing (length, chunked,
or until the close) are read; the body is thrown away as it arrives, up to
``body_limit`` bytes, after which the connection is closed instead of kept.
A connection whose answer allows it is kept for the next request to the same
scheme, host, port and TLS settings (at most ``MAX_IDLE_PER_HOST`` each and
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

MAX_HEAD = 16 * 1024              # status line and headers of one answer
MAX_LINE = 4 * 1024               # a chunk-size line
MAX_IDLE_PER_HOST = 8
MAX_IDLE = 64
IDLE_SECONDS = 30.0


class HttpGetError(Exception):
    """A request that got no usable answer; the text says why, for the log."""


@dataclass(frozen=True)
class Answer:
    status: int
    location: str = ""


def _head_error(why: str) -> HttpGetError:
    return HttpGetError(f"bad answer: {why}")


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection, one request at a time."""

    def __init__(self, body_limit: int) -> None:
        self.body_limit = body_limit
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self.used = 0                       # answers read on it
        self._buf = bytearray()
        self._waiter: asyncio.Future[Answer] | None = None
        self._got_bytes = False             # of the answer in progress
        self._reset()

    def _reset(self) -> None:
        self._state = "head"
        self._answer: Answer | None = None
        self._keep = False
        self._left = 0                      # body bytes (or chunk bytes) still to come
        self._seen = 0                      # body bytes thrown away so far

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport          # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            self._fail(None)                # bytes nobody asked for: not to be trusted again
            return
        self._got_bytes = True
        self._buf += data
        try:
            self._parse()
        except HttpGetError as exc:
            self._fail(exc)

    def eof_received(self) -> bool | None:
        return False                        # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            if self._state == "until close" and self._answer is not None:
                self._waiter.set_result(self._answer)
            elif self._got_bytes:
                self._waiter.set_exception(_head_error("the connection closed mid-answer"))
            else:
                self._waiter.set_exception(_ClosedUnanswered())

    # -- the request

    def send(self, data: bytes, on_written) -> asyncio.Future[Answer]:
        """Write the request now; the future is its answer (``receive`` waits for it)."""
        assert self.transport is not None and not self.closed
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        self._got_bytes = False
        self._reset()
        self.transport.write(data)
        if on_written is not None:
            on_written()
        return waiter

    async def request(self, data: bytes, on_written) -> tuple[Answer, bool]:
        """Send ``data`` and wait for the whole answer: (answer, connection reusable)."""
        return await self.receive(self.send(data, on_written))

    async def receive(self, waiter: asyncio.Future[Answer]) -> tuple[Answer, bool]:
        try:
            answer = await waiter
        except BaseException:
            self.abort()
            raise
        finally:
            self._waiter = None
        self.used += 1
        keep = self._keep and not self.closed
        self._reset()
        if not keep:
            self.abort()
        return answer, keep

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _fail(self, exc: HttpGetError | None) -> None:
        if exc is not None and self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
        self.abort()

    def _done(self) -> None:
        assert self._answer is not None and self._waiter is not None
        if self._buf:
            self._keep = False              # more than the answer: the next is not to be trusted
        if not self._waiter.done():
            self._waiter.set_result(self._answer)

    # -- parsing (all bounded; the body is never kept)

    def _parse(self) -> None:
        while True:
            state = self._state
            if state == "head":
                end = self._buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(self._buf) > MAX_HEAD:
                        raise _head_error(f"header longer than {MAX_HEAD} bytes")
                    return
                if end > MAX_HEAD:
                    raise _head_error(f"header longer than {MAX_HEAD} bytes")
                head = bytes(self._buf[:end])
                del self._buf[:end + 4]
                if not self._head(head):
                    continue                # an interim 1xx: the real answer follows
                if self._state == "done":
                    return self._done()
            elif state == "length":
                take = min(self._left, len(self._buf))
                del self._buf[:take]
                self._left -= take
                if not self._count(take):
                    return
                if self._left:
                    return
                self._state = "done"
                return self._done()
            elif state == "until close":
                take = len(self._buf)
                del self._buf[:]
                self._count(take)
                return
            elif state == "chunk size":
                end = self._buf.find(b"\r\n")
                if end < 0:
                    if len(self._buf) > MAX_LINE:
                        raise _head_error("chunk size line too long")
                    return
                line = bytes(self._buf[:end]).split(b";", 1)[0].strip()
                del self._buf[:end + 2]
                try:
                    size = int(line, 16)
                except ValueError:
                    raise _head_error("bad chunk size") from None
                if size < 0:
                    raise _head_error("bad chunk size")
                self._left = size
                self._state = "chunk" if size else "trailer"
            elif state == "chunk":
                take = min(self._left + 2, len(self._buf))   # the data and its CRLF
                del self._buf[:take]
                counted = max(0, min(take, self._left))
                self._left -= take
                if not self._count(counted):
                    return
                if self._left > -2:
                    return
                self._state = "chunk size"
            elif state == "trailer":
                end = self._buf.find(b"\r\n")
                if end < 0:
                    if len(self._buf) > MAX_HEAD:
                        raise _head_error("trailer too long")
                    return
                del self._buf[:end + 2]
                if end == 0:
                    self._state = "done"
                    return self._done()
            else:
                return

    def _count(self, n: int) -> bool:
        """Body bytes thrown away; past the limit the answer is done and the connection closed."""
        self._seen += n
        if self._seen > self.body_limit:
            self._keep = False
            self._state = "done"
            self._done()
            self.abort()
            return False
        return True

    def _head(self, head: bytes) -> bool:
        """Take one answer head; False for an interim 1xx answer."""
        try:
            text = head.decode("latin-1")
        except UnicodeDecodeError:           # pragma: no cover - latin-1 decodes every byte
            raise _head_error("undecodable header") from None
        first, *lines = text.split("\r\n")
        parts = first.split(" ", 2)
        if len(parts) < 2 or parts[0] not in ("HTTP/1.1", "HTTP/1.0") \
                or len(parts[1]) != 3 or not parts[1].isdigit():
            raise _head_error(f"not an HTTP/1.x status line: {first[:60]!r}")
        status = int(parts[1])
        if 100 <= status < 200 and status != 101:
            return False
        length: int | None = None
        chunked = False
        connection = ""
        location = ""
        for line in lines:
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip():
                raise _head_error(f"bad header line {line[:60]!r}")
            name = name.lower()
            value = value.strip()
            if name == "content-length":
                if not value.isdigit() or (length is not None and int(value) != length):
                    raise _head_error("bad Content-Length")
                length = int(value)
            elif name == "transfer-encoding":
                chunked = value.lower().split(",")[-1].strip() == "chunked"
            elif name == "connection":
                connection = value.lower()
            elif name == "location":
                location = value
        self._answer = Answer(status, location)
        http11 = parts[0] == "HTTP/1.1"
        self._keep = ("close" not in connection) if http11 else ("keep-alive" in connection)
        if status in (101, 204, 304):
            self._keep = self._keep and status != 101
            self._state = "done"
        elif chunked:
            self._state = "chunk size"
        elif length is not None:
            self._left = length
            self._state = "length" if length else "done"
        else:
            self._keep = False
            self._state = "until close"
        return True


class _ClosedUnanswered(HttpGetError):
    def __init__(self) -> None:
        super().__init__("receiver closed the connection without an answer")


_KeyT = tuple[str, str, int, object]


@dataclass(eq=False)
class Started:
    """A request already written on a kept connection (``start_now``); ``finish`` it."""
    key: tuple
    url: yarl.URL
    context: ssl.SSLContext | None
    data: bytes
    conn: _Connection
    waiter: asyncio.Future[Answer]


class HttpGetClient:
    def __init__(self, user_agent: str, *, body_limit: int = 64 * 1024,
                 clock=time.monotonic) -> None:
        self.user_agent = user_agent
        self.body_limit = body_limit
        self._clock = clock
        self._idle: dict[_KeyT, list[_Connection]] = {}
        self._busy: set[_Connection] = set()
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
        except _ClosedUnanswered:           # kept too long by us, closed by the receiver
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

    def _send(self, conn: _Connection, data: bytes, on_written) -> asyncio.Future[Answer]:
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
                       context: ssl.SSLContext | None) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await loop.create_connection(
                lambda: _Connection(self.body_limit), host, port, ssl=context,
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

    def _take(self, key: _KeyT) -> _Connection | None:
        conns = self._idle.get(key)
        now = self._clock()
        while conns:
            conn = conns.pop()
            if not conn.closed and now - conn.idle_since < IDLE_SECONDS:
                return conn
            conn.abort()
        self._idle.pop(key, None)
        return None

    def _keep(self, key: _KeyT, conn: _Connection) -> None:
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
