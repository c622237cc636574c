"""Action URL: the HTTP(S) GET a Yealink phone sends when an event fires.

A receiver that is down, slow or broken must never hold up the phone or the
receivers of other events, so every (scheme, host, port) gets its own queue and
worker: hosts run concurrently, a stuck host only fills its own bounded queue,
and each failed event costs one log line. Settings are looked up per event
(URL) or per request (timeout, TLS, window), so edits made on the web page
apply to the next event without a restart.

Order and pipelining, per host: requests are *written* in event order, each
only once the one before it is on the wire, and up to ``max_in_flight``
(``deskphone.action_url.max_in_flight``, 8) wait for their answers at once,
each on a connection of its own (HTTP/1.1 has no usable pipelining). A slow
receiver therefore gets a burst in ``max_in_flight`` times less time than one
request at a time would take (500 events at 200 ms each: 12.5 s instead of
100 s). What is not promised: a receiver that handles requests concurrently
may *finish* (or log) them in another order than they arrived. With
``max_in_flight = 1`` each request starts only after the previous one was
answered or failed: strict order end to end, at one round trip per event.
A request to an idle host (nothing waiting, nothing in flight) starts in the
turn of the loop its event fired in, ahead of the screen's drawing.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import re
import ssl
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Mapping, TypeVar

import yarl

from .. import __version__
from ..core.events import BY_ID
from ..core.variables import expand
from .http_get import HttpGetClient, HttpGetError, Started

log = logging.getLogger("deskphone.action_url")

USER_AGENT = f"deskphone/{__version__}"
_BODY_LIMIT = 64 * 1024   # answers up to this size are read out, so the connection can be reused
MAX_REDIRECTS = 3         # same-host redirects followed per event

T = TypeVar("T")
Setting = T | Callable[[], T]


@dataclass(frozen=True)
class Delivery:
    """The outcome of one event's request, for the console and the web page."""
    at: float                    # wall time (time.time()) the request started
    event: str                   # event id, as in core.events
    url: str                     # as sent, with any password redacted
    status: int | None           # HTTP status, None when no answer came
    latency: float               # seconds
    error: str = ""              # "" when delivered with a status below 400

    @property
    def event_name(self) -> str:
        return _event_name(self.event)


# --- URLs ---------------------------------------------------------------------

_AUTHORITY = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^/?#]*)(.*)$", re.DOTALL)
# Everything RFC 3986 allows in a URL, plus % when it starts a %XX escape.
_NOT_ALLOWED = re.compile(r"%(?![0-9A-Fa-f]{2})|[^A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]")


def redact(url: str) -> str:
    """``url`` with the password of ``user:password@`` replaced by ``***``."""
    match = _AUTHORITY.match(url)
    if not match:
        return url
    scheme, authority, rest = match.groups()
    userinfo, at, hostport = authority.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}{user}:***@{hostport}{rest}"


def _encode_disallowed(text: str) -> str:
    # Only what cannot appear in a URL is encoded: the expanded values are
    # already %XX and a template's own escapes must reach the receiver unchanged.
    return _NOT_ALLOWED.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), text)


def request_url(text: str) -> yarl.URL:
    """The URL to send for an expanded template; ValueError when it is not a usable http(s) URL.

    The result is marked as already encoded, so the request carries exactly these
    bytes instead of re-quoting them (which would turn a value's %2F into /).
    """
    match = _AUTHORITY.match(text.strip())
    if not match:
        raise ValueError("not an http:// or https:// URL")
    scheme, authority, rest = match.groups()
    userinfo, at, hostport = authority.rpartition("@")
    if not hostport.isascii():
        hostport = yarl.URL(f"http://{hostport}").raw_authority     # IDNA
    userinfo = _encode_disallowed(userinfo).replace("@", "%40")    # "u:p@ss@host": the last @ ends it
    url = yarl.URL(f"{scheme.lower()}{userinfo}{at}{hostport}{_encode_disallowed(rest)}",
                   encoded=True)
    if url.scheme not in ("http", "https"):
        raise ValueError("not an http:// or https:// URL")
    if not url.host:
        raise ValueError("no host")
    try:
        url.port    # yarl parses the port lazily
    except ValueError:
        raise ValueError("port is not a number") from None
    return url


# The same template with the same values makes the same URL (an event's URL rarely
# changes between presses): parsed once, kept for the next time. yarl.URL is immutable.
_cached_request_url = functools.lru_cache(maxsize=256)(request_url)


# --- failures -------------------------------------------------------------------

class _CaFileError(ValueError):
    pass


def _reason(exc: BaseException, timeout: float) -> str:
    """A short, log-friendly reason for an expected failure."""
    if isinstance(exc, TimeoutError):
        return f"timed out after {float(timeout)} s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError):
        return f"connection failed: {exc.strerror or exc}"
    return str(exc) or type(exc).__name__


_EXPECTED = (HttpGetError, OSError, TimeoutError, ValueError)


def _event_name(event_id: str) -> str:
    spec = BY_ID.get(event_id)
    return spec.name if spec else event_id


def _now(setting: Setting[T]) -> T:
    return setting() if callable(setting) else setting


# --- the sender -----------------------------------------------------------------

@dataclass(frozen=True)
class _Request:
    event: str
    url: yarl.URL

    @property
    def shown(self) -> str:
        return redact(str(self.url))


@dataclass(eq=False)
class _HostQueue:
    pending: deque[_Request] = field(default_factory=deque)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    worker: asyncio.Task[None] | None = None
    flights: set[asyncio.Task[None]] = field(default_factory=set)   # requests awaiting answers
    unsent: asyncio.Future[None] | None = None   # the last request started, until it is written


class ActionUrlSender:
    """Executes ``Emit`` effects: one GET per fired event that has a URL configured."""

    def __init__(
        self,
        url_for: Callable[[str], str],
        *,
        timeout: Setting[float] = 5.0,
        verify_tls: Setting[bool] = True,
        ca_file: Setting[str | None] = None,
        max_in_flight: Setting[int] = 8,
        max_pending_per_host: int = 1000,
        deliveries_kept: int = 200,
        worker_idle: float = 30.0,
    ) -> None:
        self._url_for = url_for
        self._timeout = timeout
        self._verify_tls = verify_tls
        self._ca_file = ca_file
        self._max_in_flight = max_in_flight
        self._max_pending = max(1, max_pending_per_host)
        self._worker_idle = worker_idle
        self.deliveries: deque[Delivery] = deque(maxlen=deliveries_kept)
        self._hosts: dict[tuple[str, str, int | None], _HostQueue] = {}
        self._client: HttpGetClient | None = None
        self._closed = False
        self._unfinished = 0
        self._all_done = asyncio.Event()
        self._all_done.set()
        self._tls_key: tuple[str, int] | None = None
        self._tls_context: ssl.SSLContext | None = None

    # -- lifecycle

    async def start(self) -> None:
        if self._client is not None:
            return
        self._closed = False
        # Receivers get no cookies kept and no compression asked for: the body is discarded.
        self._client = HttpGetClient(USER_AGENT, body_limit=_BODY_LIMIT)
        for key, queue in self._hosts.items():      # events submitted before start
            if queue.pending:
                self._ensure_worker(key, queue)

    async def close(self) -> None:
        """Cancel every worker and close the session; queued requests are dropped."""
        self._closed = True
        queues = list(self._hosts.values())
        self._hosts.clear()
        dropped = sum(len(q.pending) + len(q.flights) for q in queues)
        workers = [q.worker for q in queues if q.worker is not None]
        workers += [f for q in queues for f in q.flights]
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        if dropped:
            log.info("Action URL: %d queued request(s) dropped at shutdown", dropped)
        self._unfinished = 0
        self._all_done.set()
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    async def drain(self, timeout: float) -> bool:
        """Wait until every queued request is done; False when ``timeout`` passed first."""
        try:
            async with asyncio.timeout(timeout):
                await self._all_done.wait()
        except TimeoutError:
            return False
        return True

    # -- events

    def submit(self, event_id: str, variables: Mapping[str, str]) -> None:
        """Queue the request of ``event_id``; returns at once and never raises."""
        try:
            self._submit(event_id, variables)
        except Exception:                   # a bug here must not stop the phone
            log.exception("Action URL %s: could not queue the request", _event_name(event_id))

    def _submit(self, event_id: str, variables: Mapping[str, str]) -> None:
        template = (self._url_for(event_id) or "").strip()
        if not template:
            return
        name = _event_name(event_id)
        if "://" not in template:
            # As the firmware does: "10.0.0.5/event?..." is an http:// URL.
            template = "http://" + template
        expanded = expand(template, variables)
        if self._closed:
            log.warning("Action URL %s not sent: sender is closed [%s]", name, redact(expanded))
            return
        try:
            request = _Request(event_id, _cached_request_url(expanded))
        except ValueError as exc:
            self._record(event_id, redact(expanded), None, 0.0, f"invalid URL: {exc}")
            return
        url = request.url
        key = (url.scheme, url.raw_host or "", url.port)
        queue = self._hosts.setdefault(key, _HostQueue())
        if len(queue.pending) >= self._max_pending:
            oldest = queue.pending.popleft()
            self._finished()
            self._record(oldest.event, oldest.shown, None, 0.0,
                         f"dropped: {self._max_pending} requests already waiting for this host",
                         level=logging.WARNING)
        self._unfinished += 1
        self._all_done.clear()
        if self._client is not None and not queue.pending and not queue.flights:
            # An idle host: the request starts in this turn of the loop, ahead of what
            # the event's other effects scheduled (the screen is drawn after it).
            self._launch(queue, request)
        else:
            queue.pending.append(request)
            queue.wakeup.set()
        if self._client is not None:
            self._ensure_worker(key, queue)

    def _ensure_worker(self, key: tuple[str, str, int | None], queue: _HostQueue) -> None:
        if queue.worker is None or queue.worker.done():
            scheme, host, port = key
            queue.worker = asyncio.get_running_loop().create_task(
                self._work(key, queue), name=f"action-url {scheme}://{host}:{port}")

    def _window(self) -> int:
        try:
            return max(1, int(_now(self._max_in_flight)))
        except (TypeError, ValueError):
            return 1

    async def _work(self, key: tuple[str, str, int | None], queue: _HostQueue) -> None:
        while True:
            while queue.pending:
                if len(queue.flights) >= self._window():
                    # With a window of 1: each request starts once the one before it ended.
                    await asyncio.wait(queue.flights, return_when=asyncio.FIRST_COMPLETED)
                    continue
                unsent = queue.unsent
                if unsent is not None and not unsent.done():
                    # The next request starts once this one is written (or has failed).
                    await asyncio.wait((unsent,))
                    continue
                self._launch(queue, queue.pending.popleft())
            queue.wakeup.clear()
            try:
                async with asyncio.timeout(self._worker_idle):
                    await queue.wakeup.wait()
            except TimeoutError:
                # No await between this check and the removal: submit() cannot
                # slip a request in that nobody would send.
                if not queue.pending and not queue.flights:
                    if self._hosts.get(key) is queue:
                        del self._hosts[key]
                    if self._client is not None:    # nor a connection to an idle receiver
                        self._client.forget(*key)
                    return

    def _launch(self, queue: _HostQueue, request: _Request) -> None:
        """Start ``request`` as a flight of its own; ``queue.unsent`` until it is written."""
        loop = asyncio.get_running_loop()
        sent: asyncio.Future[None] = loop.create_future()
        started = None
        tls = self._tls_now() if request.url.scheme == "https" else True
        if self._client is not None and tls is not None:
            # A receiver with a kept connection gets the GET in this very turn of the loop.
            started = self._client.start_now(request.url, tls, functools.partial(_written, sent))
        flight = loop.create_task(self._deliver(request, sent, started))
        queue.flights.add(flight)
        queue.unsent = sent
        flight.add_done_callback(lambda t, q=queue, s=sent: self._landed(q, t, s))

    def _landed(self, queue: _HostQueue, flight: asyncio.Task[None],
                sent: asyncio.Future[None]) -> None:
        sent.cancel()                       # failed before it was written: nothing waits on it
        queue.flights.discard(flight)
        if not self._closed:
            self._finished()

    def _finished(self) -> None:
        self._unfinished = max(0, self._unfinished - 1)
        if self._unfinished == 0:
            self._all_done.set()

    # -- one request

    async def _deliver(self, request: _Request, sent: asyncio.Future[None] | None = None,
                       written: Started | None = None) -> None:
        assert self._client is not None
        timeout = float(_now(self._timeout))
        at, started = time.time(), time.monotonic()
        status: int | None = None
        level: int | None = logging.WARNING
        try:
            async with asyncio.timeout(timeout):
                status, error = await self._get(request.url, sent, written)
        except _EXPECTED as exc:
            error = _reason(exc, timeout)
        except Exception as exc:            # a bug, not a receiver problem: keep the traceback
            log.exception("Action URL %s: unexpected failure", _event_name(request.event))
            error, level = f"internal error: {type(exc).__name__}", None
        self._record(request.event, request.shown, status, time.monotonic() - started, error,
                     at=at, level=level)

    async def _get(self, url: yarl.URL, sent: asyncio.Future[None] | None,
                   started: Started | None = None) -> tuple[int, str]:
        """GET ``url``: the status and the error ("" when delivered).

        Redirects are followed only on the same scheme, host and port (at most
        ``MAX_REDIRECTS``): a receiver must not be able to send the phone's
        variables (its MAC, the caller's number) on to another host.
        """
        assert self._client is not None
        for _ in range(MAX_REDIRECTS + 1):
            on_written = functools.partial(_written, sent) if sent is not None else None
            if started is not None:         # written already, by _launch
                answer, started = await self._client.finish(started, on_written), None
            else:
                tls = await self._tls() if url.scheme == "https" else True
                answer = await self._client.get(url, tls, on_written)
            status, location = answer.status, answer.location
            if status not in (301, 302, 303, 307, 308) or not location:
                return status, f"HTTP {status}" if status >= 400 else ""
            try:
                target = url.join(yarl.URL(location))
            except ValueError:
                return status, f"HTTP {status}: bad redirect Location"
            if (target.scheme, target.host, target.port) != (url.scheme, url.host, url.port):
                return status, (f"HTTP {status}: redirect to another host not followed "
                                f"({target.scheme}://{target.host})")
            url, sent = target, None
        return status, f"HTTP {status}: more than {MAX_REDIRECTS} redirects"

    def _tls_now(self) -> bool | None:
        """``_tls`` when it needs no file: None with a CA file (``_tls`` looks at it)."""
        if not _now(self._verify_tls):
            return False
        return None if _now(self._ca_file) else True

    async def _tls(self) -> bool | ssl.SSLContext:
        """How to verify an https receiver under the settings of this moment."""
        if not _now(self._verify_tls):
            return False
        ca_file = _now(self._ca_file)
        if not ca_file:
            return True
        try:
            key = (ca_file, os.stat(ca_file).st_mtime_ns)   # an edited file is reloaded
            if key != self._tls_key:
                self._tls_context = await asyncio.to_thread(_context_trusting, ca_file)
                self._tls_key = key
        except (OSError, ssl.SSLError) as exc:
            raise _CaFileError(f"cannot use CA file {ca_file}: {exc}") from None
        assert self._tls_context is not None
        return self._tls_context

    def _record(self, event: str, url: str, status: int | None, latency: float, error: str,
                *, at: float | None = None, level: int | None = logging.WARNING) -> None:
        self.deliveries.append(Delivery(time.time() if at is None else at, event, url, status,
                                        latency, error))
        name = _event_name(event)
        if not error:
            log.debug("Action URL %s: HTTP %s in %.0f ms [%s]", name, status, latency * 1000, url)
        elif level is not None:
            log.log(level, "Action URL %s failed: %s [%s]", name, error, url)


def _context_trusting(ca_file: str) -> ssl.SSLContext:
    # System CAs plus the given file (create_default_context(cafile=) would drop the system ones).
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=ca_file)
    return context


def _written(sent: asyncio.Future[None]) -> None:
    # The request is on the wire: the host's worker may start the next one.
    if not sent.done():
        sent.set_result(None)
