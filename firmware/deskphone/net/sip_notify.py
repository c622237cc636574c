"""Action URI over SIP: Yealink's "SIP Notify Message", on a small UDP listener of the phone's own.

A PBX sends ``NOTIFY`` with ``Event: ACTION-URI``, ``Content-Type: message/sipfrag``
and the body ``key=VALUE`` (every value the HTTP servlet takes, parsed by
``core.uri`` through ``net.remote``). The phone cannot take it through its SIP
stack: no baresip version passes an out-of-dialog NOTIFY to its controller
(libre's event listener claims every NOTIFY and answers 400/481/489 itself).
So the phone listens on a port of its own, ``deskphone.sip_notify_port``
(5070) on the ``--bind`` address, UDP only.

Each datagram gets the first of these that applies:

  1. no SIP request at all (random bytes, a response, CRLF keep-alives), an
     ACK, or a request without valid Via/From/To/Call-ID/CSeq: no answer (a
     listener that answers noise is a reflector); other bad headers (a wrong
     Content-Length, a line that is no header): 400;
  2. more than ``RATE`` datagrams a second from one source (burst ``BURST``),
     or more than ``TOTAL_RATE`` from everyone: no answer, counted;
  3. the same request again (top Via branch and sent-by, Call-ID, CSeq): the
     first answer again, and nothing is done again;
  4. a method other than NOTIFY: 405 with ``Allow: NOTIFY``;
  5. NOTIFY without Event: 400; with another event: 489 with ``Allow-Events``;
  6. (6-10 are ``core.remote_control.decide``, the ladder HTTP shares)
     ``features.action_uri.enable = 0``: 403;
  7. the sender is not on ``features.action_uri_limit_ip``, or (with
     ``sip.trust_ctrl = 1``) not one of an enabled account's SIP server or
     (enabled) outbound proxy: 403;
  8. ``deskphone.sip_notify_auth = 1`` (the default) and no valid digest of an
     account's credentials (``net.sip_digest``): 401 with a challenge;
  9. the user denied this sender on the prompt: 403;
  10. no decision about the sender yet (and ``features.show_action_uri_option
      = 1``): 403, and "Allow Remote Control?" on the screen;
  11. a body that is not ``message/sipfrag`` (``text/plain`` is taken too): 415
      with ``Accept``;
  12. a body that is no ``key=VALUE`` the phone knows: 400, nothing done;
  13. otherwise the keys are done: 200.

A 4xx carries the reason in a ``Warning: 399 deskphone "..."`` header, unless
that would make the answer larger than the request: an answer is never larger
than what it answers (then the Warning and Server go; an answer still larger is
not sent), so the port amplifies nothing.

Stricter than Yealink, whose NOTIFY obeys no trusted-IP list: here
``features.action_uri_limit_ip`` applies as it does to HTTP, and the decision
remembered about a sender is its UDP one (``deskphone.trust.udp:<address>``):
an "allow" given to an HTTP peer, whose address TCP proves, does not open the
door to datagrams that merely claim that address. With ``sip.trust_ctrl`` the
accounts' server names are resolved off the event loop (the loop's resolver
runs ``getaddrinfo`` in a worker thread) and kept for 30 s; a NOTIFY that
arrives while they resolve waits for the answer (its retransmissions are
absorbed meanwhile).

Answers are the responses ``net.sip_message`` builds, sent to the source
address and port of the request (see there why), cached for 32 s (RFC 3261's
Timer J) so a retransmission gets the same answer, To-tag included.

A SIP MESSAGE with a ``key=VALUE`` body cannot reach this phone through
baresip 1.0.0 (the version this project runs). From 1.1.0 on, baresip passes
an incoming MESSAGE to ctrl_tcp as a frame with ``"message": true`` and the
account, the sender's From URI (``from``), the content type and the body
(see ``engine.ctrl_tcp``, where such a frame is skipped today). It names the
sender by the From URI only, which the sender writes itself, so before
``sip.trust_ctrl`` could apply to it baresip would have to report the source
address too. Such a path would share what NOTIFY uses:
``core.remote_control.decide`` and ``net.remote``.
"""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import logging
import socket
import time
from typing import Any, Callable, Iterable

from .. import __version__
from ..core.remote_control import Action, Login, RemoteRequest, Source, Transport, Why, decide
from ..core.trust import sip_server_hosts, source_id
from ..core.uri import ActionUriError
from ..host import PhoneHost
from . import sip_digest
from .log_limit import LogLimiter, left_out
from .rate_limit import RateLimiter
from .sip_edge_source import HEADER as EDGE_SOURCE, real_source
from .remote import ask_user, perform, request_inputs
from . import check_sync, mwi, xml_push
from .servlet import FORBIDDEN, parse_query
from .sip_message import (SipRequest, SipSyntaxError, new_tag, parse_request, response,
                          sound_headers)

log = logging.getLogger("deskphone.sip_notify")

EVENT = "ACTION-URI"
CONTENT_TYPES = ("message/sipfrag", "text/plain")
ANSWER_TTL = 32.0           # seconds a response is kept for retransmissions (64 x T1, Timer J)
MAX_ANSWERS = 1024          # transactions remembered at once; the oldest go first
MAX_WAITING = 64            # NOTIFYs waiting for a name lookup; beyond that they are dropped
SERVER = f"deskphone/{__version__}"
RATE, BURST = 5.0, 20.0             # datagrams answered per second per source (and a burst)
TOTAL_RATE, TOTAL_BURST = 200.0, 400.0   # ... and from every source together

Addr = tuple[Any, ...]      # (host, port) or (host, port, flowinfo, scope_id)


class _Waiting:
    """Marks a transaction whose answer is being worked out: retransmissions are absorbed."""


WAITING = _Waiting()


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


class ServerAddresses:
    """The addresses of the SIP server / outbound proxy names, looked up off the event loop.

    ``cached(hosts)`` answers at once, or None when a name has no fresh answer;
    ``resolve(hosts)`` looks the stale names up (one lookup per name at a time,
    ``timeout`` each) and answers. A name that does not resolve counts as no
    address (logged, and asked again after ``failed_ttl``).
    """

    def __init__(self, *, ttl: float = 30.0, failed_ttl: float = 5.0, timeout: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.failed_ttl, self.timeout, self.clock = ttl, failed_ttl, timeout, clock
        self._known: dict[str, tuple[float, frozenset[str]]] = {}    # name -> (expiry, addresses)
        self._lookups: dict[str, asyncio.Task[None]] = {}

    def cached(self, hosts: Iterable[str]) -> frozenset[str] | None:
        now = self.clock()
        found: set[str] = set()
        for host in hosts:
            if _is_address(host):
                found.add(host)
                continue
            known = self._known.get(host)
            if known is None or known[0] <= now:
                return None
            found |= known[1]
        return frozenset(found)

    async def resolve(self, hosts: Iterable[str]) -> frozenset[str]:
        hosts = tuple(hosts)
        now = self.clock()
        stale = [h for h in hosts if not _is_address(h)
                 and (h not in self._known or self._known[h][0] <= now)]
        if stale:
            await asyncio.gather(*(asyncio.shield(self._lookup(h)) for h in stale))
        found: set[str] = set()
        for host in hosts:
            found |= {host} if _is_address(host) else self._known.get(host, (0.0, frozenset()))[1]
        return frozenset(found)

    def _lookup(self, host: str) -> asyncio.Task[None]:
        task = self._lookups.get(host)
        if task is None:
            task = asyncio.create_task(self._resolve_one(host), name=f"resolve {host}")
            self._lookups[host] = task
            task.add_done_callback(lambda _t: self._lookups.pop(host, None))
        return task

    async def _resolve_one(self, host: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.timeout):
                infos = await loop.getaddrinfo(host, None, type=socket.SOCK_DGRAM)
            addresses = frozenset(a for info in infos if (a := source_id(str(info[4][0]))))
            self._known[host] = (self.clock() + self.ttl, addresses)
        except (OSError, TimeoutError, UnicodeError, ValueError) as exc:
            log.warning("sip.trust_ctrl: the SIP server %r does not resolve (%s); "
                        "NOTIFYs are refused until it does", host, exc or "timeout")
            self._known[host] = (self.clock() + self.failed_ttl, frozenset())

    def close(self) -> None:
        for task in list(self._lookups.values()):
            task.cancel()


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, listener: "SipNotifyListener") -> None:
        self.listener = listener

    def datagram_received(self, data: bytes, addr: Addr) -> None:
        self.listener.datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        # An ICMP error for an answer we sent (the sender went away): nothing to do.
        log.debug("SIP NOTIFY listener: %s", exc)


class SipNotifyListener:
    """The UDP listener; ``port`` is the port it got (None until started, or if it could not)."""

    def __init__(self, host: PhoneHost, bind: str, port: int, *,
                 clock: Callable[[], float] = time.monotonic,
                 servers: ServerAddresses | None = None) -> None:
        self.host = host
        self.bind, self.requested_port = bind, port
        self.port: int | None = None
        self.clock = clock
        self.servers = servers or ServerAddresses(clock=clock)
        self.stats: collections.Counter[str] = collections.Counter()   # "200", "dropped", ...
        self._transport: asyncio.DatagramTransport | None = None
        self._answers: collections.OrderedDict[tuple[str, ...], tuple[float, bytes | _Waiting]] \
            = collections.OrderedDict()
        self._waiting: set[asyncio.Task[None]] = set()
        self.rate = RateLimiter(RATE, BURST, total_rate=TOTAL_RATE, total_burst=TOTAL_BURST,
                                clock=clock)
        self.logged = LogLimiter(clock=clock)
        self.nonces = sip_digest.NonceSource()
        self.edge: tuple[str, int] | None = None   # the SIP edge's socket (net.sip_edge_source)

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> bool:
        """Listen; a port that cannot be had costs a log line, never the phone's start."""
        loop = asyncio.get_running_loop()
        try:
            sock = await _bound_socket(self.bind, self.requested_port)
            try:
                transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self),
                                                                   sock=sock)
            except BaseException:
                sock.close()
                raise
        except OSError as exc:
            log.error("SIP NOTIFY (Action URI) not available on %s:%d/udp: %s",
                      self.bind or "*", self.requested_port, exc)
            return False
        self._transport = transport                          # type: ignore[assignment]
        self.port = sock.getsockname()[1]
        log.info("SIP NOTIFY (Action URI) on %s:%d/udp", self.bind or "*", self.port)
        return True

    async def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        self.servers.close()
        for task in list(self._waiting):
            task.cancel()
        if self._waiting:
            await asyncio.gather(*self._waiting, return_exceptions=True)

    # ------------------------------------------------------------ datagrams

    def datagram(self, data: bytes, addr: Addr) -> None:
        try:
            self._datagram(data, addr)
        except Exception as exc:
            # Whatever a datagram holds, the listener stays up for the next one.
            self.stats["failed"] += 1
            skipped = self.logged.allow("failed")
            if skipped is not None:
                log.error("SIP NOTIFY: a datagram from %s could not be handled: %r%s",
                          addr[0], exc, left_out(skipped))

    def _datagram(self, data: bytes, addr: Addr) -> None:
        try:
            request = parse_request(data)
        except SipSyntaxError as exc:
            if exc.partial.method == "ACK" or not sound_headers(exc.partial):
                # No answer: without a sound Via/From/To/Call-ID/CSeq an answer would go
                # to whoever the (spoofable) source address names: reflection.
                self.stats["dropped"] += 1
                self.stats["malformed"] += 1
            elif self.rate.take(source_id(str(addr[0])) or str(addr[0])) \
                    and not self._answered_before(exc.partial, addr):
                self._answer(exc.partial, 400, addr, str(exc), level=logging.DEBUG)
            return
        if request is None or request.method == "ACK":
            self.stats["dropped"] += 1
            return
        peer = self.real_source(request, addr) or str(addr[0])
        if not self.rate.take(source_id(peer) or peer):
            self.stats["rate limited"] += 1
            return
        if self._answered_before(request, addr):
            return
        key = transaction_key(request, addr)
        if request.method != "NOTIFY":
            self._answer(request, 405, addr, f"{request.method} is not taken here; only NOTIFY",
                         {"Allow": "NOTIFY"}, level=logging.DEBUG)
            return
        event = request.get("event")
        if event is None:
            self._answer(request, 400, addr, f"no Event header (expected Event: {EVENT})")
            return
        package = event.split(";", 1)[0].strip()
        if package.upper() != EVENT and package.lower() not in (xml_push.SIP_EVENT,
                                                                check_sync.SIP_EVENT,
                                                                mwi.SIP_EVENT):
            self._answer(request, 489, addr, f"event {package!r} is not taken here; only {EVENT}",
                         {"Allow-Events": EVENT})
            return
        settings = self.host.settings
        servers: frozenset[str] | None = frozenset()
        # Voicemail is taken from the accounts' servers only (net.mwi): their addresses always.
        if settings.get("sip.trust_ctrl", False) or package.lower() == mwi.SIP_EVENT:
            hosts = sip_server_hosts(settings)
            servers = self.servers.cached(hosts)
            if servers is None:
                self._decide_later(request, addr, hosts, key)
                return
        self._decide(request, addr, servers)

    def _answered_before(self, request: SipRequest, addr: Addr) -> bool:
        """A retransmission: answer it as the first time (or not yet, while that is pending)."""
        key = transaction_key(request, addr)
        known = self._known(key) if key is not None else None
        if known is None:
            return False
        self.stats["retransmission"] += 1
        if not isinstance(known, _Waiting):
            self._send(known, addr)
        return True

    def _decide_later(self, request: SipRequest, addr: Addr, hosts: tuple[str, ...],
                      key: tuple[str, ...] | None) -> None:
        if len(self._waiting) >= MAX_WAITING:
            self.stats["dropped"] += 1              # the sender retransmits; we catch up
            return
        if key is not None:
            self._remember(key, WAITING)

        async def later() -> None:
            try:
                self._decide(request, addr, await self.servers.resolve(hosts))
            except Exception:
                log.exception("SIP NOTIFY from %s could not be handled", addr[0])
            finally:
                if key is not None and isinstance(self._known(key), _Waiting):
                    self._answers.pop(key, None)

        task = asyncio.create_task(later(), name="sip-notify-trust")
        self._waiting.add(task)
        task.add_done_callback(self._waiting.discard)

    def real_source(self, request: SipRequest, addr: Addr) -> str | None:
        return real_source(self.edge, request.get(EDGE_SOURCE.lower()), addr)  # net.sip_edge_source

    def _login(self, request: SipRequest) -> Login:
        params = sip_digest.parse_authorization(request.get("authorization"))
        if params is None:
            return Login.NONE
        ok = sip_digest.verify(self.host.settings, params, request.method, self.nonces,
                               self.clock())
        return Login.VALID if ok else Login.WRONG

    def _decide(self, request: SipRequest, addr: Addr, servers: Iterable[str]) -> None:
        """An ACTION-URI request from ``addr``: who may (``core.trust``), then the keys."""
        peer = self.real_source(request, addr)
        if peer is None:
            self._answer(request, 403, addr, f"{FORBIDDEN}: no {EDGE_SOURCE} from the SIP edge")
            return
        if (request.get("event") or "").split(";", 1)[0].strip().lower() == mwi.SIP_EVENT:
            status, why = mwi.from_notify(self.host, request, peer, frozenset(servers))
            self._answer(request, status, addr, why)          # voicemail: net.mwi decides
            return
        decision = decide(Source(Transport.SIP, peer, frozenset(servers)),
                          RemoteRequest(login=self._login(request)), self.host.settings)
        if decision.why is Why.DISABLED:
            self._answer(request, 403, addr,
                         "Action URI is disabled (features.action_uri.enable = 0)")
            return
        if decision.why is Why.UNTRUSTED:
            lists = "features.action_uri_limit_ip" + (
                ", sip.trust_ctrl = 1" if self.host.settings.get("sip.trust_ctrl") else "")
            self._answer(request, 403, addr, f"{FORBIDDEN}: not a trusted source ({lists})")
            return
        if decision.why is Why.DIGEST_REQUIRED:
            self._answer(request, 401, addr, "account credentials required",
                         {"WWW-Authenticate": sip_digest.challenge(self.nonces.make(self.clock()))})
            return
        source = decision.source
        if decision.action is Action.ASK and source is not None:
            ask_user(self.host, source, via="SIP NOTIFY")
        if decision.action is not Action.ACT or source is None:
            self._answer(request, 403, addr, FORBIDDEN)      # denied, or being asked now
            return
        event = (request.get("event") or "").split(";", 1)[0].strip().lower()
        if event == xml_push.SIP_EVENT:                     # Yealink XML push: net.xml_push
            status, why = xml_push.from_notify(self.host, request.body, peer)
            self._answer(request, status, addr, why)
            return
        if event == check_sync.SIP_EVENT:                   # provision again: net.check_sync
            status, why = check_sync.from_notify(self.host, request.get("event") or "", source)
            self._answer(request, status, addr, why)
            return
        ctype = (request.get("content-type") or "").split(";", 1)[0].strip().lower()
        if ctype not in CONTENT_TYPES:
            self._answer(request, 415, addr, f"expected Content-Type: message/sipfrag, got "
                         f"{ctype or 'none'}", {"Accept": CONTENT_TYPES[0]})
            return
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            self._answer(request, 400, addr, "the body is not UTF-8 text")
            return
        # key=VALUE, as a query would carry it; lines of their own count as '&'.
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        try:
            inputs = request_inputs(self.host, parse_query("&".join(lines)))
        except ActionUriError as exc:
            self._answer(request, 400, addr, f"Bad request: {exc}")
            return
        perform(self.host, inputs, via=f"SIP NOTIFY from {source}")
        self._answer(request, 200, addr)

    # -------------------------------------------------------------- answers

    def _answer(self, request: SipRequest, status: int, addr: Addr, why: str | None = None,
                extra: dict[str, str] | None = None, *, level: int = logging.INFO) -> None:
        host = source_id(str(addr[0])) or str(addr[0])
        tag = new_tag()
        data = response(request, status, (host, int(addr[1])), tag=tag, extra=extra,
                        warning=why, server=SERVER)
        if len(data) > request.size:
            # Never more bytes out than in: first without the reason and the Server line.
            data = response(request, status, (host, int(addr[1])), tag=tag, extra=extra,
                            server="")
            if len(data) > request.size:
                self.stats["too large to answer"] += 1
                return
        skipped = self.logged.allow(host)
        if skipped is not None:
            log.log(level, "SIP %s from %s: %d%s%s", request.method, host, status,
                    f" ({why})" if why else "", left_out(skipped))
        self.stats[str(status)] += 1
        key = transaction_key(request, addr)
        if key is not None:
            self._remember(key, data)
        self._send(data, addr)

    def _send(self, data: bytes, addr: Addr) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.sendto(data, addr)

    def _known(self, key: tuple[str, ...]) -> bytes | _Waiting | None:
        entry = self._answers.get(key)
        if entry is None or entry[0] <= self.clock():
            return None
        return entry[1]

    def _remember(self, key: tuple[str, ...], answer: bytes | _Waiting) -> None:
        now = self.clock()
        while self._answers:                                 # the oldest first: drop the expired
            first = next(iter(self._answers.values()))
            if first[0] > now:
                break
            self._answers.popitem(last=False)
        self._answers.pop(key, None)
        self._answers[key] = (now + ANSWER_TTL, answer)
        while len(self._answers) > MAX_ANSWERS:
            self._answers.popitem(last=False)


async def _bound_socket(bind: str, port: int) -> socket.socket:
    """A UDP socket on ``bind``: "" = every interface, IPv6 and IPv4 when the host has IPv6."""
    if not bind:
        try:
            sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        except OSError:
            sock = None
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                sock.bind(("::", port))
                sock.setblocking(False)
                return sock
            except OSError:
                sock.close()
        bind = "0.0.0.0"
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(bind, port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.bind(address)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def transaction_key(request: SipRequest, addr: Addr) -> tuple[str, ...] | None:
    """The retransmission cache key: the SIP transaction, and who sent it.

    The source address is part of it so that another host replaying a trusted
    server's NOTIFY never gets that server's cached answer.
    """
    transaction = request.transaction
    return None if transaction is None else (str(addr[0]), *transaction)
