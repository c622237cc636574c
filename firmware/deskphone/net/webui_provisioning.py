"""The web page "Provisioning": the server, its credentials, when to provision, Provision now.

The server and the schedule are settings (``static.auto_provision.*``, Yealink's
names), saved like any other; the password is write-only. "Provision now" posts
the same ``RequestAutoProvision`` input as the console's ``autop`` and the
AutoP key, so a run from here is the run the phone makes anyway. The last
run's end (when, ok or failed, why) is ``PhoneHost.last_provisioning``.
"""

from __future__ import annotations

import logging
import time
from typing import Mapping

from aiohttp import web

from ..core import inputs as ins
from .webui_base import Field, PageUI, Session, e, form, settings_page, url


log = logging.getLogger("deskphone.webui")

P = "static.auto_provision."


def fields() -> list[Field]:
    return [
        Field(P + "server.url", "Server URL",
              "http://, https://, tftp:// or ftp://; blank: found by DHCP or SIP PnP"),
        Field(P + "server.username", "User name"),
        Field(P + "server.password", "Password"),
        Field(P + "power_on", "Provision at power on"),
        Field(P + "repeat.enable", "Repeatedly"),
        Field(P + "repeat.minutes", "Every (minutes)"),
        Field(P + "weekly.enable", "Weekly"),
        Field(P + "weekly.begin_time", "Weekly: from", "HH:MM"),
        Field(P + "weekly.end_time", "Weekly: to", "HH:MM"),
        Field(P + "weekly.dayofweek", "Weekly: days", "digits 0 (Sunday) to 6 (Saturday)"),
        Field(P + "dhcp_option.enable", "Server from DHCP (options 66, 43)"),
        Field(P + "pnp_enable", "Server by SIP PnP"),
    ]


def last_result(ui: PageUI, session: Session, p: Mapping[str, str]) -> str:
    run = ui.host.last_provisioning
    if run is None:
        result = "<span class=muted>No run since the phone started.</span>"
    else:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run.at))
        how = "<span class=ok>ok</span>" if run.ok else "<span class=err>failed</span>"
        result = f"{e(when)}: {how}" + (f" ({e(run.reason)})" if run.reason else "")
    started = ("<p class=ok id=started>Provisioning started: reload this page for its result."
               "</p>" if p.get("started") == "1" else "")
    return (f"<h2>Last result</h2>{started}<p id=last-result>{result}</p>"
            + form(session, "provisioning", "now", "", "Provision now", button_id="provision-now"))


async def now(ui: PageUI, session: Session, _: Mapping[str, str]) -> web.StreamResponse:
    log.info("web page: auto provisioning asked for")
    ui.host.post(ins.RequestAutoProvision())
    raise web.HTTPSeeOther(url("provisioning", started=1))


PAGES = (settings_page("provisioning", "Provisioning", fields, extra=last_result,
                       forms={"now": now}),)
