"""What the two remote-control doors share: the HTTP servlet and the SIP NOTIFY listener.

A request's parameters become the phone's inputs (``core.uri``), the inputs go
to the runtime's inbox, and a source with no decision yet makes the phone ask
"Allow Remote Control?" (``RemoteControlAsk``). Who may is
``core.remote_control``'s business; what a key does is the core's.
"""

from __future__ import annotations

import logging
from typing import Iterable

from ..core import inputs as ins
from ..core.uri import account_for_uri, parse_request
from ..host import PhoneHost
from .log_limit import LogLimiter, left_out

log = logging.getLogger("deskphone.remote")
ACTIONS_LOGGED = LogLimiter()       # per door (via): a scripted flood is not a flood of lines
ASKS_LOGGED = LogLimiter(burst=5)   # "asking the user", per door: anyone may cause one

Params = list[tuple[str, str]]      # decoded (name, value) pairs, names in lower case


def request_inputs(host: PhoneHost, params: Params) -> list[ins.Input]:
    """The inputs for a request's ``key`` / ``number`` / ``outgoing_uri`` parameters.

    Several ``key=`` are done in order (``key=OK&key=X``); for the others the first
    one counts. Raises ``ActionUriError`` (nothing is done) for a bad value.
    """
    wanted = {k: v for k, v in reversed(params) if k in ("key", "number", "outgoing_uri")}
    keys = [v for k, v in params if k == "key"]
    if len(keys) > 1:
        wanted["key"] = ";".join(keys)
    inputs = parse_request(wanted, line_keys=host.device.line_keys, settings=host.settings)
    outgoing = wanted.get("outgoing_uri", "").strip()
    if outgoing and any(isinstance(i, ins.Dial) for i in inputs) \
            and account_for_uri(host.settings, outgoing) is None:
        _unknown_outgoing_uri(outgoing)
    return inputs


_OUTGOING_LOGGED: set[str] = set()
_OUTGOING_KEPT = 64                 # distinct values remembered, so a flood is bounded


def _unknown_outgoing_uri(value: str) -> None:
    """An outgoing_uri naming no enabled account dials from the default one, as a Yealink
    does; said once per value (clients send the same one with every call)."""
    if value in _OUTGOING_LOGGED or len(_OUTGOING_LOGGED) >= _OUTGOING_KEPT:
        return
    _OUTGOING_LOGGED.add(value)
    log.info("outgoing_uri %r names no enabled account: dialling from the default account",
             value[:80])


def perform(host: PhoneHost, inputs: Iterable[ins.Input], via: str = "") -> None:
    """Hand a trusted request's inputs to the phone, in order."""
    inputs = list(inputs)
    skipped = ACTIONS_LOGGED.allow(via)
    if skipped is not None:
        log.info("remote control%s: %s%s", f" ({via})" if via else "",
                 ", ".join(describe(i) for i in inputs), left_out(skipped))
    for inp in inputs:
        host.post(inp)


def ask_user(host: PhoneHost, source: str, via: str = "") -> None:
    """A source with no decision yet: put "Allow Remote Control?" on the screen (once)."""
    skipped = ASKS_LOGGED.allow(via)
    if skipped is not None:
        log.info("remote control from %s%s: asking the user%s", source,
                 f" ({via})" if via else "", left_out(skipped))
    host.post(ins.RemoteControlAsk(source))


def describe(inp: ins.Input) -> str:
    fields = ", ".join(f"{v!r}" for v in vars(inp).values())
    return f"{type(inp).__name__}({fields})"
