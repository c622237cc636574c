"""Watch the phone's IP address: netlink tells us when addresses or routes change.

A raw ``AF_NETLINK`` / ``NETLINK_ROUTE`` socket subscribed to the address and
route groups (IPv4 and IPv6) wakes the watcher, read with
``loop.add_reader``: no polling, no dependency. A change is only a trigger:
the address the phone reports (``$ip``) is always the one its SIP traffic
leaves from, ``hw.netinfo.outbound_ip`` towards the account's server (or
its outbound proxy), worked out in a thread because it may need DNS. Bursts
(DHCP adds an address, then a route) are settled into one check, and a slow
re-check (every ``RECHECK`` seconds) catches what netlink cannot see: the
server's name now resolving elsewhere. When the phone has no route at all it
keeps the last address rather than reporting none.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from dataclasses import dataclass
from typing import Awaitable, Callable, Mapping

from ..core.accounts import enabled_accounts
from .netinfo import outbound_ip

log = logging.getLogger("deskphone.netwatch")

# linux/rtnetlink.h
RTMGRP_IPV4_IFADDR = 0x10
RTMGRP_IPV4_ROUTE = 0x40
RTMGRP_IPV6_IFADDR = 0x100
RTMGRP_IPV6_ROUTE = 0x400
GROUPS = RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE
RTM_NEWADDR, RTM_DELADDR, RTM_NEWROUTE, RTM_DELROUTE = 20, 21, 24, 25
NLMSG_ERROR, NLMSG_DONE = 2, 3
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL = 1, 2, 3

_NLMSGHDR = struct.Struct("=IHHII")      # length, type, flags, sequence, port id
_IFADDRMSG = struct.Struct("=BBBBI")     # family, prefix length, flags, scope, interface index
_RTATTR = struct.Struct("=HH")           # length, type

PROBE = "192.0.2.1"    # TEST-NET-1: "the default route" when no server is set (nothing is sent)
SETTLE = 0.5           # seconds: one check after a burst of changes
RECHECK = 30.0         # seconds between slow re-checks (never faster than every few seconds)
LOOKUP_TIMEOUT = 5.0


@dataclass(frozen=True)
class NetChange:
    kind: str                    # "address added" | "address removed" | "route"
    address: str = ""
    interface: str = ""          # the label (eth0), or "#<index>"


def _align(n: int) -> int:
    return (n + 3) & ~3


def parse_messages(data: bytes) -> list[NetChange]:
    """The address and route changes in one netlink datagram (other messages are skipped)."""
    changes = []
    offset = 0
    while offset + _NLMSGHDR.size <= len(data):
        length, kind, _flags, _seq, _pid = _NLMSGHDR.unpack_from(data, offset)
        if length < _NLMSGHDR.size or offset + length > len(data):
            break                               # truncated: stop rather than misread
        body = data[offset + _NLMSGHDR.size: offset + length]
        if kind in (RTM_NEWADDR, RTM_DELADDR) and len(body) >= _IFADDRMSG.size:
            changes.append(_address_change(kind, body))
        elif kind in (RTM_NEWROUTE, RTM_DELROUTE):
            changes.append(NetChange("route"))
        offset += _align(length)
    return changes


def _address_change(kind: int, body: bytes) -> NetChange:
    family, _prefix, _flags, _scope, index = _IFADDRMSG.unpack_from(body)
    attrs: dict[int, bytes] = {}
    pos = _align(_IFADDRMSG.size)
    while pos + _RTATTR.size <= len(body):
        rta_len, rta_type = _RTATTR.unpack_from(body, pos)
        if rta_len < _RTATTR.size or pos + rta_len > len(body):
            break
        attrs[rta_type] = body[pos + _RTATTR.size: pos + rta_len]
        pos += _align(rta_len)
    raw = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS) or b""
    try:
        address = socket.inet_ntop(family, raw) if raw else ""
    except (ValueError, OSError):
        address = ""
    label = attrs.get(IFA_LABEL, b"").split(b"\0", 1)[0].decode(errors="replace")
    return NetChange("address added" if kind == RTM_NEWADDR else "address removed", address,
                     label or f"#{index}")


def open_netlink_socket(groups: int = GROUPS) -> socket.socket:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                         socket.NETLINK_ROUTE)
    try:
        sock.bind((0, groups))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def sip_target(settings: Mapping[str, object]) -> str:
    """Where the phone's SIP traffic goes: the first enabled account's proxy or server."""
    for acc in enabled_accounts(settings):
        if acc.outbound_proxy_enable and acc.outbound_host:
            return acc.outbound_host
        if acc.server:
            return acc.server
    return ""


async def current_ip(server: str, timeout: float = LOOKUP_TIMEOUT) -> str:
    """The address SIP traffic to ``server`` leaves from ("" when there is no route)."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(outbound_ip, server or PROBE, ""), timeout)
    except TimeoutError:
        log.warning("looking up %s took over %.0f s; IP address not checked", server, timeout)
        return ""


class NetWatcher:
    def __init__(self, on_change: Callable[[str], None], server: Callable[[], str], *,
                 ip: str = "", open_socket: Callable[[], socket.socket] = open_netlink_socket,
                 lookup: Callable[[str], Awaitable[str]] = current_ip,
                 settle: float = SETTLE, recheck: float = RECHECK) -> None:
        self.on_change = on_change
        self.lookup = lookup
        self.server = server
        self.ip = ip
        self.open_socket = open_socket
        self.settle = settle
        self.recheck = recheck
        self.checks = 0                 # how many times the address was worked out
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            self._sock = self.open_socket()
        except OSError as exc:
            log.warning("cannot watch address changes (netlink: %s); checking every %.0f s "
                        "instead", exc, self.recheck)
        else:
            self._loop.add_reader(self._sock.fileno(), self._readable)
        self._spawn(self._recheck_loop())

    async def stop(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        if self._sock is not None:
            if self._loop is not None:
                self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _readable(self) -> None:
        assert self._sock is not None
        changed = False
        while True:
            try:
                data = self._sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:          # ENOBUFS: the kernel dropped messages; just check
                log.debug("netlink: %s", exc)
                changed = True
                break
            for change in parse_messages(data):
                log.debug("network: %s %s %s", change.kind, change.address, change.interface)
                changed = True
        if changed:
            self.request_check()

    def request_check(self) -> None:
        """Check soon (once for a burst): the network or the SIP server setting changed."""
        if self._pending is None and self._loop is not None:
            self._pending = self._loop.call_later(self.settle, self._settled)

    def _settled(self) -> None:
        self._pending = None
        self._spawn(self.check())

    async def check(self) -> None:
        """Work out the address now; tell ``on_change`` if it is new."""
        self.checks += 1
        ip = await self.lookup(self.server())
        if ip and ip != self.ip:
            log.info("IP address %s -> %s", self.ip or "none", ip)
            self.ip = ip
            self.on_change(ip)

    async def _recheck_loop(self) -> None:
        while True:
            await asyncio.sleep(self.recheck)
            await self.check()

    def _spawn(self, coro) -> None:  # type: ignore[no-untyped-def]
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
