"""The phone's HTTP listener (aiohttp, embedded with AppRunner in the daemon's own loop).

It answers ``/`` with the phone's status today; the Action URI servlet and the
web pages plug their routes into the same ``web.Application``.
"""

from __future__ import annotations

import logging
from typing import Callable

from aiohttp import web

log = logging.getLogger("deskphone.http")


class HttpServer:
    def __init__(self, bind: str, port: int, status: Callable[[], str]) -> None:
        self.bind, self.port = bind, port
        self.app = web.Application()
        self.app.router.add_get("/", self._index)
        self._status = status
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.bind or None, self.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]   # the real port when 0 was asked for
        log.info("HTTP on %s:%d", self.bind or "*", self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(text=self._status() + "\n")
