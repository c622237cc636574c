"""A real Action URL receiver on 127.0.0.1 for tests: records every GET, lets a test await one."""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass

from aiohttp import web

from .http_server import LocalHttpServer


@dataclass
class Hit:
    event: str                  # the last path segment: our test configs use the event id
    query: dict[str, list[str]]
    raw_query: str
    at: float                   # time.monotonic() on arrival

    def __getitem__(self, name: str) -> str:
        values = self.query.get(name, [])
        assert len(values) == 1, f"{name!r} should arrive as exactly one value, got {values!r}"
        return values[0]


class Receiver:
    """``sock``: a listening socket made elsewhere (inside a network namespace) to serve on."""

    def __init__(self, sock: socket.socket | None = None) -> None:
        self.hits: list[Hit] = []
        self._new = asyncio.Condition()
        self._consumed = 0
        self.port = 0
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        self._server = LocalHttpServer(app, sock=sock)
        self.delay = 0.0
        self.status = 200

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> "Receiver":
        self.port = (await self._server.start()).port
        return self

    async def stop(self) -> None:
        await self._server.stop()

    async def _handle(self, request: web.Request) -> web.Response:
        from urllib.parse import parse_qs
        hit = Hit(request.path.rstrip("/").rsplit("/", 1)[-1],
                  parse_qs(request.query_string, keep_blank_values=True),
                  request.query_string, time.monotonic())
        async with self._new:
            self.hits.append(hit)
            self._new.notify_all()
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.Response(status=self.status, text="ok")

    def events(self) -> list[str]:
        return [h.event for h in self.hits]

    async def wait(self, event: str, timeout: float = 3.0, after: float | None = None) -> Hit:
        """The first request for ``event`` (arrived after ``after``, a monotonic time)."""
        def find() -> Hit | None:
            return next((h for h in self.hits
                         if h.event == event and (after is None or h.at >= after)), None)
        async with asyncio.timeout(timeout):
            async with self._new:
                await self._new.wait_for(lambda: find() is not None)
        hit = find()
        assert hit is not None
        return hit

    async def quiet(self, seconds: float = 0.2) -> None:
        """Let in-flight requests land, for tests that assert something did NOT arrive."""
        await asyncio.sleep(seconds)
