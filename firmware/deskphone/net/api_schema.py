"""The JSON API's schema (JSON Schema draft 2020-12), version 1: served at /api/v1/schema.

Every document ``net.api_data`` builds validates against ``SCHEMA`` (its
``$defs`` name one per endpoint); the README carries the same schema, and
``tests/net/test_api_schema.py`` checks the two are equal. Version 1 is stable:
keys are only ever added (a client ignores keys it does not know), never
renamed, retyped or removed; that would be /api/v2/.
"""

from __future__ import annotations

import json
from typing import Any

from ..core.blf import BLF_STATES
from ..core.call_log import KINDS, OUTCOMES
from ..core.state import CallState

ID = "https://deskphone.invalid/api/v1/schema"


def _obj(props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": list(props), "properties": props}


STR = {"type": "string"}
INT = {"type": "integer", "minimum": 0}
BOOL = {"type": "boolean"}
TIME = {"$ref": "#/$defs/time"}      # ISO 8601 in UTC, whole seconds
TIME_OR_NULL = {"anyOf": [TIME, {"type": "null"}]}
ACCOUNT = {"type": "integer", "minimum": 1}
HEAD = {"version": {"const": "1"}, "time": TIME}

_forward = _obj({"enabled": BOOL, "target": STR})
_no_answer = _obj({"enabled": BOOL, "target": STR, "rings": INT})

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": ID,
    "title": "deskphone JSON API, version 1",
    "anyOf": [{"$ref": f"#/$defs/{name}"}
              for name in ("index", "status", "calls", "voicemail", "blf", "error")],
    "$defs": {
        "time": {"type": "string", "format": "date-time",
                 "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"},
        "index": _obj({**HEAD, "endpoints": {
            "type": "object", "additionalProperties": {"type": "string", "pattern": "^/api/v1/"},
            "required": ["status", "calls", "voicemail", "blf", "schema"]}}),
        "status": _obj({
            **HEAD,
            "device": _obj({"model": STR, "firmware": STR, "mac": STR, "ip": STR,
                            "board": STR}),
            "uptime": {"anyOf": [INT, {"type": "null"}]},
            "engine": _obj({"name": STR, "up": BOOL}),
            "registrations": {"type": "array", "items": {"$ref": "#/$defs/registration"}},
            "features": _obj({"dnd": BOOL, "call_waiting": BOOL, "forwards": _obj({
                "always": _forward, "busy": _forward, "no_answer": _no_answer})}),
            "calls": {"type": "array", "items": {"$ref": "#/$defs/call"}}}),
        "registration": _obj({"account": ACCOUNT, "label": STR, "user": STR, "server": STR,
                              "state": {"enum": ["registered", "registering", "failed",
                                                 "unregistered"]}}),
        "call": _obj({"id": {"type": "string", "pattern": r"^\d+$"},
                      "direction": {"enum": ["in", "out"]},
                      "state": {"enum": [s.value for s in CallState]},
                      "number": STR, "name": STR, "account": ACCOUNT, "held": BOOL,
                      "remote_held": BOOL, "muted": BOOL, "since": TIME_OR_NULL,
                      "duration": INT}),
        "calls": _obj({**HEAD, "calls": {"type": "array",
                                         "items": {"$ref": "#/$defs/log_entry"}}}),
        "log_entry": _obj({"direction": {"enum": ["in", "out"]},
                           "outcome": {"enum": list(OUTCOMES)},
                           "list": {"enum": list(KINDS)}, "number": STR, "name": STR,
                           "account": ACCOUNT, "start": TIME, "duration": INT,
                           "new": BOOL}),
        "voicemail": _obj({**HEAD, "voicemail": {"type": "array",
                                                 "items": {"$ref": "#/$defs/mailbox"}}}),
        "mailbox": _obj({"account": ACCOUNT, "waiting": BOOL, "new": INT, "old": INT,
                         "urgent": _obj({"new": INT, "old": INT}),
                         "updated": TIME_OR_NULL}),
        "blf": _obj({**HEAD, "blf": {"type": "array", "items": {"$ref": "#/$defs/blf_line"}}}),
        "blf_line": _obj({"key": {"type": "integer", "minimum": 1}, "value": STR, "label": STR,
                          "account": ACCOUNT, "state": {"enum": list(BLF_STATES)},
                          "dialogs": {"type": "array", "items": {"$ref": "#/$defs/dialog"}}}),
        "dialog": _obj({"id": STR, "state": STR, "direction": STR, "call_id": STR,
                        "local_tag": STR, "remote_tag": STR, "remote": STR}),
        "error": _obj({"version": {"const": "1"}, "status": INT, "error": STR}),
    },
}


def pretty(node: Any, indent: str = "", width: int = 92) -> str:
    """JSON text of ``node`` for the README: a part that fits in ``width`` stays on one line."""
    flat = json.dumps(node)
    if len(indent) + len(flat) <= width or not isinstance(node, (dict, list)) or not node:
        return flat
    inner = indent + "  "
    if isinstance(node, list):
        items = [inner + pretty(v, inner, width) for v in node]
        return "[\n" + ",\n".join(items) + f"\n{indent}]"
    items = [f"{inner}{json.dumps(k)}: {pretty(v, inner, width)}" for k, v in node.items()]
    return "{\n" + ",\n".join(items) + f"\n{indent}}}"


if __name__ == "__main__":      # python -m deskphone.net.api_schema: the README's copy
    print(pretty(SCHEMA))
