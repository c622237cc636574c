"""Checks every HTTP request passes before any handler reads it: names, sites, trust.

1. **Host** must name this phone: the address the connection arrived on, the
   phone's IP, ``localhost`` on a loopback connection, the host name (and
   ``<name>.local``), or a name in ``deskphone.http_host_names`` (``*`` there
   takes any Host: behind a port forward or a reverse proxy). A request
   without Host (HTTP/1.0) passes: only a browser can be made to rebind a name,
   and browsers always send one. Otherwise 421 (RFC 9110 15.5.20): a DNS
   rebinding page (``Host: evil.example``) reads nothing.
2. **Cross-site**: a browser marks a request another site's page made, with
   ``Sec-Fetch-Site: cross-site`` / ``same-site`` or (a browser without
   Sec-Fetch-*) an ``Origin`` that is not this phone (``null`` included).
   Such a request gets 403 on every path (the servlet, the pages, the
   screenshot, ``/sim``), unless ``deskphone.http_allow_cross_site = 1``.
   A PBX or a script sends neither header, and passes.
3. **Trust before the body**: a POST to a servlet path from a source that is
   not on ``features.action_uri_limit_ip`` (or with Action URI off) gets 403
   and the connection is closed before a byte of its body is read, so an
   untrusted host cannot make the phone hold bodies. The web pages' own POSTs
   (``p=...``) are not Action URI and are held to ``MAX_BODY`` as any body is.

Refusals are logged per source through a ``LogLimiter``.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from typing import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from ..core.trust import Verdict, remote_control, source_id
from ..host import PhoneHost
from . import xml_push
from .log_limit import LogLimiter, left_out

log = logging.getLogger("deskphone.http")

SERVLET_PATHS = ("/servlet", "/cgi-bin/ConfigManApp.com", "/cgi-bin/cgiServer.exx")
CROSS_SITE = ("cross-site", "same-site")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _host_part(value: str) -> str:
    """``name:port`` / ``[v6]:port`` / ``name`` -> the host, lower case, no brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value.rstrip(".")


class RequestGuard:
    def __init__(self, host: PhoneHost) -> None:
        self.host = host
        self.logged = LogLimiter()
        name = socket.gethostname().lower()
        self._names = {name, f"{name}.local"} if name else set()
        self._cached_for: object = None
        self._cache: dict[str, set[str]] = {}

    def own_names(self, request: web.Request) -> set[str]:
        """The names this phone answers to on the connection ``request`` came by (cached per
        local address while the settings stay the same: it is asked on every request)."""
        transport = request.transport
        local = transport.get_extra_info("sockname") if transport is not None else None
        address = str(local[0]) if isinstance(local, (tuple, list)) and local else ""
        settings = self.host.settings
        if settings is not self._cached_for:
            self._cached_for, self._cache = settings, {}
        names = self._cache.get(address)
        if names is None:
            names = self._cache[address] = self._names_for(address, settings)
        return names

    def _names_for(self, address: str, settings) -> set[str]:
        names = set(self._names)
        extra = str(settings.get("deskphone.http_host_names", "") or "")
        names |= {n.strip().lower().rstrip(".") for n in extra.split(",") if n.strip()}
        ip = self.host.device.ip
        if ip:
            names.add(ip.lower())
        source = source_id(address) if address else None
        if source:
            names.add(source.lower())
            names.add(address.split("%", 1)[0].lower())
            if ipaddress.ip_address(source).is_loopback:
                names |= {"localhost", "localhost.localdomain"}
        return names

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        refusal = self.check(request)
        if refusal is not None:
            status, why = refusal
            peer = request.remote or "?"
            skipped = self.logged.allow(peer)
            if skipped is not None:
                log.info("HTTP %s %s from %s refused: %s%s", request.method, request.path,
                         peer, why, left_out(skipped))
            response = web.Response(status=status, text=why + "\n", content_type="text/plain")
            response.force_close()
            await response.prepare(request)
            await response.write_eof()
            # Then close (the transport sends what it holds first): no body is read or waited for.
            request.protocol.force_close()
            return response
        return await handler(request)

    def check(self, request: web.Request) -> tuple[int, str] | None:
        names = self.own_names(request)
        given = request.headers.get("Host")
        if given is not None and _host_part(given) not in names and "*" not in names:
            return 421, "Misdirected request: this phone is not " + repr(given[:60])
        settings = self.host.settings
        if not settings.get("deskphone.http_allow_cross_site", False):
            site = request.headers.get("Sec-Fetch-Site", "").strip().lower()
            origin = request.headers.get("Origin")
            if site in CROSS_SITE:
                return 403, "Forbidden: a request from another site's page"
            # A browser that sends Sec-Fetch-Site says it right; Origin is the older sign
            # (and "null" from our own pages under some referrer policies).
            if not site and origin is not None and not self._own_origin(origin, names):
                return 403, "Forbidden: a request from another site's page (Origin)"
        if request.method == "POST" and request.path in SERVLET_PATHS \
                and "p" not in request.rel_url.query:
            peer = request.transport.get_extra_info("peername") if request.transport else None
            address = str(peer[0]) if isinstance(peer, (tuple, list)) and peer else None
            # An XML push is trusted by push_xml.server when that is set (net.xml_push).
            verdict = remote_control(xml_push.push_settings(settings)
                                     if "push" in request.rel_url.query else settings, address)
            if verdict is Verdict.DISABLED:
                return 403, "Action URI is disabled (features.action_uri.enable = 0)"
            if verdict is Verdict.UNTRUSTED:
                return 403, "Remote control forbidden: this address is not a trusted source"
        return None

    @staticmethod
    def _own_origin(origin: str, names: set[str]) -> bool:
        parts = urlsplit(origin.strip())
        return parts.scheme in ("http", "https") and (parts.hostname or "") in names
