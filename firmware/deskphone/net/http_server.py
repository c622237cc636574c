"""The phone's HTTP listener (aiohttp, embedded with AppRunner in the daemon's own loop).

``/`` sends a browser to the status page (behind the admin login: the phone's
state is nobody else's business); the Action URI servlet and the web pages
plug their routes into the same ``web.Application``.

Every connection passes a ``ConnectionGuard`` (``net.http_guard``: the
descriptor budget, per-source limits, idle and request timeouts) before aiohttp
reads a byte; bodies are capped at ``MAX_BODY``. The sockets are the loop's own
(``loop.create_server``), so the guard sees each connection as it opens.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Awaitable, Callable

from aiohttp import web

from .http_guard import ConnectionGuard, FloodLogFilter

log = logging.getLogger("deskphone.http")

STATUS_PAGE = "/servlet?p=status&q=load"
MAX_BODY = 128 * 1024       # the largest body anyone may send (the servlet's POSTed form)
TLS_HANDSHAKE_TIMEOUT = 10.0
FLOOD_FILTER = FloodLogFilter()
logging.getLogger("aiohttp.server").addFilter(FLOOD_FILTER)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class HttpServer:
    def __init__(self, bind: str, port: int, *, plain: bool = True,
                 guard: ConnectionGuard | None = None) -> None:
        self.bind, self.port = bind, port
        self.plain = plain                  # static.wui.http_enable
        self.https_port: int | None = None  # set once the HTTPS site listens
        self.guard = guard or ConnectionGuard()
        self.app = web.Application(client_max_size=MAX_BODY, middlewares=[self._guarded])
        self.app.router.add_get("/", self._index)
        self._runner: web.AppRunner | None = None

    @web.middleware
    async def _guarded(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """A request is busy (no idle timeout) while it runs, and runs at most so long."""
        transport = request.transport
        self.guard.begin(transport)
        # A WebSocket (/sim) lives as long as its page: its heartbeat, not this timeout, ends it.
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        try:
            async with asyncio.timeout(None if upgrade else self.guard.request_timeout):
                return await handler(request)
        except TimeoutError:
            self.guard.stats["request timeout"] += 1
            raise web.HTTPRequestTimeout(text="request not complete in time\n",
                                         headers={"Connection": "close"}) from None
        finally:
            self.guard.end(transport)

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False,
                                     shutdown_timeout=0.5)
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
        site = GuardedSite(self._runner, self.bind or None, port, guard=self.guard,
                           ssl_context=context)
        await site.start()
        return site.port                    # the real port when 0 was asked

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _index(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(STATUS_PAGE)


class GuardedSite(web.TCPSite):
    """aiohttp's TCP site with every connection passing the ``ConnectionGuard`` first."""
    __slots__ = ("_guard",)

    def __init__(self, runner: web.BaseRunner, host: str | None, port: int, *,
                 guard: ConnectionGuard, ssl_context: ssl.SSLContext | None = None) -> None:
        # The accept queue stays aiohttp's 128: asyncio accepts a whole queue in one go,
        # before any refusal closes, so a deep one (measured: 1,024) runs past the
        # descriptor budget under a connect flood.
        super().__init__(runner, host, port, ssl_context=ssl_context, reuse_address=True)
        self._guard = guard

    async def start(self) -> None:
        await web.BaseSite.start(self)          # registers the site with the runner
        server = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._guard.factory(server), self._host, self._port, ssl=self._ssl_context,
            backlog=self._backlog, reuse_address=self._reuse_address,
            ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT if self._ssl_context else None)
        sockets = self._server.sockets or []
        self._bound_port = sockets[0].getsockname()[1] if sockets else self._port
