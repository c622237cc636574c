"""The phone's web app (servlet and pages) over a ``FakeHost`` (tests/net/fake_host.py),
served on 127.0.0.1 port 0 by the one test server helper.

    async with ServletOnHost(tmp_path, {"features.action_uri_limit_ip": "127.0.0.1"}) as s:
        status, text = await s.get("/servlet?key=OK")
        s.host.posted     # what the servlet gave the phone

For tests that replay a client's request shape against the servlet without a whole
phone (tests/compat, tests/adversarial).
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import aiohttp
from aiohttp import web

from deskphone.net.web import PhoneWeb
from net.fake_host import FakeHost

from .http_server import LocalHttpServer

TRUSTED = {"features.action_uri_limit_ip": "127.0.0.1", "deskphone.trust.127.0.0.1": "allow"}


class ServletOnHost:
    def __init__(self, state_dir: Path, config: Mapping[str, object] | None = None) -> None:
        self.host = FakeHost(state_dir, {**TRUSTED, **dict(config or {})})
        app = web.Application()
        PhoneWeb(self.host).servlet.install(app)
        self._server = LocalHttpServer(app)

    @property
    def url(self) -> str:
        return self._server.url

    async def __aenter__(self) -> "ServletOnHost":
        await self._server.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.stop()

    async def get(self, path: str, **kw: object) -> tuple[int, str]:
        """GET ``path`` as written (no re-quoting): status and text."""
        async with aiohttp.ClientSession() as session:
            url = self.url + path
            async with session.get(url if "%" not in path else _raw(url), **kw) as resp:
                return resp.status, await resp.text(errors="replace")


def _raw(url: str) -> object:
    import yarl
    return yarl.URL(url, encoded=True)
