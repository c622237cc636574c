"""The web page "Calls": the call log (and clearing it).

Served by ``net.webui`` behind its login and CSRF check (``/servlet?p=calllog``);
clearing goes to the phone as an input (``ClearCallLog``), so the screen, the
console and the file agree. The local directory has a page of its own
(``webui_directory``); this page's add and delete forms of an earlier day still work.
"""

from __future__ import annotations

import time
from typing import Mapping

from aiohttp import web

from ..core.call_log import KINDS, TITLES, ClearCallLog
from . import webui_directory
from .webui_base import Page, PageUI, Session, e, form, url


PAGE = url("calllog")
TITLE = "Calls"


def show(ui: PageUI, session: Session, _: Mapping[str, str]) -> web.Response:
    parts = []
    for kind in KINDS:
        rows = "".join(
            f"<tr><td>{e(time.strftime('%Y-%m-%d %H:%M', time.localtime(x.time)))}</td>"
            f"<td>{e(x.number)}</td><td>{e(x.name)}</td><td>{x.duration} s</td>"
            f"<td>{x.account}</td></tr>" for x in ui.host.call_log if x.kind == kind) \
            or "<tr><td colspan=5 class=muted>None.</td></tr>"
        parts.append(f"<h2>{e(TITLES[kind])}</h2><table><tr><th>When</th><th>Number</th>"
                     f"<th>Name</th><th>Talk</th><th>Line</th></tr>{rows}</table>")
    parts.append(form(session, "calllog", "clear", "", "Clear call log", button_id="clear"))
    parts.append(f"<p>Contacts: the <a href='{e(webui_directory.PAGE)}'>Directory</a> page.</p>")
    return ui.page(TITLE, "".join(parts), session=session)


async def clear(ui: PageUI, session: Session, _: Mapping[str, str]) -> web.StreamResponse:
    ui.host.post(ClearCallLog())
    raise web.HTTPSeeOther(PAGE)


async def add(ui: PageUI, session: Session, posted: Mapping[str, str]) -> web.StreamResponse:
    return await webui_directory.add(ui, session, posted, back=PAGE)


async def delete(ui: PageUI, session: Session, posted: Mapping[str, str]) -> web.StreamResponse:
    return await webui_directory.delete(ui, session, posted, back=PAGE)


PAGES = (Page("calllog", TITLE, show, {"clear": clear, "add": add, "delete": delete}),)
