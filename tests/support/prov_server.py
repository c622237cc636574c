"""A provisioning server for tests: real HTTP on 127.0.0.1, optional basic auth."""

from __future__ import annotations

import base64

from aiohttp import web

from .http_server import LocalHttpServer


class ProvServer:
    """Serves ``files`` under /prov/, asking for basic auth when ``auth`` is set."""

    def __init__(self, files: dict[str, str], auth: tuple[str, str] | None = None) -> None:
        self.files = files
        self.auth = auth
        self.requests: list[tuple[str, str | None]] = []
        self.redirects: dict[str, str] = {}      # name -> Location of a 302
        self.port = 0
        app = web.Application()
        app.router.add_get("/prov/{name}", self._handle)
        self._server = LocalHttpServer(app)

    async def __aenter__(self) -> "ProvServer":
        self.port = (await self._server.start()).port
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/prov/"

    async def _handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        header = request.headers.get("Authorization")
        self.requests.append((name, header))
        if self.auth is not None:
            expected = "Basic " + base64.b64encode(":".join(self.auth).encode()).decode()
            if header != expected:
                return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="p"'})
        if name in self.redirects:
            raise web.HTTPFound(self.redirects[name])
        if name not in self.files:
            raise web.HTTPNotFound()
        return web.Response(text=self.files[name])
