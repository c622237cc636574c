"""The phone's state as JSON, read-only: ``/api/v1/`` (status, calls, voicemail, blf, schema).

Mounted on the one aiohttp app of the servlet and the web pages (``net.web``),
so the same request guard runs first (Host, cross-site, limits per connection
in ``net.http_guard``). Who may read, each checked in this order:

1. a valid session cookie of the admin login (the web pages' ``deskphone_session``);
2. an ``Authorization`` header, Basic or Digest, with the admin account: right
   -> read; wrong -> 401 and a failure counted (three lock the source out for
   10 minutes, as the servlet and the login page count them: one throttle);
3. no credentials: the servlet's own rule, ``core.remote_control.decide``
   (``features.action_uri_limit_ip``, the remembered allow/deny, the prompt).
   A source on the list that is allowed reads; a source that may ask gets 403
   and the phone asks its user, as a servlet request would. Any other source
   gets 401 with the challenges (credentials would open it), or 403 when no
   admin password is set (nothing would).

Anything else than GET or HEAD is 405. Every answer (refusals too) is JSON with
``Cache-Control: no-store``; the documents are ``net.api_data``'s, the schema
``net.api_schema``'s.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Callable

from aiohttp import web

from ..core.remote_control import Action, Login, RemoteRequest, Source, Transport, Why, decide
from ..host import PhoneHost
from . import auth, http_digest
from .api_data import DOCUMENTS, VERSION, iso
from .api_schema import SCHEMA
from .log_limit import LogLimiter, left_out
from .remote import ask_user
from .servlet import peer_address

log = logging.getLogger("deskphone.api")
REFUSALS_LOGGED = LogLimiter()

PREFIX = "/api/v1"
NAMES = (*DOCUMENTS, "schema")
METHODS = ("GET", "HEAD")
HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
BASIC = 'Basic realm="deskphone", charset="UTF-8"'
REALM = "deskphone API"          # the Digest realm of the API's own challenge


def _json(status: int, doc: Any, **headers: str) -> web.Response:
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"
    return web.Response(status=status, text=body, content_type="application/json",
                        headers={**HEADERS, **headers})


def _error(status: int, message: str, **headers: str) -> web.Response:
    return _json(status, {"version": VERSION, "status": status, "error": message}, **headers)


class Api:
    """``logged_in(request)``: the request carries a live session of the admin login."""

    def __init__(self, host: PhoneHost, throttle: auth.LoginThrottle,
                 logged_in: Callable[[web.Request], bool],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.host = host
        self.throttle = throttle
        self.logged_in = logged_in
        self.clock = clock

    def install(self, app: web.Application) -> None:
        for path in (PREFIX, PREFIX + "/"):
            app.router.add_route("*", path, self.index)
        for name in NAMES:
            app.router.add_route("*", f"{PREFIX}/{name}", self.document)

    async def index(self, request: web.Request) -> web.StreamResponse:
        return self._answer(request, lambda: {
            "version": VERSION, "time": iso(time.time()),
            "endpoints": {name: f"{PREFIX}/{name}" for name in NAMES}})

    async def document(self, request: web.Request) -> web.StreamResponse:
        name = request.path.rsplit("/", 1)[1]
        if name == "schema":
            return self._answer(request, lambda: SCHEMA)
        build = DOCUMENTS[name]
        return self._answer(request, lambda: build(self.host))

    def _answer(self, request: web.Request, build: Callable[[], Any]) -> web.StreamResponse:
        if request.method not in METHODS:
            # The body (if any) is never read: the connection closes after the answer.
            response = _error(405, f"{request.method} not allowed: the API is read-only",
                              Allow=", ".join(METHODS))
            response.force_close()
            return response
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        return _json(200, build())

    # -------------------------------------------------------------- the gate

    def _refusal(self, request: web.Request) -> web.Response | None:
        """None when the request may read; else the 401 or 403 (no data in it)."""
        if self.logged_in(request):
            return None
        settings = self.host.settings
        peer = peer_address(request)
        source = Source(Transport.HTTP, peer)
        sid = source.id
        now = self.clock()
        header = request.headers.get("Authorization")
        login = auth.header_login(settings, header, request.method, REALM)
        if login is not Login.NONE:
            if sid is not None and self.throttle.locked(sid, now):
                return self._unauthorized("locked out after 3 wrong passwords; "
                                          "try again in 10 minutes")
            if login is Login.VALID:
                if sid is not None:
                    self.throttle.succeeded(sid)
                return None
            locked = self.throttle.failed(sid or str(peer), now)
            self._log(peer, "wrong credentials" + (" (locked out for 10 minutes)"
                                                   if locked else ""), warn=True)
            return self._unauthorized("wrong user name or password")
        decision = decide(source, RemoteRequest(
            admin_password_set=auth.admin_account(settings) is not None), settings)
        if decision.action is Action.ACT:
            return None
        if decision.action is Action.ASK and sid is not None:
            ask_user(self.host, sid, via="JSON API")
            return _error(403, "Remote control forbidden: the phone asks its user about "
                          "this source (or log in)")
        if decision.why is Why.DENIED:
            return _error(403, "Remote control forbidden: the user denied this source")
        if auth.admin_account(settings) is None:
            self._log(peer, "not a trusted source, no admin password set")
            return _error(403, "Forbidden: not a trusted source, and no admin password is "
                          "set to log in with (static.security.user_password)")
        self._log(peer, f"no credentials ({decision.why.value if decision.why else '?'})")
        return self._unauthorized("credentials required (or a trusted source)")

    @staticmethod
    def _unauthorized(reason: str) -> web.Response:
        response = _error(401, f"Unauthorized: {reason}")
        # Digest first: clients that take only the first challenge pick it (as XML push).
        response.headers.add("WWW-Authenticate", http_digest.challenge(REALM))
        response.headers.add("WWW-Authenticate", BASIC)
        return response

    @staticmethod
    def _log(peer: str | None, why: str, warn: bool = False) -> None:
        skipped = REFUSALS_LOGGED.allow(str(peer))
        if skipped is not None:
            log.log(logging.WARNING if warn else logging.INFO, "JSON API from %s refused: %s%s",
                    peer, why, left_out(skipped))
