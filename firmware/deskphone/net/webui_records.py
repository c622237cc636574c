"""The web page "Calls": the call log (and clearing it) and the local directory (add, delete).

Served by ``net.webui`` behind its login and CSRF check (``/servlet?p=calllog``);
the changes go to the phone as inputs (``ClearCallLog``, ``SetLocalDirectory``),
so the screen, the console and the file agree.
"""

from __future__ import annotations

import html
import time
from typing import Any, Mapping

from aiohttp import web

from ..core.call_log import KINDS, TITLES, ClearCallLog
from ..core.directory import LOCAL, Contact, SetLocalDirectory

BASE = "/servlet"
PAGE = f"{BASE}?p=calllog&q=load"
TITLE = "Calls"
MAX_NUMBER = 32
# The field is "numbers", never "number": the servlet takes a request with number= as the
# Action URI's dial (number=201), before any page sees it.


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _form(csrf: str, q: str, inner: str, button: str) -> str:
    return (f"<form method=post action='{BASE}?p=calllog&amp;q={q}'>"
            f"<input type=hidden name=csrf value='{_e(csrf)}'>{inner}"
            f"<button type=submit>{_e(button)}</button></form>")


def show(webui: Any, session: Any, error: str = "") -> web.Response:
    host = webui.host
    parts = [f"<p class=err>{_e(error)}</p>" if error else ""]
    for kind in KINDS:
        rows = "".join(
            f"<tr><td>{_e(time.strftime('%Y-%m-%d %H:%M', time.localtime(e.time)))}</td>"
            f"<td>{_e(e.number)}</td><td>{_e(e.name)}</td><td>{e.duration} s</td>"
            f"<td>{e.account}</td></tr>" for e in host.call_log if e.kind == kind) \
            or "<tr><td colspan=5 class=muted>None.</td></tr>"
        parts.append(f"<h2>{_e(TITLES[kind])}</h2><table><tr><th>When</th><th>Number</th>"
                     f"<th>Name</th><th>Talk</th><th>Line</th></tr>{rows}</table>")
    parts.append(_form(session.csrf, "clear", "", "Clear call log"))
    local = [c for c in host.directory if c.book == LOCAL]
    rows = "".join(
        f"<tr><td>{_e(c.name)}</td><td>{_e(', '.join(c.numbers))}</td><td>"
        + _form(session.csrf, "delete", f"<input type=hidden name=index value={n}>", "Delete")
        + "</td></tr>" for n, c in enumerate(local)) \
        or "<tr><td colspan=3 class=muted>No local contacts.</td></tr>"
    remote = len([c for c in host.directory if c.book != LOCAL])
    parts.append(f"<h2>Directory</h2><table><tr><th>Name</th><th>Numbers</th><th></th></tr>"
                 f"{rows}</table>" + _form(
                     session.csrf, "add",
                     "<input name=name placeholder=Name maxlength=64> "
                     f"<input name=numbers placeholder='201, 0301234567' maxlength=128> ", "Add")
                 + f"<p class=muted>{remote} contact(s) from the remote phone books.</p>")
    return webui._page(TITLE, "".join(parts), session=session,  # type: ignore[no-any-return]
                       status=400 if error else 200)


async def change(webui: Any, form: Mapping[str, str], session: Any, q: str
                 ) -> web.StreamResponse:
    host = webui.host
    local = tuple(c for c in host.directory if c.book == LOCAL)
    if q == "clear":
        host.post(ClearCallLog())
    elif q == "add":
        name = form.get("name", "").strip()[:64]
        numbers = tuple(n.strip() for n in form.get("numbers", "").split(",") if n.strip())
        bad = [n for n in numbers if len(n) > MAX_NUMBER
               or not all(ch.isalnum() or ch in "+*#-.@ " for ch in n)]
        if not name or not numbers or bad:
            return show(webui, session, "Not added: a contact needs a name and a number "
                        "(digits, +, *, #; several separated by commas).")
        host.post(SetLocalDirectory(add=(Contact(name, numbers[:4]),)))
    elif q == "delete":
        raw = form.get("index", "")
        if not raw.isdigit() or int(raw) >= len(local):
            return show(webui, session, "Not deleted: no such contact.")
        n = int(raw)        # as the page listed them; the core removes that contact
        host.post(SetLocalDirectory(remove=local[n]))
    else:
        return show(webui, session, "No such form.")
    raise web.HTTPSeeOther(PAGE)
