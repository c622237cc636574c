"""The compatibility suite: public clients' and receivers' exact shapes against this phone.

Every test names the project (owner/repo) and the file its request shape or its
parsing comes from, and what that project expects back. The phone is the whole
phone on the simulated board (tests/support/phone.py) with the default hook
debounce and timeouts, or the servlet on a fake host (tests/support/servlet_on_host.py).
"""

from __future__ import annotations

import asyncio
from typing import Callable

import pytest
from aiohttp import web

from support.http_server import LocalHttpServer
from support.phone import settle, start_phone

PASSWORD = "Sesame-42"
# A trusted client as the integrators' READMEs set the phone up (Action URI allowed for the
# client's address, no on-screen prompt, an admin password); hook debounce and timeouts
# stay at their defaults (tests/support/phone.py sets the debounce to 0: put it back).
COMPAT = f"""\
features.action_uri_limit_ip = 127.0.0.1
features.show_action_uri_option = 0
static.security.user_password = admin:{PASSWORD}
deskphone.hook.debounce_ms = 30
"""
REQUIRE_AUTH = "deskphone.action_uri_require_auth = 1\n"


@pytest.fixture
async def yealink(tmp_path, receiver):
    """``await yealink(extra="", url_for=None)``: a whole phone as the clients find it."""
    apps = []

    async def start(extra: str = "", url_for: dict[str, str] | None = None):
        home = tmp_path / f"phone{len(apps)}"
        home.mkdir()
        app = await start_phone(home, receiver.base, extra=COMPAT + extra, url_for=url_for)
        apps.append(app)
        await receiver.wait("registered")
        await settle(app)
        return app

    yield start
    for app in apps:
        await app.stop()


class ProjectReceiver:
    """An Action URL receiver on 127.0.0.1 that parses each GET as one project does.

    ``parse(request)`` returns what the project would make of the request (or raises, as
    the project would fail); the results are kept in order for the test to await.
    """

    def __init__(self, parse: Callable[[web.Request], object],
                 answer: Callable[[object], web.Response] | None = None) -> None:
        self.parsed: list[object] = []
        self._parse = parse
        self._answer = answer or (lambda _result: web.Response(text="OK"))
        self._new = asyncio.Condition()
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        self._server = LocalHttpServer(app)

    @property
    def base(self) -> str:
        return self._server.url

    async def _handle(self, request: web.Request) -> web.Response:
        result = self._parse(request)
        async with self._new:
            self.parsed.append(result)
            self._new.notify_all()
        return self._answer(result)

    async def next(self, count: int = 1, timeout: float = 3.0) -> list[object]:
        async with asyncio.timeout(timeout):
            async with self._new:
                await self._new.wait_for(lambda: len(self.parsed) >= count)
        return self.parsed[:count]


@pytest.fixture
async def project_receiver():
    """``await project_receiver(parse)``: a ProjectReceiver, stopped after the test."""
    started: list[ProjectReceiver] = []

    async def start(parse, answer=None) -> ProjectReceiver:
        rx = ProjectReceiver(parse, answer)
        await rx._server.start()
        started.append(rx)
        return rx

    yield start
    for rx in started:
        await rx._server.stop()
