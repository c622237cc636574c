"""The SIP lab with a dialog presence server (kamailio-presence.cfg), for the BLF tests.

kamailio's ``presence``, ``presence_dialoginfo``, ``pua`` and ``pua_dialoginfo``
(Debian: kamailio-presence-modules) publish the dialog state of every call it
proxies and serve SUBSCRIBEs to the ``dialog`` package, all in memory. ``pua``
insists on binding a database even so: a db_text directory of two tables is
written into kamailio's work directory before it starts.
"""

from __future__ import annotations

import glob
from pathlib import Path

from .sip_lab import SipLab, kamailio_module_dir, lab_missing, start_lab

PRESENCE_CFG = Path(__file__).resolve().parent / "kamailio-presence.cfg"
MODULES = ("presence", "presence_dialoginfo", "pua", "pua_dialoginfo", "dialog", "db_text")

# db_text tables: a header of typed columns (pua's table, version 7, as kamailio 5.6 defines it).
PUA_TABLE = ("id(int,auto) pres_uri(string) pres_id(string) event(int) expires(int) "
             "desired_expires(int) flag(int) etag(string) tuple_id(string,null) "
             "watcher_uri(string) call_id(string) to_tag(string) from_tag(string) cseq(int) "
             "record_route(string,null) contact(string) remote_contact(string) version(int) "
             "extra_headers(string)\n")
VERSION_TABLE = "id(int,auto) table_name(string) table_version(int)\n0:pua:7\n"


def presence_missing() -> str | None:
    why = lab_missing()
    if why:
        return why
    modules = kamailio_module_dir() or ""
    absent = [m for m in MODULES if not glob.glob(f"{modules}/{m}.so")]
    if absent:
        return (f"kamailio modules {', '.join(absent)} are not installed "
                "(make test installs kamailio-presence-modules)")
    return None


def start_presence_lab(root: Path, far_ends: tuple[tuple[str, str, str], ...]) -> SipLab:
    dbtext = root / "kamailio" / "dbtext"
    dbtext.mkdir(parents=True, exist_ok=True)
    (dbtext / "pua").write_text(PUA_TABLE)
    (dbtext / "version").write_text(VERSION_TABLE)
    return start_lab(root, far_ends, PRESENCE_CFG)
