"""A provisioning server for tests: real HTTP on 127.0.0.1, in the shapes real servers have.

  * ``auth=(user, password)`` with ``scheme="basic"`` or ``"digest"``: Digest as
    FusionPBX's app/provision/index.php challenges (``Digest realm=..., qop="auth",
    nonce=<uniqid>, opaque=<md5(realm)>``), checked with RFC 7616's MD5 formula;
  * ``user_agent``: a regex the User-Agent must match, or the server answers 404 as
    wazo-provd does for a device it cannot identify (the first entry of its Yealink
    plugins' ``BaseYealinkHTTPDeviceInfoExtractor._UA_REGEX_LIST``,
    ``^[yY]ealink\\s+SIP-(\\w+)\\s+([\\d.]+)\\s+([\\da-fA-F:]{17})$``);
  * ``split``: name -> seconds; that file is sent in two writes that far apart, with
    its Content-Length (issue 15, item 2);
  * ``short``: names sent with a Content-Length larger than the body, then closed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import uuid

from aiohttp import web

from deskphone.config.layers import ORDER_FILE, PROVISIONED

from .http_server import LocalHttpServer
from .phone import settle
from .waiting import until

WAZO_UA = re.compile(r"^[yY]ealink\s+SIP-(\w+)\s+([\d.]+)\s+([\da-fA-F:]{17})$")
REALM = "prov.example.org"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _digest_fields(header: str) -> dict[str, str]:
    return {m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
            for m in re.finditer(r'(\w+)=(?:"([^"]*)"|([^\s,]+))', header)}


class ProvServer:
    """Serves ``files`` (text or bytes) under /prov/."""

    def __init__(self, files: dict[str, str | bytes], auth: tuple[str, str] | None = None, *,
                 scheme: str = "basic", user_agent: re.Pattern[str] | None = None) -> None:
        self.files = files
        self.auth = auth
        self.scheme = scheme
        self.user_agent = user_agent
        self.requests: list[tuple[str, str | None]] = []
        self.agents: list[str] = []
        self.redirects: dict[str, str] = {}      # name -> Location of a 302
        self.split: dict[str, float] = {}
        self.short: set[str] = set()
        self.nonces: set[str] = set()
        self.port = 0
        app = web.Application()
        app.router.add_get("/prov/{name:.+}", self._handle)
        self._server = LocalHttpServer(app)

    async def __aenter__(self) -> "ProvServer":
        self.port = (await self._server.start()).port
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/prov/"

    def names(self) -> list[str]:
        return [name for name, _ in self.requests]

    def _authorized(self, request: web.Request, header: str | None) -> bool:
        assert self.auth is not None
        user, password = self.auth
        if self.scheme == "basic":
            return header == "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        if not header or not header.startswith("Digest "):
            return False
        f = _digest_fields(header)
        if f.get("nonce") not in self.nonces or f.get("opaque") != _md5(REALM):
            return False
        if f.get("uri") != request.path_qs or f.get("username") != user:
            return False
        ha1 = _md5(f"{user}:{REALM}:{password}")
        ha2 = _md5(f"GET:{f['uri']}")
        want = _md5(f"{ha1}:{f['nonce']}:{f.get('nc')}:{f.get('cnonce')}:{f.get('qop')}:{ha2}")
        return f.get("qop") == "auth" and f.get("response") == want

    def _challenge(self) -> web.Response:
        if self.scheme == "basic":
            return web.Response(status=401, headers={"WWW-Authenticate": f'Basic realm="{REALM}"'})
        nonce = uuid.uuid4().hex[:13]
        self.nonces.add(nonce)
        value = f'Digest realm="{REALM}",qop="auth",nonce="{nonce}",opaque="{_md5(REALM)}"'
        return web.Response(status=401, headers={"WWW-Authenticate": value},
                            text="Authorization Required")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        header = request.headers.get("Authorization")
        self.requests.append((name, header))
        self.agents.append(request.headers.get("User-Agent", ""))
        if self.auth is not None and not self._authorized(request, header):
            return self._challenge()
        if self.user_agent is not None and not self.user_agent.match(
                request.headers.get("User-Agent", "")):
            raise web.HTTPNotFound()
        if name in self.redirects:
            raise web.HTTPFound(self.redirects[name])
        if name not in self.files:
            raise web.HTTPNotFound()
        body = self.files[name]
        data = body.encode() if isinstance(body, str) else body
        if name in self.split or name in self.short:
            resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
            resp.content_length = len(data) + (100 if name in self.short else 0)
            await resp.prepare(request)
            half = len(data) // 4
            await resp.write(data[:half])
            await asyncio.sleep(self.split.get(name, 0.05))
            await resp.write(data[half:])
            if name in self.short:
                # What arrived is all there is: the connection ends mid-body.
                transport = request.transport
                if transport is not None:
                    transport.close()
                return resp
            await resp.write_eof()
            return resp
        return web.Response(body=data, content_type="text/plain")


def server_config(url: str, user: str = "", password: str = "", *,
                  yealink_names: bool = True) -> str:
    """The .cfg lines pointing a test phone at ``url`` with credentials: Yealink's
    ``server.username`` / ``.password``, or the phone's first spelling ``user_name``."""
    lines = [f"static.auto_provision.server.url = {url}"]
    if user:
        names = (("server.username", "server.password") if yealink_names
                 else ("user_name", "password"))
        lines += [f"static.auto_provision.{names[0]} = {user}",
                  f"static.auto_provision.{names[1]} = {password}"]
    return "\n".join(lines) + "\n"


def provisioned(app) -> dict[str, str]:
    """The installed set of a test phone: file name -> text (the order file left out)."""
    link = app.state_dir / PROVISIONED
    if not link.exists():
        return {}
    return {p.name: p.read_text() for p in link.iterdir() if p.name != ORDER_FILE}


_PRESS = object()


async def autop(app, receiver, *, expect_finish: bool, since: object = _PRESS):
    """Press AutoP and wait for the outcome; or, with ``since`` (the provisioner's
    ``last_result`` before something else started a run), wait for that run's."""
    if since is _PRESS:
        done = app.provisioner.last_result
        app.keypad.press("AUTOP")
    else:
        done = since
    await until(lambda: app.provisioner.last_result is not done, 10, "a provisioning result")
    await settle(app)
    result = app.provisioner.last_result
    if expect_finish:
        await receiver.wait("setup_autop_finish")
    else:
        await receiver.quiet(0.2)
        assert "setup_autop_finish" not in receiver.events()
    return result
