"""The web page "Log": the phone's recent log lines, shown and downloaded as a text file.

The lines are kept in memory from the moment the web pages exist (``RECENT``, a
handler on the root logger): at most ``KEPT`` lines of at most ``LINE_MAX``
characters, so a flood of log lines costs a bounded amount of memory. Each line
is masked as the journal's are (``logs.redact_text``: passwords in URLs and
fields, every SIP and provisioning password the settings hold).
"""

from __future__ import annotations

import collections
import logging
import time
from typing import Mapping

from aiohttp import web

from .. import logs
from .webui_base import Page, PageUI, Session, e, url


KEPT = 2000
LINE_MAX = 1000
SHOWN = 200


class RecentLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: collections.deque[str] = collections.deque(maxlen=KEPT)

    def install(self) -> None:
        """On the root logger, once however many phones one process builds."""
        root = logging.getLogger()
        if self not in root.handlers:
            root.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = f"{record.name}: {record.getMessage()}".replace("\n", " | ")
        except Exception:                   # a bad format string must not lose the rest
            text = f"{record.name}: {record.msg!r}"
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.created))
        line = f"{when} {record.levelname.lower():7} {logs.redact_text(text[:LINE_MAX])}"
        self.lines.append(line)

    def text(self) -> str:
        # The masking again at the time of reading: a password set after the line was kept.
        return "".join(logs.redact_text(line) + "\n" for line in list(self.lines))


RECENT = RecentLines()


def show(ui: PageUI, session: Session, p: Mapping[str, str]) -> web.StreamResponse:
    if p.get("q") == "download":
        name = f"deskphone-{ui.host.device.mac or 'phone'}.log"
        return web.Response(text=RECENT.text(), content_type="text/plain", headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
    lines = list(RECENT.lines)[-SHOWN:]
    body = (f"<p><a id=download href='{e(url('log', 'download'))}'>Download the last "
            f"{len(RECENT.lines)} line(s)</a> (at most {KEPT}; passwords masked).</p>"
            f"<h2>The last {len(lines)}</h2><pre id=log>"
            + e("\n".join(logs.redact_text(x) for x in lines)) + "</pre>")
    return ui.page("Log", body, session=session)


PAGES = (Page("log", "Log", show),)
