"""The JSON API's documents: what ``/api/v1/...`` answers, built from the ``PhoneHost``.

Plain data only (dicts, lists, str, int, bool, None), in the shape
``net.api_schema`` describes and the README shows. Times are ISO 8601 in UTC
(``2026-12-02T03:16:01Z``), lengths of time whole seconds. Nothing secret goes
out: no password of any kind, and a URI's user-info password (``sip:u:pw@h``)
is cut before it leaves.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Callable

from ..core.accounts import enabled_accounts
from ..core.blf import BlfLine, Dialog
from ..core.call_log import Entry, outcome_of
from ..core.directory import number_of
from ..core.features import FEATURES, NO_ANSWER_TIMEOUT_KEY
from ..core.state import Call
from ..core.variables import call_number
from ..core.voicemail import Mailbox
from ..host import PhoneHost

VERSION = "1"
Doc = dict[str, Any]
REG_STATES = {"registered": "registered", "failed": "failed", "unregistered": "unregistered"}


def iso(at: float | None) -> str | None:
    """Wall-clock seconds -> ``YYYY-MM-DDTHH:MM:SSZ`` (None stays None)."""
    if at is None:
        return None
    return datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def no_secret(uri: str) -> str:
    """A URI without the password of its user-info: ``sip:alice:pw@host`` -> ``sip:alice@host``."""
    head, at, tail = uri.rpartition("@")
    if not at:
        return uri
    scheme, colon, userinfo = head.partition(":")
    if not colon or "/" in scheme:
        return uri
    rest = userinfo.lstrip("/")
    slashes = userinfo[:len(userinfo) - len(rest)]
    user = rest.split(":", 1)[0]
    return f"{scheme}:{slashes}{user}@{tail}"


def _head(now: float) -> Doc:
    return {"version": VERSION, "time": iso(now)}


# ------------------------------------------------------------------ status

def status(host: PhoneHost, now: float | None = None) -> Doc:
    now = time.time() if now is None else now
    settings = host.settings
    device = host.device
    uptime = host.uptime
    regs = host.registrations
    features: Doc = {}
    forwards: Doc = {}
    for feature in FEATURES:
        if feature.forward_kind:
            forward: Doc = {"enabled": feature.on(settings),
                            "target": no_secret(feature.target(settings))}
            if feature.forward_kind == "no_answer":
                forward["rings"] = int(settings.get(NO_ANSWER_TIMEOUT_KEY, 0) or 0)
            forwards[feature.forward_kind] = forward
        else:
            features[feature.name] = feature.on(settings)
    features["forwards"] = forwards
    return {
        **_head(now),
        "device": {"model": device.model, "firmware": device.firmware, "mac": device.mac,
                   "ip": host.ip or device.ip, "board": host.board_name},
        "uptime": None if uptime is None else int(uptime),
        "engine": {"name": host.engine_name, "up": host.engine_up},
        "registrations": [
            {"account": acc.index, "label": acc.label, "user": acc.user_name,
             "server": acc.host, "state": REG_STATES.get(regs.get(acc.index, ""),
                                                         "registering")}
            for acc in enabled_accounts(settings)],
        "features": features,
        "calls": [call(c, now) for c in host.calls],
    }


def call(c: Call, now: float) -> Doc:
    number = c.number if c.direction == "out" and c.number else \
        number_of(c.remote_uri) if c.remote_uri else c.number
    since = c.established_at
    return {"id": call_number(c), "direction": c.direction, "state": c.state.value,
            "number": no_secret(number), "name": c.remote_name, "account": c.account,
            "held": c.held, "remote_held": c.remote_held, "muted": c.muted,
            "since": iso(since),
            "duration": 0 if since is None else max(0, int(now - since))}


# ------------------------------------------------------------------- calls

def calls(host: PhoneHost, now: float | None = None) -> Doc:
    entries = sorted(host.call_log, key=lambda e: -e.time)
    return {**_head(time.time() if now is None else now),
            "calls": [log_entry(e) for e in entries]}


def log_entry(e: Entry) -> Doc:
    return {"direction": "out" if e.kind == "placed" else "in", "outcome": outcome_of(e),
            "list": e.kind, "number": no_secret(e.number), "name": e.name,
            "account": e.account, "start": iso(e.time), "duration": e.duration, "new": e.new}


# --------------------------------------------------------------- voicemail

def voicemail(host: PhoneHost, now: float | None = None) -> Doc:
    boxes = dict(host.voicemail)
    accounts = sorted({a.index for a in enabled_accounts(host.settings)} | set(boxes))
    return {**_head(time.time() if now is None else now),
            "voicemail": [mailbox(boxes.get(n), n) for n in accounts]}


def mailbox(box: Mailbox | None, account: int) -> Doc:
    if box is None:
        return {"account": account, "waiting": False, "new": 0, "old": 0,
                "urgent": {"new": 0, "old": 0}, "updated": None}
    return {"account": account, "waiting": box.waiting, "new": box.new, "old": box.old,
            "urgent": {"new": box.urgent_new, "old": box.urgent_old},
            "updated": iso(box.at) if box.at else None}


# --------------------------------------------------------------------- blf

def blf(host: PhoneHost, now: float | None = None) -> Doc:
    lines = [host.blf[k] for k in sorted(host.blf)]
    return {**_head(time.time() if now is None else now), "blf": [blf_line(b) for b in lines]}


def blf_line(line: BlfLine) -> Doc:
    return {"key": line.key, "value": no_secret(line.value), "label": line.label,
            "account": line.account, "state": line.state,
            "dialogs": [dialog(d) for d in line.dialogs]}


def dialog(d: Dialog) -> Doc:
    return {"id": d.id, "state": d.state, "direction": d.direction, "call_id": d.call_id,
            "local_tag": d.local_tag, "remote_tag": d.remote_tag, "remote": no_secret(d.remote)}


DOCUMENTS: dict[str, Callable[[PhoneHost], Doc]] = {
    "status": status, "calls": calls, "voicemail": voicemail, "blf": blf}
