"""The phone's HTTP listener (aiohttp, embedded with AppRunner in the daemon's own loop).

``/`` sends a browser to the status page (behind the admin login: the phone's
state is nobody else's business); the Action URI servlet and the web pages
plug their routes into the same ``web.Application``.
"""

from __future__ import annotations

import logging
import ssl

from aiohttp import web

log = logging.getLogger("deskphone.http")

STATUS_PAGE = "/servlet?p=status&q=load"


class HttpServer:
    def __init__(self, bind: str, port: int, *, plain: bool = True) -> None:
        self.bind, self.port = bind, port
        self.plain = plain                  # static.wui.http_enable
        self.https_port: int | None = None  # set once the HTTPS site listens
        self.app = web.Application()
        self.app.router.add_get("/", self._index)
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        if not self.plain:
            log.info("HTTP off (static.wui.http_enable = 0)")
            return
        self.port = await self._site(self.port)
        log.info("HTTP on %s:%d", self.bind or "*", self.port)

    async def start_tls(self, port: int, context: ssl.SSLContext) -> None:
        """Serve the same application over HTTPS too (after ``start``)."""
        self.https_port = await self._site(port, context)
        log.info("HTTPS on %s:%d", self.bind or "*", self.https_port)

    async def _site(self, port: int, context: ssl.SSLContext | None = None) -> int:
        assert self._runner is not None, "start() first"
        site = web.TCPSite(self._runner, self.bind or None, port, ssl_context=context)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        return sockets[0].getsockname()[1] if sockets else port  # the real port when 0 was asked

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _index(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(STATUS_PAGE)
