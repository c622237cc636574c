"""What any host that reaches the HTTP port can make the phone hold, and for how long.

Every connection passes ``ConnectionGuard`` before aiohttp sees a byte of it:

- **a file-descriptor budget**: at most ``max_connections`` at once, worked out
  from the process's ``RLIMIT_NOFILE`` (``LimitNOFILE`` in the unit) less
  ``FD_RESERVE`` kept for what the phone itself opens (Action URL requests,
  the state file, baresip, the display): at it, the connection idle longest
  makes room for the new one (an idle flood cannot starve anybody; it is only
  cycled), or, when every one is busy, the new connection is closed at once.
  Nothing ever fails with "Too many open files";
- **per source**: at most ``per_source`` connections from one address (a
  browser opens six; a flood from one host is refused, not queued), or
  ``TRUSTED_PER_SOURCE`` from one the phone trusts (``trusted``, set by
  ``net.web``: on ``features.action_uri_limit_ip``);
- **an idle / header timeout**: a connection must bring a whole request head
  within ``idle_timeout`` seconds of opening or of its last answer, or it is
  closed (a connection that never sends a byte, or a slowloris, is gone in
  seconds, not held for ever);
- **a request timeout**: a request (its body included) is answered or dropped
  within ``request_timeout`` seconds.

Refusals are counted (``stats``) and logged as counts, at most one line per
``window`` seconds: a flood costs a few lines, never a traceback per
connection. aiohttp's own "Error handling request" tracebacks for malformed
or oversized requests (anyone can send those) go through ``FloodLogFilter``.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import resource
import time
from typing import Any, Callable

from ..core.trust import source_id

log = logging.getLogger("deskphone.http")

FD_RESERVE = 256                    # descriptors never given to HTTP clients
MAX_CONNECTIONS = 512               # and never more than this many at once, whatever the limit
PER_SOURCE = 16                     # an address not on features.action_uri_limit_ip
TRUSTED_PER_SOURCE = 128            # one on it (a PBX may fire many requests at once)
IDLE_TIMEOUT = 10.0                 # seconds to bring a request head (first or next)
REQUEST_TIMEOUT = 30.0              # seconds to read a request's body and answer it


def fd_budget(reserve: int = FD_RESERVE, ceiling: int = MAX_CONNECTIONS) -> int:
    """How many HTTP connections the descriptor limit affords, the reserve kept back."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return ceiling
    return max(8, min(ceiling, soft - reserve))


class ConnectionGuard:
    def __init__(self, *, max_connections: int | None = None, per_source: int = PER_SOURCE,
                 idle_timeout: float = IDLE_TIMEOUT, request_timeout: float = REQUEST_TIMEOUT,
                 window: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_connections = max_connections or fd_budget()
        self.per_source, self.idle_timeout = per_source, idle_timeout
        self.request_timeout, self.window, self.clock = request_timeout, window, clock
        self.stats: collections.Counter[str] = collections.Counter()
        self._by_source: collections.Counter[str] = collections.Counter()
        self._open: dict[Any, "GuardedProtocol"] = {}      # transport -> its protocol
        self._sweeper: asyncio.TimerHandle | None = None
        self._reported = collections.Counter[str]()
        self._last_report = clock()
        self.trusted: Callable[[str], bool] = lambda _source: False

    @property
    def open(self) -> int:
        return len(self._open)

    def factory(self, inner: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        return lambda: GuardedProtocol(self, inner)

    # --------------------------------------------------------- admission

    def admit(self, proto: "GuardedProtocol", transport: Any) -> bool:
        peer = transport.get_extra_info("peername")
        source = source_id(str(peer[0])) if isinstance(peer, (tuple, list)) and peer else None
        proto.source = source or "?"
        if len(self._open) >= self.max_connections and not self._evict_idle():
            self._refused("over the descriptor budget")
            return False
        limit = TRUSTED_PER_SOURCE if self.trusted(proto.source) else self.per_source
        if self._by_source[proto.source] >= limit:
            self._refused("over the per-source limit")
            return False
        self._by_source[proto.source] += 1
        self._open[transport] = proto
        proto.idle_since = self.clock()
        self._sweep_soon()
        return True

    def _evict_idle(self) -> bool:
        """At the budget: close the connection idle longest (none busy), making room."""
        idle = [(p.idle_since, t) for t, p in self._open.items() if not p.busy]
        if not idle:
            return False
        _, transport = min(idle, key=lambda item: item[0])
        self.stats["idle closed for room"] += 1
        proto = self._open[transport]
        self.release(proto, transport)
        transport.abort()
        return True

    def release(self, proto: "GuardedProtocol", transport: Any) -> None:
        if self._open.pop(transport, None) is None:
            return
        self._by_source[proto.source] -= 1
        if self._by_source[proto.source] <= 0:
            del self._by_source[proto.source]

    def _refused(self, why: str) -> None:
        self.stats[why] += 1
        self._report()

    # ---------------------------------------------- requests in progress

    def begin(self, transport: Any) -> None:
        proto = self._open.get(transport)
        if proto is not None:
            proto.busy += 1

    def end(self, transport: Any) -> None:
        proto = self._open.get(transport)
        if proto is not None:
            proto.busy = max(0, proto.busy - 1)
            proto.idle_since = self.clock()

    # ---------------------------------------------------------- timeouts

    def _sweep_soon(self) -> None:
        if self._sweeper is None and self._open:
            loop = asyncio.get_running_loop()
            self._sweeper = loop.call_later(min(1.0, self.idle_timeout / 2), self._sweep)

    def _sweep(self) -> None:
        self._sweeper = None
        now = self.clock()
        for transport, proto in list(self._open.items()):
            if not proto.busy and now - proto.idle_since >= self.idle_timeout:
                self.stats["idle timeout"] += 1
                transport.abort()            # connection_lost releases it
        self._report()
        self._sweep_soon()

    def _report(self) -> None:
        now = self.clock()
        if now - self._last_report < self.window:
            return
        new = self.stats - self._reported
        self._last_report = now
        self._reported = collections.Counter(self.stats)
        if new:
            log.warning("HTTP connections refused or closed in the last %.0f s: %s "
                        "(%d open of %d)", self.window,
                        ", ".join(f"{n} {why}" for why, n in sorted(new.items())),
                        len(self._open), self.max_connections)


class GuardedProtocol(asyncio.Protocol):
    """aiohttp's protocol behind the guard: only admitted connections reach it."""

    def __init__(self, guard: ConnectionGuard, inner: Callable[[], asyncio.Protocol]) -> None:
        self.guard, self._make_inner = guard, inner
        self.inner: Any = None
        self.transport: Any = None
        self.source = "?"
        self.busy = 0
        self.idle_since = 0.0

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        if not self.guard.admit(self, transport):
            transport.abort()
            return
        self.inner = self._make_inner()
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self.inner is not None:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.inner is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.release(self, self.transport)
        if self.inner is not None:
            self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()


class FloodLogFilter(logging.Filter):
    """For aiohttp's server logger: a bad request from anyone is a count, not a traceback.

    Each record loses its traceback and keeps its first line; at most ``burst``
    pass per ``window`` seconds, and the next one that passes says how many were
    left out.
    """

    def __init__(self, burst: int = 5, window: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.burst, self.window, self.clock = burst, window, clock
        self._start, self._passed, self._left_out = clock(), 0, 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = self.clock()
        if now - self._start >= self.window:
            self._start, self._passed = now, 0
        if self._passed >= self.burst:
            self._left_out += 1
            return False
        self._passed += 1
        exc = record.exc_info[1] if record.exc_info else None
        record.exc_info, record.exc_text = None, None
        text = record.getMessage() + (f": {type(exc).__name__}: {str(exc)[:200]}" if exc else "")
        if self._left_out:
            text += f" (and {self._left_out} more like it not logged)"
            self._left_out = 0
        record.msg, record.args = text, None
        return True
