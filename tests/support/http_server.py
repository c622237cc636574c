"""The one way tests serve HTTP: an aiohttp application on 127.0.0.1, port 0 (any free one).

    async with LocalHttpServer(app) as server:
        ... server.url, server.port ...

or ``await server.start()`` / ``await server.stop()`` for a server a fixture
keeps. A listening socket made elsewhere (inside a network namespace) is
served instead of a new one when given.
"""

from __future__ import annotations

import socket

from aiohttp import web


class LocalHttpServer:
    def __init__(self, app: web.Application, *, sock: socket.socket | None = None,
                 backlog: int = 128) -> None:
        self.app = app
        self._sock = sock
        self._backlog = backlog         # the benchmarks' load opens hundreds of connections at once
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> "LocalHttpServer":
        # A short shutdown timeout: a test's server is stopped with requests maybe in flight.
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        if self._sock is not None:
            site: web.BaseSite = web.SockSite(self._runner, self._sock, backlog=self._backlog)
        else:
            site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=self._backlog)
        await site.start()
        server = site._server
        assert server is not None and server.sockets       # type: ignore[union-attr]
        self.port = server.sockets[0].getsockname()[1]     # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "LocalHttpServer":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
