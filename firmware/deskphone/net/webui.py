"""The phone's web pages: status, Features > Action URL, Features > Remote Control.

Plain server-rendered HTML on the servlet's own path, as a Yealink phone
serves them (``/servlet?p=features-actionurl&q=load``). Every page is behind
the admin login (``auth.py``): a session cookie (HttpOnly, SameSite=Strict)
and a CSRF token in every form that changes something, checked in constant
time. Until ``static.security.user_password`` is set, no page opens (there is
no default password) and each says how to set it.

Saving goes through the phone's one ``SettingsWriter`` (``PhoneHost.writer``):
checked, kept in the runtime state and applied at once. Forgetting a source's
allow/deny decision is the writer's ``forget``, as it is for the console.
"""

from __future__ import annotations

import hmac
import html
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Callable, Mapping
from urllib.parse import urlsplit

from aiohttp import web

from ..config.schema import SCHEMA, ACTION_URL_MAX_LEN, parse_value
from ..core.accounts import enabled_accounts
from ..core.events import EVENTS
from ..core.features import FEATURES
from ..core.trust import decisions, source_id, trust_key
from ..errors import ConfigError
from ..host import PhoneHost
from . import auth, webui_records
from .servlet import Params, peer_address, screen_png

log = logging.getLogger("deskphone.webui")

COOKIE = "deskphone_session"
SESSION_IDLE = 3600.0         # seconds without a request before a session ends
MAX_SESSIONS = 32
DELIVERIES_SHOWN = 50
BASE = "/servlet"
STATUS_PAGE = f"{BASE}?p=status&q=load"
ACTION_URL_PAGE = f"{BASE}?p=features-actionurl&q=load"
REMOTE_PAGE = f"{BASE}?p=features-remotecontrol&q=load"
REMOTE_SWITCHES = (
    ("features.action_uri.enable", "Action URI (remote control over HTTP)"),
    ("features.show_action_uri_option", "Ask on screen before a new source may remote-control"),
    ("deskphone.action_uri_require_auth", "Require the admin user name and password"),
)
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
header{background:#1f3a5f;color:#fff;padding:.6em 1em;display:flex;gap:1.5em;align-items:center}
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


@dataclass
class Session:
    csrf: str
    last_used: float


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


class WebUI:
    def __init__(self, host: PhoneHost, throttle: auth.LoginThrottle,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.host = host
        self.throttle = throttle
        self.clock = clock
        self.sessions: dict[str, Session] = {}

    # ------------------------------------------------------------ dispatch

    async def handle(self, request: web.Request, query: Params,
                     form_params: Params | None = None) -> web.StreamResponse:
        """A page: ``query`` from the URL, ``form_params`` the POSTed form (None for a GET)."""
        p = dict(reversed(query))            # the first value of each name wins
        form = None if form_params is None else dict(reversed(form_params))
        page, q = p.get("p", ""), p.get("q", "load")
        if auth.admin_account(self.host.settings) is None:
            return self._page("Web pages closed", f"<p class=err>{_e(auth.HOW_TO_SET)}</p>",
                              status=403, nav=False)
        if page == "login":
            return await self._login(request, p, form)
        session = self._session(request)
        if session is None:
            if request.method == "POST":
                return self._page("Not logged in", "<p class=err>Your session has ended. "
                                  f"<a href='{_e(self._login_url(request))}'>Log in</a> again; "
                                  "nothing was changed.</p>", status=403, nav=False)
            raise web.HTTPSeeOther(self._login_url(request))
        if form is not None:
            if not self._csrf_ok(session, form.get("csrf", "")):
                log.warning("web page: form without a valid CSRF token refused")
                return self._page("Refused", "<p class=err>This form was refused: its security "
                                  "token is missing or out of date. Reload the page and try "
                                  "again; nothing was changed.</p>", status=403, session=session)
            return await self._post(request, page, q, form, session)
        if page in ("", "status"):
            return self._status(session)
        if page == "features-actionurl":
            return self._action_urls(session, saved=p.get("saved") == "1")
        if page == "features-remotecontrol":
            return self._remote(session, saved=p.get("saved") == "1")
        if page == "calllog":
            return webui_records.show(self, session)
        if page == "screen":
            return web.Response(body=screen_png(self.host), content_type="image/png",
                                headers={"Cache-Control": "no-store"})
        return self._page("Not found", f"<p class=err>No page {_e(page)!s}.</p>", status=404,
                          session=session)

    async def _post(self, request: web.Request, page: str, q: str, form: Mapping[str, str],
                    session: Session) -> web.StreamResponse:
        if page == "logout":
            self.sessions = {k: v for k, v in self.sessions.items() if v is not session}
            resp = web.HTTPSeeOther(f"{BASE}?p=login")
            resp.del_cookie(COOKIE, path="/")
            raise resp
        if page == "calllog":
            return await webui_records.change(self, form, session, q)
        if page == "features-actionurl" and q == "write":
            return await self._save_action_urls(form, session)
        if page == "features-remotecontrol" and q == "write":
            return await self._save_remote(form, session)
        if page == "features-remotecontrol" and q == "forget":
            return await self._forget(form, session)
        return self._page("Not found", "<p class=err>No such form.</p>", status=404,
                          session=session)

    # -------------------------------------------------------------- login

    def _login_url(self, request: web.Request) -> str:
        from urllib.parse import quote
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
        return self._page("Log in", body, status=status, nav=False)

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

    # -------------------------------------------------------------- pages

    def _page(self, title: str, body: str, *, status: int = 200, nav: bool = True,
              session: Session | None = None) -> web.Response:
        links = ""
        if nav:
            def link(href: str, label: str) -> str:
                on = " class=on" if label == title else ""
                return f"<a href='{_e(href)}'{on}>{_e(label)}</a>"
            logout = (f"<form method=post action='{BASE}?p=logout'><input type=hidden name=csrf "
                      f"value='{_e(session.csrf)}'><button>Log out</button></form>"
                      if session else "")
            links = (link(STATUS_PAGE, "Status") + link(ACTION_URL_PAGE, "Action URL")
                     + link(REMOTE_PAGE, "Remote Control")
                     + link(webui_records.PAGE, webui_records.TITLE) + logout)
        text = f"""<!doctype html>
<html lang=en><head><meta charset=utf-8><meta name=viewport content="width=device-width">
<title>{_e(title)} - deskphone</title><style>{CSS}</style></head>
<body><header><strong>deskphone</strong>{links}</header>
<main><h1>{_e(title)}</h1>{body}</main></body></html>"""
        return web.Response(text=text, content_type="text/html", status=status,
                            headers=SECURITY_HEADERS)

    def _status(self, session: Session) -> web.Response:
        host, s = self.host, self.host.settings
        dev = host.device
        regs = host.registrations
        rows = "".join(
            f"<tr><td>{a.index}</td><td>{_e(a.label)}</td><td>{_e(a.user_name)}</td>"
            f"<td>{_e(a.host)}</td><td>{_e(regs.get(a.index, 'registering'))}</td></tr>"
            for a in enabled_accounts(s)) or "<tr><td colspan=5>No account enabled</td></tr>"

        def onoff(on: bool, target: str) -> str:
            return _e(("on" if on else "off") + (f" -> {target}" if target else ""))
        features = "".join(
            f"<tr><th>{_e(f.web_label)}</th><td>{onoff(f.on(s), f.target(s))}</td></tr>"
            for f in FEATURES)
        deliveries = list(host.deliveries)[-DELIVERIES_SHOWN:][::-1]
        drows = "".join(
            f"<tr><td>{time.strftime('%H:%M:%S', time.localtime(d.at))}</td>"
            f"<td>{_e(d.event_name)}</td><td>{_e(d.status if d.status is not None else '-')}</td>"
            f"<td>{d.latency * 1000:.0f} ms</td><td>{_e(d.error or 'ok')}</td>"
            f"<td class=muted>{_e(d.url)}</td></tr>" for d in deliveries) \
            or "<tr><td colspan=6 class=muted>None yet</td></tr>"
        body = f"""
<img class=screen src="{BASE}?p=screen" alt="The phone's screen" width=256 height=128>
<table><tr><th>State</th><td id=state>{_e(host.status)}</td></tr>
<tr><th>Model</th><td>{_e(dev.model)}</td></tr><tr><th>Firmware</th><td>{_e(dev.firmware)}</td></tr>
<tr><th>MAC</th><td>{_e(dev.mac)}</td></tr><tr><th>IP</th><td>{_e(host.ip)}</td></tr></table>
<h2>Accounts</h2><table id=accounts><tr><th>#</th><th>Label</th><th>User</th><th>Server</th>
<th>Registration</th></tr>{rows}</table>
<h2>Features</h2><table id=features>{features}</table>
<h2>Last {DELIVERIES_SHOWN} Action URL requests</h2>
<table id=deliveries><tr><th>Time</th><th>Event</th><th>Status</th><th>Latency</th><th>Result</th>
<th>URL</th></tr>{drows}</table>"""
        return self._page("Status", body, session=session)

    def _action_urls(self, session: Session, *, saved: bool = False,
                     values: Mapping[str, str] | None = None,
                     errors: Mapping[str, str] | None = None) -> web.Response:
        s = self.host.settings
        errors = errors or {}
        rows = []
        for e in EVENTS:
            value = values[e.cfg_key] if values is not None else str(s.get(e.cfg_key, ""))
            err = f"<div class=err>{_e(errors[e.cfg_key])}</div>" if e.cfg_key in errors else ""
            rows.append(
                f"<tr><th><label for='{_e(e.cfg_key)}'>{_e(e.name)}</label></th><td>"
                f"<input type=text id='{_e(e.cfg_key)}' name='{_e(e.cfg_key)}' "
                f"maxlength={ACTION_URL_MAX_LEN} value='{_e(value)}' "
                f"placeholder='http://server/path?event={_e(e.id)}&amp;mac=$mac'>{err}</td></tr>")
        note = "<p class=ok>Saved.</p>" if saved else ""
        if errors:
            note = (f"<p class=err>Not saved: {len(errors)} field(s) need fixing "
                    "(nothing was changed).</p>")
        body = f"""{note}<p>One URL per event, http:// or https://, at most {ACTION_URL_MAX_LEN}
characters; blank = no request. Variables: $mac, $ip, $model, $firmware, $active_url,
$active_user, $active_host, $local, $remote, $display_local, $display_remote, $call_id,
$callerID, $calledNumber.</p>
<form method=post action="{BASE}?p=features-actionurl&amp;q=write">
<input type=hidden name=csrf value="{_e(session.csrf)}">
<table>{''.join(rows)}</table><button type=submit id=save>Confirm</button></form>"""
        return self._page("Action URL", body, session=session, status=400 if errors else 200)

    async def _save_action_urls(self, form: Mapping[str, str], session: Session
                                ) -> web.StreamResponse:
        s = self.host.settings
        values: dict[str, str] = {}
        errors: dict[str, str] = {}
        changes: dict[str, object] = {}
        for e in EVENTS:
            raw = form.get(e.cfg_key)
            if raw is None:         # a field the form did not send: leave it as it is
                values[e.cfg_key] = str(s.get(e.cfg_key, ""))
                continue
            values[e.cfg_key] = raw
            try:
                value = parse_value(SCHEMA[e.cfg_key], raw)
            except ConfigError as exc:
                errors[e.cfg_key] = exc.message
                continue
            if value != s.get(e.cfg_key):
                changes[e.cfg_key] = value
        if errors:
            return self._action_urls(session, values=values, errors=errors)
        self._apply(changes)
        raise web.HTTPSeeOther(ACTION_URL_PAGE + "&saved=1")

    def _remote(self, session: Session, *, saved: bool = False, error: str = "",
                limit_ip: str | None = None) -> web.Response:
        s = self.host.settings
        switches = "".join(
            f"<tr><th><label for='{_e(key)}'>{_e(label)}</label></th><td>"
            f"<input type=checkbox id='{_e(key)}' name='{_e(key)}' value=1"
            f"{' checked' if s[key] else ''}></td></tr>" for key, label in REMOTE_SWITCHES)
        limit = str(s["features.action_uri_limit_ip"]) if limit_ip is None else limit_ip
        known = decisions(s)
        drows = "".join(
            f"<tr><td>{_e(src)}</td><td>{_e(d)}</td><td><form method=post "
            f"action='{BASE}?p=features-remotecontrol&amp;q=forget'>"
            f"<input type=hidden name=csrf value='{_e(session.csrf)}'>"
            f"<input type=hidden name=source value='{_e(src)}'>"
            f"<button type=submit>Forget</button></form></td></tr>" for src, d in known.items()) \
            or "<tr><td colspan=3 class=muted>No source has been allowed or denied yet.</td></tr>"
        note = (f"<p class=err>Not saved: {_e(error)}</p>" if error
                else "<p class=ok>Saved.</p>" if saved else "")
        body = f"""{note}
<form method=post action="{BASE}?p=features-remotecontrol&amp;q=write">
<input type=hidden name=csrf value="{_e(session.csrf)}">
<table>{switches}
<tr><th><label for=limit_ip>Action URI Allow IP List</label></th><td>
<input type=text id=limit_ip name="features.action_uri_limit_ip" maxlength={ACTION_URL_MAX_LEN}
value="{_e(limit)}" placeholder="10.0.0.5, 192.168.1.*, 10.1.0.0/16, any">
<div class=muted>Blank: no source may remote-control the phone. <code>any</code>: every
source. Else a comma list of addresses, <code>*</code> per IPv4 octet, CIDR blocks,
IPv6.</div></td></tr></table>
<button type=submit id=save>Confirm</button></form>
<h2>Sources asked on the phone</h2>
<table id=decisions><tr><th>Source</th><th>Decision</th><th></th></tr>{drows}</table>"""
        return self._page("Remote Control", body, session=session, status=400 if error else 200)

    async def _save_remote(self, form: Mapping[str, str], session: Session) -> web.StreamResponse:
        changes: dict[str, object] = {}
        for key, _ in REMOTE_SWITCHES:
            changes[key] = form.get(key) == "1"
        raw = form.get("features.action_uri_limit_ip", "")
        try:
            changes["features.action_uri_limit_ip"] = parse_value(
                SCHEMA["features.action_uri_limit_ip"], raw)
        except ConfigError as exc:
            return self._remote(session, error=exc.message, limit_ip=raw)
        s = self.host.settings
        self._apply({k: v for k, v in changes.items() if s[k] != v})
        raise web.HTTPSeeOther(REMOTE_PAGE + "&saved=1")

    async def _forget(self, form: Mapping[str, str], session: Session) -> web.StreamResponse:
        source = form.get("source", "")
        if await self.host.writer.forget([trust_key(source)]):
            log.info("web page: decision about %s forgotten", source)
        raise web.HTTPSeeOther(REMOTE_PAGE + "&saved=1")

    def _apply(self, changes: Mapping[str, object]) -> None:
        if not changes:
            return
        self.host.writer.update(changes)        # checks every value; all or nothing
        log.info("web page: saved %s", ", ".join(sorted(changes)))
