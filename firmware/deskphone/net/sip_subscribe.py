"""A SIP SUBSCRIBE client (RFC 6665) over UDP: one subscription, one socket of its own.

Interface (kept stable; net/mwi.py uses it for ``message-summary``, the BLF
line keys for ``dialog``)::

    sub = Subscription(event="message-summary",
                       accept="application/simple-message-summary",
                       target="sip:1001@pbx.example",          # the Request-URI and To
                       me=Identity(aor="sip:1001@pbx.example", auth_name="1001",
                                   password="..."),
                       server=("pbx.example", 5060),           # where requests go (server or
                                                               # outbound proxy)
                       on_notify=lambda headers, body: ...,   # every new NOTIFY
                       bind="192.0.2.10", port=0, expires=3600)
    await sub.start()       # binds the socket (False if it cannot), starts subscribing
    ...
    await sub.stop()        # unsubscribes (Expires: 0, at most ``STOP_WAIT`` s), closes

``on_notify(headers, body)`` gets each NOTIFY of the dialog once (not its
retransmissions): ``headers`` a dict of lower-case header name -> first value
(compact names spelled out), ``body`` the bytes (at most ``MAX_BODY``). It is
called on the event loop and must not block. ``on_state(state)``, if given,
hears "subscribing", "active", "pending", "failed", "stopped". ``state`` and
``stats`` (a Counter) tell the same to a status page or a test.

What it does: SUBSCRIBE with ``Event``, ``Accept`` and ``Expires``; answers a
401/407 with the account's digest (``sip_subscribe_wire.DigestClient``);
retransmits over UDP (T1 doubling to T2, given up after ``TIMEOUT``); refreshes
in the dialog before the granted Expires runs out (at 85 %, at least
``MIN_REFRESH`` s ahead); a NOTIFY with ``Subscription-State: terminated``, a
failed refresh (481 included), a timeout or a refused SUBSCRIBE ends the dialog,
and a new one is started after a backoff (``RETRY_FIRST`` doubling to
``RETRY_MOST``; ``Retry-After`` / ``retry-after=`` is taken when larger; a
subscription of ``QUICK_AFTER`` s or more ended with reason ``deactivated`` or
``timeout`` is renewed at once). NOTIFYs of the dialog
are answered 200; NOTIFYs of no dialog of ours 481; other requests 405.

Bounded: one socket; one transaction at a time; a NOTIFY body over ``MAX_BODY``
is answered 413 and not handed on; at most ``NOTIFY_RATE`` callbacks a second
(burst ``NOTIFY_BURST``, beyond that 503); log lines through a ``LogLimiter``.
The server's name is resolved off the loop (``getaddrinfo`` in a thread, with
a timeout). Nothing here blocks the loop.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
import socket
from typing import Any, Callable

from .. import __version__
from ..engine.backoff import Backoff
from .log_limit import LogLimiter, left_out
from .rate_limit import RateLimiter
from .sip_message import SipRequest, SipSyntaxError, parse_request, response
from .sip_subscribe_wire import (DigestClient, Dialog, Identity, SipResponse, expires_of, param,
                                 parse_response, subscribe, tag_of)

__all__ = ["Subscription", "Identity"]

log = logging.getLogger("deskphone.sip_subscribe")

T1, T2 = 0.5, 4.0               # RFC 3261 timers: first retransmission, the longest gap
TIMEOUT = 32.0                  # Timer F: a transaction without a final answer has failed
MIN_REFRESH = 5.0
QUICK_REASONS = ("deactivated", "timeout")   # a terminated subscription worth renewing at once
QUICK_AFTER = 10.0              # ... when it had lasted this long (no tight loop)
RETRY_FIRST, RETRY_MOST = 2.0, 300.0
STOP_WAIT = 1.0                 # seconds stop() waits for the unsubscribe's answer
MAX_BODY = 16 * 1024
NOTIFY_RATE, NOTIFY_BURST = 10.0, 20.0
USER_AGENT = f"deskphone/{__version__}"
_EXTRA_REASONS = {413: "Request Entity Too Large", 481: "Call/Transaction Does Not Exist",
                  503: "Service Unavailable"}


class _Failed(Exception):
    def __init__(self, why: str, retry_after: float = 0.0) -> None:
        super().__init__(why)
        self.retry_after = retry_after


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, owner: "Subscription") -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: Any) -> None:
        try:
            self.owner._datagram(data, addr)
        except Exception:               # whatever arrives, the subscription stays up
            self.owner._log("datagram", logging.ERROR, "a datagram from %s failed", addr[0],
                            exc_info=True)

    def error_received(self, exc: Exception) -> None:
        log.debug("subscription socket: %s", exc)


class Subscription:
    def __init__(self, *, event: str, accept: str, target: str, me: Identity,
                 server: tuple[str, int], on_notify: Callable[[dict[str, str], bytes], None],
                 on_state: Callable[[str], None] | None = None, bind: str = "127.0.0.1",
                 port: int = 0, contact_host: str = "", expires: int = 3600,
                 timeout: float = TIMEOUT, name: str = "") -> None:
        self.event, self.accept, self.target, self.me = event, accept, target, me
        self.server, self.bind, self.requested_port = server, bind, port
        self.contact_host, self.expires, self.timeout = contact_host, expires, timeout
        self.on_notify, self.on_state = on_notify, on_state
        self.name = name or f"{event} {target}"
        self.state = "idle"
        self.port: int | None = None
        self.stats: collections.Counter[str] = collections.Counter()
        self._transport: asyncio.DatagramTransport | None = None
        self._task: asyncio.Task[None] | None = None
        self._dialog: Dialog | None = None
        self._waiting: tuple[int, str, asyncio.Future[SipResponse]] | None = None
        self._ended = asyncio.Event()        # the notifier terminated the dialog
        self._ended_why = ""
        self._refresh_by: float | None = None
        self._dest: tuple[str, int] | None = None
        self._rate = RateLimiter(NOTIFY_RATE, NOTIFY_BURST, total_rate=NOTIFY_RATE,
                                 total_burst=NOTIFY_BURST, max_sources=64)
        self._logged = LogLimiter(burst=10, total=30)

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> bool:
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Protocol(self), local_addr=(self.bind or "0.0.0.0", self.requested_port))
        except OSError as exc:
            log.error("%s: no socket on %s:%d/udp: %s", self.name, self.bind or "*",
                      self.requested_port, exc)
            return False
        self._transport = transport                      # type: ignore[assignment]
        self.port = transport.get_extra_info("sockname")[1]
        self._task = asyncio.create_task(self._run(), name=f"subscribe {self.name}")
        return True

    async def stop(self, wait: float = STOP_WAIT) -> None:
        """Unsubscribe (waiting ``wait`` s at most for the answers), close the socket."""
        task, self._task = self._task, None
        dialog = self._dialog               # the task forgets it as it ends
        try:
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            self._dialog = dialog           # its answers are matched while it ends
            if dialog is not None and dialog.to_tag and self._dest is not None \
                    and self._transport is not None and wait > 0:
                try:
                    async with asyncio.timeout(wait):
                        await self._request(dialog, 0)
                except (TimeoutError, _Failed, OSError):
                    pass                    # the notifier's subscription times out by itself
        finally:                            # even when the caller's own timeout cancels us
            self._dialog = None
            if self._transport is not None:
                self._transport.close()
                self._transport = None
            self._set_state("stopped")

    # ------------------------------------------------------------ the subscription

    async def _run(self) -> None:
        backoff = Backoff(RETRY_FIRST, RETRY_MOST, stable_after=60.0)
        loop = asyncio.get_running_loop()
        while True:
            began = loop.time()
            delay = 0.0
            try:
                await self._subscribe_once()
                # Terminated by the notifier: soon again after a good run ended by
                # "deactivated" or "timeout" (RFC 6665 4.1.3), else with the backoff.
                ran, why = loop.time() - began, self._ended_why.lower()
                quick = ran >= QUICK_AFTER and param(why, "reason") in QUICK_REASONS
                retry = param(why, "retry-after")
                delay = 0.5 if quick else max(backoff.after(ran), float(
                    min(int(retry), 3600) if retry.isdigit() and len(retry) <= 10 else 0))
            except _Failed as failed:
                self.stats["failed"] += 1
                self._set_state("failed")
                delay = max(backoff.after(loop.time() - began), failed.retry_after)
                self._log("failed", logging.WARNING, "%s: %s; again in %.0f s", self.name,
                          failed, delay)
            finally:
                self._dialog = None
            await asyncio.sleep(delay * random.uniform(0.9, 1.1))

    async def _subscribe_once(self) -> None:
        """One dialog, from its first SUBSCRIBE to its end (returns when the notifier ends it)."""
        self._dest = await self._resolve()
        dialog = self._dialog = Dialog.new()
        self._ended.clear()
        self._set_state("subscribing")
        granted = await self._request(dialog, self.expires)
        loop = asyncio.get_running_loop()
        while True:
            if granted <= 0:
                raise _Failed("the notifier granted no time (Expires: 0)")
            self._refresh_by = loop.time() + max(1.0, min(granted * 0.85, granted - MIN_REFRESH))
            while not self._ended.is_set() and loop.time() < self._refresh_by:
                try:
                    async with asyncio.timeout(self._refresh_by - loop.time()):
                        await self._ended.wait()
                except TimeoutError:
                    pass
            if self._ended.is_set():
                self._log("ended", logging.INFO, "%s: terminated by the notifier (%s)",
                          self.name, self._ended_why or "no reason")
                return
            granted = await self._request(dialog, self.expires)

    async def _request(self, dialog: Dialog, expires: int) -> int:
        """One SUBSCRIBE (and its answer to a challenge): the Expires granted, or _Failed."""
        digest, auth = DigestClient(), None
        for _ in range(3):                   # a challenge, a stale nonce, then give up
            data = subscribe(dialog, target=self.target, me=self.me, contact=self._contact(),
                             local=self._local(), event=self.event, accept=self.accept,
                             expires=expires, auth=auth, user_agent=USER_AGENT)
            answer = await self._transaction(dialog, data)
            if answer.status in (401, 407):
                stale = "stale=true" in (answer.get("www-authenticate") or
                                         answer.get("proxy-authenticate") or "").lower()
                if auth is not None and not stale:
                    raise _Failed(f"{answer.status}: the credentials of {self.me.auth_name!r} "
                                  "are refused", RETRY_MOST)
                auth = digest.answer(answer, me=self.me, uri=dialog.remote_target or self.target)
                if auth is None:
                    raise _Failed(f"{answer.status}: a challenge that cannot be answered",
                                  RETRY_MOST)
                continue
            if 200 <= answer.status < 300:
                dialog.learn(tag_of(answer.get("to")), answer.get("contact"),
                             answer.all("record-route"))
                if self.state != "active":
                    self._set_state("pending" if answer.status == 202 else "active")
                return expires_of(answer.get("expires"), expires)
            retry = expires_of(answer.get("retry-after"), 0)
            raise _Failed(f"{answer.status} {answer.reason}".strip(), float(min(retry, 3600)))
        raise _Failed("challenged again and again", RETRY_MOST)

    async def _transaction(self, dialog: Dialog, data: bytes) -> SipResponse:
        future: asyncio.Future[SipResponse] = asyncio.get_running_loop().create_future()
        self._waiting = (dialog.cseq, dialog.call_id, future)
        gap, waited = T1, 0.0
        try:
            while waited < self.timeout:
                self._send(data, self._dest)
                try:
                    return await asyncio.wait_for(asyncio.shield(future), min(gap, self.timeout
                                                                              - waited))
                except TimeoutError:
                    waited += min(gap, self.timeout - waited)
                    gap = min(gap * 2, T2)
            raise _Failed(f"no answer from {self._dest} in {self.timeout:.0f} s")
        finally:
            self._waiting = None

    async def _resolve(self) -> tuple[str, int]:
        host, port = self.server
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(5.0):
                infos = await loop.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_DGRAM,
                                               family=socket.AF_INET)
        except (OSError, TimeoutError, UnicodeError) as exc:
            raise _Failed(f"the server {host!r} does not resolve ({exc or 'timeout'})") from None
        return infos[0][4][0], int(infos[0][4][1])

    def _local(self) -> tuple[str, int]:
        host = self.contact_host or self.bind
        if not host or host in ("0.0.0.0", "::"):
            host = _route_address(self._dest)
        return host, int(self.port or 0)

    def _contact(self) -> str:
        host, port = self._local()
        user = self.me.aor.split(":", 1)[-1].split("@", 1)[0] if "@" in self.me.aor else ""
        return f"sip:{user + '@' if user else ''}{host}:{port}"

    # ------------------------------------------------------------ what arrives

    def _datagram(self, data: bytes, addr: Any) -> None:
        if data.startswith(b"SIP/2.0 ") or data.startswith(b"SIP/2.0\t"):
            answer = parse_response(data)
            waiting = self._waiting
            if answer is None or waiting is None or waiting[2].done():
                return
            cseq = (answer.get("cseq") or "").split()
            if (answer.get("call-id") or "").strip() != waiting[1] or len(cseq) != 2 \
                    or cseq[0] != str(waiting[0]) or cseq[1].upper() != "SUBSCRIBE":
                return
            if answer.status >= 200:
                waiting[2].set_result(answer)
            return
        try:
            request = parse_request(data)
        except SipSyntaxError:
            self.stats["malformed"] += 1
            return                          # no answer: an answer to noise is a reflection
        if request is None or request.method == "ACK":
            return
        if not self._rate.take(str(addr[0])):
            self.stats["rate limited"] += 1
            if request.method == "NOTIFY" and self._ours(request):
                self._answer(request, 503, addr, {"Retry-After": "1"})
            return
        if request.method != "NOTIFY":
            self._answer(request, 405, addr, {"Allow": "NOTIFY"})
        elif not self._ours(request):
            self.stats["481"] += 1
            self._answer(request, 481, addr)
        else:
            self._notify(request, addr)

    def _ours(self, request: SipRequest) -> bool:
        dialog = self._dialog
        if dialog is None or (request.get("call-id") or "").strip() != dialog.call_id:
            return False
        if tag_of(request.get("to")) != dialog.from_tag:
            return False
        return not dialog.to_tag or tag_of(request.get("from")) == dialog.to_tag

    def _notify(self, request: SipRequest, addr: Any) -> None:
        dialog = self._dialog
        assert dialog is not None
        package = (request.get("event") or "").split(";", 1)[0].strip().lower()
        if package != self.event.lower():
            self._answer(request, 489, addr, {"Allow-Events": self.event})
            return
        if len(request.body) > MAX_BODY:
            self.stats["too large"] += 1
            self._answer(request, 413, addr)
            return
        cseq = int((request.get("cseq") or "0").split()[0])
        dialog.learn(tag_of(request.get("from")), request.get("contact"),
                     request.all("record-route"))
        self._answer(request, 200, addr)
        if cseq <= dialog.remote_cseq:
            self.stats["retransmission"] += 1      # answered again, not handed on again
            return
        dialog.remote_cseq = cseq
        self.stats["notify"] += 1
        state = (request.get("subscription-state") or "").strip()
        kind = state.split(";", 1)[0].strip().lower()
        if kind == "active" and self.state != "active":
            self._set_state("active")
        headers: dict[str, str] = {}
        for name, value in request.headers:
            headers.setdefault(name, value)
        try:
            self.on_notify(headers, request.body)
        except Exception:
            self._log("callback", logging.ERROR, "%s: the NOTIFY handler failed", self.name,
                      exc_info=True)
        if kind == "terminated":
            self._ended_why = state.partition(";")[2].strip()
            self._ended.set()
        elif kind == "active" and self._refresh_by is not None:
            left = expires_of(state, 0)
            if left:
                loop_now = asyncio.get_running_loop().time()
                self._refresh_by = min(self._refresh_by, loop_now + max(1.0, left * 0.85))

    # ------------------------------------------------------------ tools

    def _answer(self, request: SipRequest, status: int, addr: Any,
                extra: dict[str, str] | None = None) -> None:
        data = response(request, status, (str(addr[0]), int(addr[1])),
                        tag=self._dialog.from_tag if self._dialog else "x", extra=extra,
                        server=USER_AGENT)
        if status in _EXTRA_REASONS:
            data = data.replace(b" Unknown\r\n", f" {_EXTRA_REASONS[status]}\r\n".encode(), 1)
        self._send(data, addr)

    def _send(self, data: bytes, addr: Any) -> None:
        if self._transport is not None and not self._transport.is_closing() and addr:
            self._transport.sendto(data, (addr[0], addr[1]))

    def _set_state(self, state: str) -> None:
        if state == self.state:
            return
        self.state = state
        if self.on_state is not None:
            try:
                self.on_state(state)
            except Exception:
                log.exception("%s: the state handler failed", self.name)

    def _log(self, key: str, level: int, message: str, *args: Any, exc_info: bool = False) -> None:
        skipped = self._logged.allow(key)
        if skipped is not None:
            log.log(level, message + "%s", *args, left_out(skipped), exc_info=exc_info)


def _route_address(dest: tuple[str, int] | None) -> str:
    """The local address the kernel would send from towards ``dest`` (no packet is sent)."""
    if dest is None:
        return "127.0.0.1"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(dest)
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"
