"""The web pages "Action URL" (one URL per event) and "Remote Control" (who may use Action URI).

Forgetting a source's allow/deny decision is the writer's ``forget``, as it is
for the console.
"""

from __future__ import annotations

import logging
from typing import Mapping

from aiohttp import web

from ..config.schema import ACTION_URL_MAX_LEN, SCHEMA, parse_value
from ..core.events import EVENTS
from ..core.trust import decisions, trust_key
from ..errors import ConfigError
from .webui_base import BASE, Page, PageUI, Session, e, note, read_fields, save


log = logging.getLogger("deskphone.webui")

ACTION_URL_PAGE = f"{BASE}?p=features-actionurl&q=load"
REMOTE_PAGE = f"{BASE}?p=features-remotecontrol&q=load"
REMOTE_SWITCHES = (
    ("features.action_uri.enable", "Action URI (remote control over HTTP)"),
    ("features.show_action_uri_option", "Ask on screen before a new source may remote-control"),
    ("deskphone.action_uri_require_auth", "Require the admin user name and password"),
)


def action_urls(ui: PageUI, session: Session, p: Mapping[str, str], *,
                values: Mapping[str, str] | None = None,
                errors: Mapping[str, str] | None = None) -> web.Response:
    s = ui.host.settings
    errors = errors or {}
    rows = []
    for ev in EVENTS:
        key = ev.cfg_key
        value = values[key] if values is not None and key in values else str(s.get(key, ""))
        err = f"<div class=err>{e(errors[key])}</div>" if key in errors else ""
        rows.append(
            f"<tr><th><label for='{e(key)}'>{e(ev.name)}</label></th><td>"
            f"<input type=text id='{e(key)}' name='{e(key)}' "
            f"maxlength={ACTION_URL_MAX_LEN} value='{e(value)}' "
            f"placeholder='http://server/path?event={e(ev.id)}&amp;mac=$mac'>{err}</td></tr>")
    body = f"""{note(p.get("saved") == "1", errors)}<p>One URL per event, http:// or https://,
at most {ACTION_URL_MAX_LEN} characters; blank = no request. Variables: $mac, $ip, $model,
$firmware, $active_url, $active_user, $active_host, $local, $remote, $display_local,
$display_remote, $call_id, $callerID, $calledNumber.</p>
<form method=post action="{BASE}?p=features-actionurl&amp;q=write">
<input type=hidden name=csrf value="{e(session.csrf)}">
<table>{''.join(rows)}</table><button type=submit id=save>Confirm</button></form>"""
    return ui.page("Action URL", body, session=session, status=400 if errors else 200)


async def save_action_urls(ui: PageUI, session: Session, form: Mapping[str, str]
                           ) -> web.StreamResponse:
    posted = read_fields(form, [ev.cfg_key for ev in EVENTS], ui.host.settings)
    if posted.errors:
        return action_urls(ui, session, {}, values=posted.values, errors=posted.errors)
    save(ui, posted.changes)
    raise web.HTTPSeeOther(ACTION_URL_PAGE + "&saved=1")


def remote(ui: PageUI, session: Session, p: Mapping[str, str], *, error: str = "",
           limit_ip: str | None = None) -> web.Response:
    s = ui.host.settings
    switches = "".join(
        f"<tr><th><label for='{e(key)}'>{e(label)}</label></th><td>"
        f"<input type=checkbox id='{e(key)}' name='{e(key)}' value=1"
        f"{' checked' if s[key] else ''}></td></tr>" for key, label in REMOTE_SWITCHES)
    limit = str(s["features.action_uri_limit_ip"]) if limit_ip is None else limit_ip
    drows = "".join(
        f"<tr><td>{e(src)}</td><td>{e(d)}</td><td><form method=post "
        f"action='{BASE}?p=features-remotecontrol&amp;q=forget'>"
        f"<input type=hidden name=csrf value='{e(session.csrf)}'>"
        f"<input type=hidden name=source value='{e(src)}'>"
        f"<button type=submit>Forget</button></form></td></tr>"
        for src, d in decisions(s).items()) \
        or "<tr><td colspan=3 class=muted>No source has been allowed or denied yet.</td></tr>"
    shown = (f"<p class=err>Not saved: {e(error)}</p>" if error
             else note(p.get("saved") == "1"))
    body = f"""{shown}
<form method=post action="{BASE}?p=features-remotecontrol&amp;q=write">
<input type=hidden name=csrf value="{e(session.csrf)}">
<table>{switches}
<tr><th><label for=limit_ip>Action URI Allow IP List</label></th><td>
<input type=text id=limit_ip name="features.action_uri_limit_ip" maxlength={ACTION_URL_MAX_LEN}
value="{e(limit)}" placeholder="10.0.0.5, 192.168.1.*, 10.1.0.0/16, any">
<div class=muted>Blank: no source may remote-control the phone. <code>any</code>: every
source. Else a comma list of addresses, <code>*</code> per IPv4 octet, CIDR blocks,
IPv6.</div></td></tr></table>
<button type=submit id=save>Confirm</button></form>
<h2>Sources asked on the phone</h2>
<table id=decisions><tr><th>Source</th><th>Decision</th><th></th></tr>{drows}</table>"""
    return ui.page("Remote Control", body, session=session, status=400 if error else 200)


async def save_remote(ui: PageUI, session: Session, form: Mapping[str, str]
                      ) -> web.StreamResponse:
    changes: dict[str, object] = {key: form.get(key) == "1" for key, _ in REMOTE_SWITCHES}
    raw = form.get("features.action_uri_limit_ip", "")
    try:
        changes["features.action_uri_limit_ip"] = parse_value(
            SCHEMA["features.action_uri_limit_ip"], raw)
    except ConfigError as exc:
        return remote(ui, session, {}, error=exc.message, limit_ip=raw)
    s = ui.host.settings
    save(ui, {k: v for k, v in changes.items() if s[k] != v})
    raise web.HTTPSeeOther(REMOTE_PAGE + "&saved=1")


async def forget(ui: PageUI, session: Session, form: Mapping[str, str]) -> web.StreamResponse:
    source = form.get("source", "")
    if await ui.host.writer.forget([trust_key(source)]):
        log.info("web page: decision about %s forgotten", source)
    raise web.HTTPSeeOther(REMOTE_PAGE + "&saved=1")


PAGES = (
    Page("features-actionurl", "Action URL", action_urls, {"write": save_action_urls}),
    Page("features-remotecontrol", "Remote Control", remote,
         {"write": save_remote, "forget": forget}),
)
