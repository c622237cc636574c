"""A small Action URL receiver for ``deskphone sim``: prints every request it gets."""

from __future__ import annotations

from typing import Callable
from urllib.parse import unquote

from aiohttp import web

from ..core.events import BY_ID


class PrintingReceiver:
    def __init__(self, port: int, out: Callable[[str], None] = print) -> None:
        self.port = port
        self.out = out
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                     shutdown_timeout=0.2)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        event = request.path.strip("/").split("/")[-1]
        name = BY_ID[event].name if event in BY_ID else event
        shown = " ".join(f"{k}={v}" for k, v in request.query.items() if v)
        self.out(f"  <- Action URL {name}: {unquote(shown)}")
        return web.Response(text="ok")
