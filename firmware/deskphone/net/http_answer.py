"""One HTTP/1.1 connection of the Action URL client (net/http_get.py): a request out, its
answer read, bounded.

The answer's head is at most ``MAX_HEAD`` bytes; its body (length, chunked, or
until the close) is thrown away as it arrives, up to the connection's
``body_limit``, after which the connection is closed instead of kept. Bytes that
nobody asked for (more than one answer, or any while idle) make the connection
one not to use again. Every failure is an ``HttpGetError`` whose text says why.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

MAX_HEAD = 16 * 1024              # status line and headers of one answer
MAX_LINE = 4 * 1024               # a chunk-size line


class HttpGetError(Exception):
    """A request that got no usable answer; the text says why, for the log."""


@dataclass(frozen=True)
class Answer:
    status: int
    location: str = ""


def _head_error(why: str) -> HttpGetError:
    return HttpGetError(f"bad answer: {why}")


class Connection(asyncio.Protocol):
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
                self._waiter.set_exception(ClosedUnanswered())

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


class ClosedUnanswered(HttpGetError):
    def __init__(self) -> None:
        super().__init__("receiver closed the connection without an answer")
