"""Who may remote-control the phone: the trusted-source list and the per-source decision.

Pure: no sockets, no clock. ``core.remote_control.decide`` (the one ladder the
servlet and the SIP NOTIFY listener share) asks it for the ``Verdict`` on a
peer address as the socket reports it, under the effective settings. Only the
peer address counts: a header such as ``X-Forwarded-For`` is written by the
client and proves nothing.

``features.action_uri_limit_ip`` (Yealink): blank = nobody (the default),
``any`` = everybody, else a comma list of addresses with ``*`` per IPv4 octet
(``10.10.*.*``). Beyond Yealink: CIDR blocks (``10.0.0.0/8``) and IPv6. An
IPv4 peer reaching a dual-stack socket shows up as ``::ffff:a.b.c.d``; it is
the same host, so it matches its IPv4 entry (and is remembered under it).
"""

from __future__ import annotations

import enum
import functools
import ipaddress
from dataclasses import dataclass
from typing import Collection, Mapping

from ..errors import DeskphoneError
from .accounts import enabled_accounts

TRUST_PREFIX = "deskphone.trust."   # deskphone.trust.<source> = allow | deny (runtime state)
# A SIP NOTIFY's source is named apart from an HTTP one: over UDP the address is only what
# the datagram claims, so an "allow" given to a TCP peer must not open the UDP door.
# deskphone.trust.udp:10.0.0.7 is the UDP decision; deskphone.trust.10.0.0.7 (as keys were
# always stored) stays the HTTP one.
UDP_PREFIX = "udp:"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustListError(DeskphoneError, ValueError):
    """An entry of ``features.action_uri_limit_ip`` that is not an address, wildcard or block."""


def trust_key(source: str) -> str:
    """The runtime-state key that holds the allow/deny decision about ``source``."""
    return TRUST_PREFIX + source


def parse_peer(peer: str | None) -> Address | None:
    """The peer address as one host: IPv4-mapped IPv6 becomes IPv4, a zone id is dropped.

    None for anything that is not an IP address (a Unix socket, a missing peer).
    """
    if not peer:
        return None
    return _parse_peer(peer)


# Every request asks about its peer (an untrusted flood too): the few addresses
# a phone hears from are parsed once. Addresses are immutable; the cache is bounded.
@functools.lru_cache(maxsize=1024)
def _parse_peer(peer: str) -> Address | None:
    try:
        addr = ipaddress.ip_address(peer.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def source_id(peer: str | None) -> str | None:
    """The name a source is remembered by (``deskphone.trust.<source>``), or None."""
    return _source_id(peer) if peer else None


@functools.lru_cache(maxsize=1024)
def _source_id(peer: str) -> str | None:
    addr = _parse_peer(peer)
    return None if addr is None else str(addr)


@dataclass(frozen=True)
class _Wildcard:
    octets: tuple[int | None, ...]      # None = "*"

    def matches(self, addr: Address) -> bool:
        if not isinstance(addr, ipaddress.IPv4Address):
            return False
        parts = addr.packed
        return all(o is None or o == p for o, p in zip(self.octets, parts))


def _entry(item: str) -> Address | Network | _Wildcard:
    if "*" in item:
        parts = item.split(".")
        if len(parts) != 4 or not all(p == "*" or (p.isdigit() and len(p) <= 3 and int(p) <= 255)
                                      for p in parts):
            raise TrustListError(f"bad wildcard address {item!r} (expected like 10.1.*.*)")
        return _Wildcard(tuple(None if p == "*" else int(p) for p in parts))
    try:
        if "/" in item:
            net = ipaddress.ip_network(item, strict=False)
            if isinstance(net, ipaddress.IPv6Network) and net.prefixlen >= 96 \
                    and net.network_address.ipv4_mapped is not None:
                # ::ffff:10.0.0.0/104 names the same hosts as 10.0.0.0/8.
                return ipaddress.ip_network(
                    f"{net.network_address.ipv4_mapped}/{net.prefixlen - 96}", strict=False)
            return net
        addr = parse_peer(item)
        if addr is None:
            raise ValueError(item)
        return addr
    except ValueError:
        raise TrustListError(
            f"not an IP address, wildcard (10.1.*.*) or CIDR block: {item!r}") from None


class TrustedSources:
    """The parsed ``features.action_uri_limit_ip``; ``allows(peer)``: is the peer on it?"""

    def __init__(self, spec: str) -> None:
        text = (spec or "").strip()
        self.any = text.lower() == "any"
        self._entries: list[Address | Network | _Wildcard] = []
        if self.any or not text:
            return
        for raw in text.split(","):
            item = raw.strip()
            if not item:
                raise TrustListError("empty entry in the list (two commas in a row?)")
            self._entries.append(_entry(item))

    @property
    def empty(self) -> bool:
        return not self.any and not self._entries

    def allows(self, peer: str | None) -> bool:
        addr = parse_peer(peer)
        if addr is None:
            return False
        if self.any:
            return True
        for entry in self._entries:
            if isinstance(entry, _Wildcard):
                if entry.matches(addr):
                    return True
            elif isinstance(entry, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
                if addr.version == entry.version and addr in entry:
                    return True
            elif addr == entry:
                return True
        return False


@functools.lru_cache(maxsize=16)
def trusted_sources(spec: str) -> TrustedSources:
    """``TrustedSources(spec)``, parsed once per list (it is read on every request)."""
    return TrustedSources(spec)


class Verdict(enum.Enum):
    DISABLED = "disabled"       # features.action_uri.enable = 0: 403
    UNTRUSTED = "untrusted"     # not on the list: 403, nothing happens
    DENIED = "denied"           # the user pressed X on the prompt once: 403
    ASK = "ask"                 # no decision yet: 403 and the prompt
    ALLOWED = "allowed"         # act


def remote_control(settings: Mapping[str, object], peer: str | None) -> Verdict:
    """What to do with a remote-control request from ``peer``, before any credentials."""
    if not settings.get("features.action_uri.enable", True):
        return Verdict.DISABLED
    try:
        trusted = trusted_sources(str(settings.get("features.action_uri_limit_ip", "")))
    except TrustListError:
        return Verdict.UNTRUSTED    # the schema rejects bad lists; fail closed all the same
    source = source_id(peer)
    if source is None or not trusted.allows(peer):
        return Verdict.UNTRUSTED
    return _decision(settings, source)


def udp_source_id(peer: str | None) -> str | None:
    """The name a SIP NOTIFY source is remembered by: ``udp:<address>``, apart from HTTP's."""
    source = source_id(peer)
    return None if source is None else UDP_PREFIX + source


def sip_remote_control(settings: Mapping[str, object], peer: str | None,
                       servers: Collection[str] = ()) -> Verdict:
    """The verdict for an Action URI SIP NOTIFY from ``peer`` (an address, as the datagram says).

    Stricter than Yealink (whose NOTIFY obeys no trusted-IP list): the sender must be on
    ``features.action_uri_limit_ip`` as an HTTP peer must; with ``sip.trust_ctrl = 1`` it
    must also be one of ``servers``: the addresses the accounts' SIP servers and outbound
    proxies (``sip_server_hosts``) resolve to. The decision remembered is the UDP one
    (``udp:<address>``): an "allow" given over HTTP does not count here.
    """
    if not settings.get("features.action_uri.enable", True):
        return Verdict.DISABLED
    source = source_id(peer)
    if source is None:
        return Verdict.UNTRUSTED
    try:
        trusted = trusted_sources(str(settings.get("features.action_uri_limit_ip", "")))
    except TrustListError:
        return Verdict.UNTRUSTED
    if not trusted.allows(peer):
        return Verdict.UNTRUSTED
    if settings.get("sip.trust_ctrl", False) and source not in {source_id(s) for s in servers}:
        return Verdict.UNTRUSTED
    return _decision(settings, UDP_PREFIX + source)


def sip_server_hosts(settings: Mapping[str, object]) -> tuple[str, ...]:
    """The hosts ``sip.trust_ctrl`` trusts, as configured (names or addresses), sorted:
    each enabled account's SIP server, and its outbound proxy when that is enabled."""
    hosts = set()
    for acc in enabled_accounts(settings):
        hosts.add(acc.server.strip().strip("[]"))
        if acc.outbound_proxy_enable:
            hosts.add(acc.outbound_host.strip().strip("[]"))
    return tuple(sorted({h.lower() for h in hosts if h}))   # DNS names: case does not count


def _decision(settings: Mapping[str, object], source: str) -> Verdict:
    """A source that may ask: what the user decided about it, or ASK."""
    decision = settings.get(trust_key(source))
    if decision == "deny":
        return Verdict.DENIED
    if decision == "allow" or not settings.get("features.show_action_uri_option", True):
        return Verdict.ALLOWED
    return Verdict.ASK


def decisions(settings: Mapping[str, object]) -> dict[str, str]:
    """Every remembered source and its decision (allow / deny), sorted by source."""
    return {key.removeprefix(TRUST_PREFIX): str(value)
            for key, value in sorted(settings.items()) if key.startswith(TRUST_PREFIX)}
