"""What the phone serves over HTTP(S): the Action URI servlet and the web pages, on one app.

One ``LoginThrottle`` is shared, so wrong passwords count the same whether
they come with a remote key or through the login page.
"""

from __future__ import annotations

import logging
from ..host import PhoneHost
from .auth import LoginThrottle
from .http_server import HttpServer
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

    def install(self, http: HttpServer) -> None:
        self.servlet.install(http.app)

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
