"""The phone's web pages: the login, sessions, CSRF, the layout and the table of pages.

Plain server-rendered HTML on the servlet's own path, as a Yealink phone
serves them (``/servlet?p=features-actionurl&q=load``). Every page is behind
the admin login (``auth.py``): a session cookie (HttpOnly, SameSite=Strict)
and a CSRF token in every form that changes something, checked in constant
time before any page's form handler runs. Until
``static.security.user_password`` is set, no page opens (there is no default
password, and no form to choose one) and each says how to set it.

The pages live in modules of their own, each exporting ``PAGES``
(``webui_base.Page``: the ``p=`` name, the title, what shows it, its forms by
``q=``); this module looks them up in ``PAGE_TABLE``. Saving goes through the
phone's one ``SettingsWriter`` (``PhoneHost.writer``): checked, kept in the
runtime state and applied at once.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from typing import Callable, Mapping
from urllib.parse import quote, urlsplit

from aiohttp import web

from ..core.trust import source_id
from ..host import PhoneHost
from . import (auth, webui_accounts, webui_directory, webui_features, webui_log,
               webui_provisioning, webui_records, webui_remote, webui_sound, webui_status)
from .servlet import Params, peer_address
from .webui_base import BASE, Page, Session, e as _e

log = logging.getLogger("deskphone.webui")

COOKIE = "deskphone_session"
SESSION_IDLE = 3600.0         # seconds without a request before a session ends
MAX_SESSIONS = 32
STATUS_PAGE = f"{BASE}?p=status&q=load"
# Every page, in the header's order: p= name -> its module's Page.
PAGE_TABLE: dict[str, Page] = {page.name: page for module in (
    webui_status, webui_accounts, webui_features, webui_remote, webui_provisioning,
    webui_records, webui_directory, webui_sound, webui_log) for page in module.PAGES}
HOW_TO_OPEN = (
    "Set it in one of three ways: on the serial console, 'config set "
    "static.security.user_password admin:YOUR-PASSWORD' (at once); in a .cfg file of the "
    "config directory, the line 'static.security.user_password = admin:YOUR-PASSWORD'; or "
    "the same line in a file the provisioning server gives the phone. It cannot be chosen "
    "on this page.")

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",     # (no-referrer would make our own forms' Origin null)
    "Cache-Control": "no-store",
}

CSS = """
body{font:15px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#f4f5f7}
header{background:#1f3a5f;color:#fff;padding:.6em 1em;display:flex;flex-wrap:wrap;gap:.4em 1.2em;
align-items:center}
header a{color:#fff;text-decoration:none}header a.on{border-bottom:2px solid #fff}
header form{margin-left:auto}main{padding:1em 1.5em;max-width:72em}
table{border-collapse:collapse;background:#fff;margin:.5em 0 1.5em}
td,th{border:1px solid #ccd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#e8ecf2}
input[type=text],input[type=password]{width:40em;max-width:100%}
.err{color:#a00}.ok{color:#070}.muted{color:#777}button{padding:.3em 1em}
img.screen{image-rendering:pixelated;border:4px solid #333;background:#000}
"""


def local_target(target: str) -> str:
    """Where to go after the login: a path on this phone, else the status page.

    Browsers drop tabs and line breaks from a URL and read ``\\`` as ``/``, so
    ``/\t/evil.example/`` would become ``//evil.example/``, another site: any
    control character, blank or backslash makes the target the status page.
    """
    if not target.startswith("/") or target.startswith("//") or any(
            ch <= " " or "\x7f" <= ch <= "\x9f" or ch in "\\\u2028\u2029" for ch in target):
        return STATUS_PAGE
    parts = urlsplit(target)
    return STATUS_PAGE if parts.scheme or parts.netloc else target


class WebUI:
    def __init__(self, host: PhoneHost, throttle: auth.LoginThrottle,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.host = host
        self.throttle = throttle
        self.clock = clock
        self.sessions: dict[str, Session] = {}
        webui_log.RECENT.install()          # the log page's lines, kept from now on

    # ------------------------------------------------------------ dispatch

    async def handle(self, request: web.Request, query: Params,
                     form_params: Params | None = None) -> web.StreamResponse:
        """A page: ``query`` from the URL, ``form_params`` the POSTed form (None for a GET)."""
        p = dict(reversed(query))            # the first value of each name wins
        form = None if form_params is None else dict(reversed(form_params))
        page, q = p.get("p", ""), p.get("q", "load")
        if auth.admin_account(self.host.settings) is None:
            return self.page("Web pages closed", f"<p class=err>{_e(auth.HOW_TO_SET)}</p>"
                             f"<p id=how-to-open>{_e(HOW_TO_OPEN)}</p>", status=403, nav=False)
        if page == "login":
            return await self._login(request, p, form)
        session = self._session(request)
        if session is None:
            if request.method == "POST":
                return self.page("Not logged in", "<p class=err>Your session has ended. "
                                 f"<a href='{_e(self._login_url(request))}'>Log in</a> again; "
                                 "nothing was changed.</p>", status=403, nav=False)
            raise web.HTTPSeeOther(self._login_url(request))
        if form is None:
            entry = PAGE_TABLE.get(page or "status")
            if entry is None:
                return self.page("Not found", f"<p class=err>No page {_e(page)}.</p>",
                                 status=404, session=session)
            return entry.show(self, session, p)
        if not self._csrf_ok(session, form.get("csrf", "")):
            log.warning("web page: form without a valid CSRF token refused")
            return self.page("Refused", "<p class=err>This form was refused: its security "
                             "token is missing or out of date. Reload the page and try "
                             "again; nothing was changed.</p>", status=403, session=session)
        if page == "logout":
            self.sessions = {k: v for k, v in self.sessions.items() if v is not session}
            resp = web.HTTPSeeOther(f"{BASE}?p=login")
            resp.del_cookie(COOKIE, path="/")
            raise resp
        handler = PAGE_TABLE[page].forms.get(q) if page in PAGE_TABLE else None
        if handler is None:
            return self.page("Not found", "<p class=err>No such form.</p>", status=404,
                             session=session)
        return await handler(self, session, form)

    # -------------------------------------------------------------- login

    def _login_url(self, request: web.Request) -> str:
        return f"{BASE}?p=login&q=login&jumpto={quote(request.path_qs, safe='')}"

    async def _login(self, request: web.Request, p: Mapping[str, str],
                     form: Mapping[str, str] | None) -> web.StreamResponse:
        jumpto = p.get("jumpto", "")
        if form is None:
            return self._login_page(jumpto)
        source = source_id(peer_address(request)) or "?"
        now = self.clock()
        if self.throttle.locked(source, now):
            return self._login_page(jumpto, "Too many wrong passwords: try again in 10 minutes.",
                                    status=401)
        given = auth.Credentials(form.get("username", ""), form.get("pwd", ""))
        if not auth.check(self.host.settings, given):
            locked = self.throttle.failed(source, now)
            log.warning("web login from %s: wrong user name or password%s", source,
                        " (locked out for 10 minutes)" if locked else "")
            return self._login_page(jumpto, "Wrong user name or password.", status=401)
        self.throttle.succeeded(source)
        token = secrets.token_urlsafe(32)
        self._expire(now)
        if len(self.sessions) >= MAX_SESSIONS:
            oldest = min(self.sessions, key=lambda k: self.sessions[k].last_used)
            del self.sessions[oldest]
        self.sessions[token] = Session(secrets.token_urlsafe(32), now)
        log.info("web login from %s", source)
        resp = web.HTTPSeeOther(local_target(form.get("jumpto", jumpto)))
        resp.set_cookie(COOKIE, token, path="/", httponly=True, samesite="Strict",
                        secure=request.secure)
        raise resp

    def _login_page(self, jumpto: str, error: str = "", status: int = 200) -> web.Response:
        body = (f"<p class=err>{_e(error)}</p>" if error else "") + f"""
<form method=post action="{BASE}?p=login&amp;q=login">
<input type=hidden name=jumpto value="{_e(jumpto)}">
<table><tr><th><label for=username>User name</label></th>
<td><input type=text id=username name=username autocomplete=username></td></tr>
<tr><th><label for=pwd>Password</label></th>
<td><input type=password id=pwd name=pwd autocomplete=current-password></td></tr></table>
<button type=submit id=login>Log in</button></form>"""
        return self.page("Log in", body, status=status, nav=False)

    def logged_in(self, request: web.Request) -> bool:
        """The request carries a live session of the admin login (the JSON API opens to it)."""
        return self._session(request) is not None

    def _session(self, request: web.Request) -> Session | None:
        token = request.cookies.get(COOKIE, "")
        now = self.clock()
        self._expire(now)
        session = self.sessions.get(token) if token else None
        if session is not None:
            session.last_used = now
        return session

    def _expire(self, now: float) -> None:
        stale = [k for k, s in self.sessions.items() if now - s.last_used > SESSION_IDLE]
        for k in stale:
            del self.sessions[k]

    @staticmethod
    def _csrf_ok(session: Session, given: str) -> bool:
        return hmac.compare_digest(session.csrf.encode(), given.encode("utf-8", "replace"))

    # -------------------------------------------------------------- layout

    def page(self, title: str, body: str, *, status: int = 200, nav: bool = True,
             session: Session | None = None, refresh: int | None = None) -> web.Response:
        """``body`` in the layout: a header naming every page of the table, the title."""
        links = ""
        if nav:
            def link(entry: Page) -> str:
                on = " class=on" if entry.title == title else ""
                return (f"<a href='{BASE}?p={_e(entry.name)}&amp;q=load'{on}>"
                        f"{_e(entry.title)}</a>")
            logout = (f"<form method=post action='{BASE}?p=logout'><input type=hidden name=csrf "
                      f"value='{_e(session.csrf)}'><button>Log out</button></form>"
                      if session else "")
            links = "".join(link(p) for p in PAGE_TABLE.values() if p.nav) + logout
        meta = f"<meta http-equiv=refresh content={int(refresh)}>" if refresh else ""
        text = f"""<!doctype html>
<html lang=en><head><meta charset=utf-8><meta name=viewport content="width=device-width">{meta}
<title>{_e(title)} - deskphone</title><style>{CSS}</style></head>
<body><header><strong>deskphone</strong>{links}</header>
<main><h1>{_e(title)}</h1>{body}</main></body></html>"""
        return web.Response(text=text, content_type="text/html", status=status,
                            headers=SECURITY_HEADERS)
