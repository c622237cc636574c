"""The Action URI servlet: Yealink's ``/servlet?key=VALUE`` and friends, over aiohttp.

It only translates: the query becomes core inputs (``core.uri``), the request
becomes a ``Decision`` (``core.remote_control.decide``, the ladder shared with
SIP NOTIFY), and the inputs go to the phone through its ``PhoneHost``. What a
key does, and which Action URL event it fires, is the core's business.

How a decision answers, each before anything happens:
  disabled (features.action_uri.enable = 0)                  -> 403
  untrusted (not in features.action_uri_limit_ip)             -> 403
  locked out after 3 wrong passwords                          -> 401
  credentials given and wrong / required and missing          -> 401
  the user denied this source on the prompt                   -> 403
  no decision yet (and the prompt is on)                      -> 403, the prompt
then a bad value                                              -> 400, nothing done
and the action                                                -> 200
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from typing import Awaitable, Callable
from urllib.parse import unquote, unquote_plus

from aiohttp import web
from PIL import Image

from ..core.accounts import enabled_accounts
from ..core.features import DND, FORWARDS, NO_ANSWER_TIMEOUT_KEY
from ..core.remote_control import (Action, Decision, Login, RemoteRequest, Source, Transport,
                                   Why, decide)
from ..core.uri import ActionUriError
from ..host import PhoneHost
from . import auth, xml_push
from .log_limit import LogLimiter, left_out
from .remote import ask_user, perform, request_inputs

log = logging.getLogger("deskphone.servlet")
REFUSALS_LOGGED = LogLimiter()      # per peer: a flood from one address is a few lines

PATHS = ("/servlet", "/cgi-bin/ConfigManApp.com", "/cgi-bin/cgiServer.exx")
SCREEN_PATHS = ("/screencapture", "/screencapture/download")
FORBIDDEN = "Remote control forbidden"
MAX_BODY = 128 * 1024         # a POSTed form: 44 Action URLs of 511 characters, percent-encoded
SCALE = 4                     # screen capture: each OLED pixel becomes SCALE x SCALE
PHONECFG_FLAGS = ("accounts", "dnd", "fw")
REG_STATUS = {"registered": "Registered", "failed": "RegisterFailed",
              "unregistered": "Unregistered"}

Params = list[tuple[str, str]]


def parse_query(raw: str, *, plus_is_space: bool = False) -> Params:
    """``name=value`` pairs of a raw query (or form body), decoded, names in lower case.

    ``+`` stays a plus in a URL query (``number=+4930...`` must survive) and is a
    blank in a form body, as each standard says. Brackets around names, as
    clients copy them from ``phonecfg=get[&accounts=1]``, are dropped.
    """
    decode = unquote_plus if plus_is_space else unquote
    pairs: Params = []
    for part in raw.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        name = decode(name, errors="replace").strip().strip("[]").strip().lower()
        if name:
            pairs.append((name, decode(value, errors="replace")))
    return pairs


def _first(params: Params, name: str) -> str | None:
    return next((v for k, v in params if k == name), None)


def _text(status: int, text: str, **headers: str) -> web.Response:
    return web.Response(status=status, text=text + "\n", content_type="text/plain",
                        headers=headers or None)


class Servlet:
    """Answers the Action URI paths; web-page requests on ``/servlet`` go to ``pages``."""

    def __init__(self, host: PhoneHost, throttle: auth.LoginThrottle,
                 pages: Callable[[web.Request, Params, Params | None],
                                 Awaitable[web.StreamResponse]] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.host = host
        self.throttle = throttle
        self.pages = pages
        self.clock = clock

    def install(self, web_app: web.Application) -> None:
        for path in PATHS:
            web_app.router.add_route("GET", path, self.handle)
            web_app.router.add_route("POST", path, self.handle)
        for path in SCREEN_PATHS:
            web_app.router.add_route("GET", path, self.screencapture)

    # ---------------------------------------------------------------- entry

    async def handle(self, request: web.Request) -> web.StreamResponse:
        query = parse_query(request.rel_url.raw_query_string)
        if _first(query, "push") is not None:      # XML push: a body and a ladder of its own
            return await xml_push.handle_http(self, request, query, peer_address(request))
        form: Params | None = None
        if request.method == "POST":
            body = await form_body(request)
            if body is None:
                return _text(413, f"request body larger than {MAX_BODY} bytes")
            form = parse_query(body, plus_is_space=True)
        params = query + (form or [])
        names = {k for k, _ in params}
        if _first(params, "command") == "screenshot":
            return await self._guarded(request, params, self._screenshot)
        if "phonecfg" in names:
            return await self._guarded(request, params, self._phonecfg)
        if "key" in names or "number" in names:
            return await self._guarded(request, params, self._keys)
        if request.path == PATHS[0] and self.pages is not None \
                and ("p" in names or not params):
            return await self.pages(request, query, form)
        return _text(400, "no key= in the request (expected e.g. /servlet?key=OK)")

    async def screencapture(self, request: web.Request) -> web.StreamResponse:
        params = parse_query(request.rel_url.raw_query_string)
        download = request.path.endswith("/download")
        return await self._guarded(request, params,
                                   lambda _p: self._screenshot(_p, download=download))

    # -------------------------------------------------------------- the gate

    async def _guarded(self, request: web.Request, params: Params,
                       act: Callable[[Params], Awaitable[web.StreamResponse] | web.StreamResponse]
                       ) -> web.StreamResponse:
        settings = self.host.settings
        peer = peer_address(request)
        source = Source(Transport.HTTP, peer)
        now = self.clock()
        given = self._credentials(request, params)
        sid = source.id
        facts = RemoteRequest(
            login=Login.NONE if given is None
            else Login.VALID if auth.check(settings, given) else Login.WRONG,
            locked_out=sid is not None and self.throttle.locked(sid, now),
            admin_password_set=auth.admin_account(settings) is not None)
        decision = decide(source, facts, settings)
        if decision.credentials_accepted and sid is not None:
            self.throttle.succeeded(sid)
        if decision.action is Action.ACT:
            result = act(params)
            if not isinstance(result, web.StreamResponse):
                result = await result
            return result
        if decision.action is Action.ASK and sid is not None:
            ask_user(self.host, sid)
        return self._refusal(decision, peer, now)

    def _refusal(self, decision: Decision, peer: str | None, now: float) -> web.Response:
        why = decision.why
        if why is Why.DISABLED:
            return _text(403, "Action URI is disabled (features.action_uri.enable = 0)")
        if why is Why.UNTRUSTED:
            skipped = REFUSALS_LOGGED.allow(str(peer))
            if skipped is not None:
                log.info("remote control from %s refused: not a trusted source%s", peer,
                         left_out(skipped))
            return _text(403, f"{FORBIDDEN}: this address is not a trusted source")
        if why is Why.LOCKED_OUT:
            return self._unauthorized("locked out after 3 wrong passwords; try again in 10 minutes")
        if why is Why.NO_ADMIN_PASSWORD:
            return self._unauthorized("credentials required but no admin password is set "
                                      "(static.security.user_password)")
        if why is Why.CREDENTIALS_REQUIRED:
            return self._unauthorized("credentials required")
        if why is Why.WRONG_CREDENTIALS:
            source = decision.source or str(peer)
            locked = self.throttle.failed(source, now)
            log.warning("remote control from %s: wrong credentials%s", source,
                        " (locked out for 10 minutes)" if locked else "")
            return self._unauthorized("wrong user name or password")
        return _text(403, FORBIDDEN)        # denied on the prompt, or being asked now

    @staticmethod
    def _credentials(request: web.Request, params: Params) -> auth.Credentials | None:
        given = auth.basic_auth(request.headers.get("Authorization"))
        if given is None and _first(params, "p") == "login":
            user, pwd = _first(params, "username"), _first(params, "pwd")
            if user is not None or pwd is not None:
                given = auth.Credentials(user or "", pwd or "")
        return given

    @staticmethod
    def _unauthorized(reason: str) -> web.Response:
        return _text(401, f"Unauthorized: {reason}",
                     **{"WWW-Authenticate": 'Basic realm="deskphone", charset="UTF-8"'})

    # ------------------------------------------------------------ the actions

    async def _keys(self, params: Params) -> web.Response:
        try:
            inputs = request_inputs(self.host, params)     # key=OK&key=X: both, in order
        except ActionUriError as exc:
            return _text(400, f"Bad request: {exc}")
        perform(self.host, inputs)
        # The answer waits two turns of the loop: in the first the runtime hands the
        # inputs to the core, in the second an idle receiver's Action URL GET is
        # written. The event goes out first and the client's 200 right after it
        # (the 200 still promises only that the keys were taken, not what they did).
        for _ in range(2):
            await asyncio.sleep(0)
        return _text(200, "OK")

    def _phonecfg(self, params: Params) -> web.Response:
        what = (_first(params, "phonecfg") or "").strip().strip("[]").strip().lower()
        if what != "get":
            return _text(400, "Bad request: phonecfg takes only 'get'")
        flags = {}
        for name in PHONECFG_FLAGS:
            raw = _first(params, name)
            value = (raw or "0").strip().strip("[]").strip()
            if value not in ("0", "1"):
                return _text(400, f"Bad request: {name} must be 0 or 1")
            flags[name] = value == "1"
        return web.Response(text=phonecfg_text(self.host, **flags), content_type="text/plain")

    def _screenshot(self, params: Params, download: bool = False) -> web.Response:
        body = screen_png(self.host)
        headers = {"Cache-Control": "no-store"}
        if download:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            headers["Content-Disposition"] = f'attachment; filename="screen-{stamp}.png"'
        return web.Response(body=body, content_type="image/png", headers=headers)


# ------------------------------------------------------------------ helpers

def peer_address(request: web.Request) -> str | None:
    """The TCP peer address, from the socket itself: never from a header."""
    transport = request.transport
    if transport is None:
        return None
    peername = transport.get_extra_info("peername")
    if isinstance(peername, (tuple, list)) and peername:
        return str(peername[0])
    return None


async def form_body(request: web.Request) -> str | None:
    """The form body of a POST ("" when none or not a form), None when too large."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return None
    if request.content_type not in ("application/x-www-form-urlencoded", "text/plain",
                                    "application/octet-stream", ""):
        return ""
    data = await request.read()            # the whole body (aiohttp caps it at 1 MiB: 413)
    if len(data) > MAX_BODY:
        return None
    return data.decode("utf-8", errors="replace")


def phonecfg_text(host: PhoneHost, *, accounts: bool = False, dnd: bool = False,
                  fw: bool = False) -> str:
    """The ``phonecfg=get`` answer (format in the README)."""
    s = host.settings
    device = host.device
    lines = [f"Firmware={device.firmware}", f"Model={device.model}", f"MAC={device.mac}"]
    if accounts:
        regs = host.registrations
        for acc in enabled_accounts(s):
            status = REG_STATUS.get(regs.get(acc.index, ""), "Registering")
            outgoing = acc.uri.split(":", 1)[1] if acc.uri else ""
            fields = [f"Account{acc.index}", acc.label, acc.user_name, acc.display_name,
                      status, outgoing, acc.host, acc.transport_name.upper()]
            lines.append("|".join(f.replace("|", "/").replace("\n", " ") for f in fields))
    if dnd:
        lines.append(f"{DND.phonecfg}={int(DND.on(s))}")
    if fw:
        for forward in FORWARDS.values():
            lines.append(f"{forward.phonecfg}={int(forward.on(s))}")
            lines.append(f"{forward.phonecfg}Target={forward.target(s)}")
        lines.append(f"{FORWARDS['no_answer'].phonecfg}Rings={s[NO_ANSWER_TIMEOUT_KEY]}")
    return "\n".join(lines) + "\n"


def screen_image(host: PhoneHost) -> Image.Image:
    """The current screen, each pixel SCALE x SCALE (nearest neighbour: pixel-exact)."""
    frame = host.frame()
    return frame.resize((frame.width * SCALE, frame.height * SCALE), Image.Resampling.NEAREST)


def screen_png(host: PhoneHost) -> bytes:
    out = io.BytesIO()
    screen_image(host).save(out, format="PNG")
    return out.getvalue()
