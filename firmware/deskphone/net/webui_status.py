"""The web page "Status": the screen, the device, the accounts, the features, the deliveries."""

from __future__ import annotations

import time
from typing import Mapping

from aiohttp import web

from ..core.accounts import enabled_accounts
from ..core.features import FEATURES
from .servlet import screen_png
from .webui_base import BASE, Page, PageUI, Session, e


DELIVERIES_SHOWN = 50


def show(ui: PageUI, session: Session, _: Mapping[str, str]) -> web.Response:
    host, s = ui.host, ui.host.settings
    dev = host.device
    regs = host.registrations
    rows = "".join(
        f"<tr><td>{a.index}</td><td>{e(a.label)}</td><td>{e(a.user_name)}</td>"
        f"<td>{e(a.host)}</td><td>{e(regs.get(a.index, 'registering'))}</td></tr>"
        for a in enabled_accounts(s)) or "<tr><td colspan=5>No account enabled</td></tr>"

    def onoff(on: bool, target: str) -> str:
        return e(("on" if on else "off") + (f" -> {target}" if target else ""))
    features = "".join(
        f"<tr><th>{e(f.web_label)}</th><td>{onoff(f.on(s), f.target(s))}</td></tr>"
        for f in FEATURES)
    deliveries = list(host.deliveries)[-DELIVERIES_SHOWN:][::-1]
    drows = "".join(
        f"<tr><td>{time.strftime('%H:%M:%S', time.localtime(d.at))}</td>"
        f"<td>{e(d.event_name)}</td><td>{e(d.status if d.status is not None else '-')}</td>"
        f"<td>{d.latency * 1000:.0f} ms</td><td>{e(d.error or 'ok')}</td>"
        f"<td class=muted>{e(d.url)}</td></tr>" for d in deliveries) \
        or "<tr><td colspan=6 class=muted>None yet</td></tr>"
    body = f"""
<img class=screen src="{BASE}?p=screen" alt="The phone's screen" width=256 height=128>
<table><tr><th>State</th><td id=state>{e(host.status)}</td></tr>
<tr><th>Model</th><td>{e(dev.model)}</td></tr><tr><th>Firmware</th><td>{e(dev.firmware)}</td></tr>
<tr><th>MAC</th><td>{e(dev.mac)}</td></tr><tr><th>IP</th><td>{e(host.ip)}</td></tr></table>
<h2>Accounts</h2><table id=accounts><tr><th>#</th><th>Label</th><th>User</th><th>Server</th>
<th>Registration</th></tr>{rows}</table>
<h2>Features</h2><table id=features>{features}</table>
<h2>Last {DELIVERIES_SHOWN} Action URL requests</h2>
<table id=deliveries><tr><th>Time</th><th>Event</th><th>Status</th><th>Latency</th><th>Result</th>
<th>URL</th></tr>{drows}</table>"""
    return ui.page("Status", body, session=session)


def screen(ui: PageUI, session: Session, _: Mapping[str, str]) -> web.Response:
    return web.Response(body=screen_png(ui.host), content_type="image/png",
                        headers={"Cache-Control": "no-store"})


PAGES = (Page("status", "Status", show), Page("screen", "Screen", screen, nav=False))
