"""What the phone serves over HTTP(S): the Action URI servlet and the web pages, on one app.

One ``LoginThrottle`` is shared, so wrong passwords count the same whether
they come with a remote key or through the login page.
"""

from __future__ import annotations

import logging
from ..core.trust import Verdict, remote_control
from ..host import PhoneHost
from .api import Api
from .auth import LoginThrottle
from .http_server import HttpServer
from .request_guard import RequestGuard
from .servlet import Servlet
from .tls import CertificateError, ensure_certificate, server_context
from .webui import WebUI

log = logging.getLogger("deskphone.web")


class PhoneWeb:
    def __init__(self, host: PhoneHost) -> None:
        self.host = host
        self.throttle = LoginThrottle()
        self.ui = WebUI(host, self.throttle)
        self.servlet = Servlet(host, self.throttle, pages=self.ui.handle)
        # The JSON API: the same throttle, and the web pages' login session opens it too.
        self.api = Api(host, self.throttle, logged_in=self.ui.logged_in)

    def install(self, http: HttpServer) -> None:
        # Before any route: Host, cross-site and the trust decision ahead of a body.
        http.app.middlewares.append(RequestGuard(self.host).middleware)
        http.guard.trusted = self._trusted
        self.servlet.install(http.app)
        self.api.install(http.app)

    def _trusted(self, source: str) -> bool:
        """On features.action_uri_limit_ip: more connections at once (``net.http_guard``)."""
        return remote_control(self.host.settings, source) not in (Verdict.UNTRUSTED,
                                                                  Verdict.DISABLED)

    async def start_https(self, http: HttpServer, port: int) -> bool:
        """Add the HTTPS listener; a failure costs a log line, never the phone's start."""
        device = self.host.device
        try:
            cert, key = await ensure_certificate(
                self.host.state_dir, f"deskphone-{device.mac}",
                tuple(a for a in (device.ip,) if a))
            await http.start_tls(port, server_context(cert, key))
        except (CertificateError, OSError) as exc:
            log.error("HTTPS not available on port %d: %s", port, exc)
            return False
        return True
