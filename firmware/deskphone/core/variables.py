"""The Yealink ``$variables`` of an Action URL: their values for an event, and their expansion.

What each carries (the firmware's meaning; the README's variables section has the table):

- ``$call_id`` is the phone's own call number, a decimal (``1``, ``2``...,
  counted from 1 again after a restart), as a Yealink prints it: receivers
  written for Yealink phones cast it to an integer. The SIP Call-ID is
  ``$sip_call_id`` (this phone's addition); ``ASW:`` / ``CANCEL:`` / ``HOLD:`` /
  ``UNHOLD:`` take either back.
- ``$display_remote`` and ``$callerID`` fall back to the remote number when the
  call carries no display name; ``$calledNumber`` is the remote party's number
  in both directions (what was dialled, or the caller's user part).
- ``$duration``: the talk time in whole seconds (0 before the call was
  answered); on Terminated, the length of the call. ``$callDirection``:
  ``incoming`` or ``outgoing``.

Values are percent-encoded, because receivers parse the query with ordinary URL
decoding: a display name such as ``A&B=C #1`` substituted raw would split into
several parameters or cut the query at ``#``. Encoded with nothing left "safe",
every value reaches the receiver as one intact parameter value.
"""

from __future__ import annotations

import re
from typing import Mapping
from urllib.parse import quote

from .accounts import account
from .events import VARIABLES
from .state import Call, PhoneState

# The firmware's variables beyond the admin guide's 14 whose meaning is clear, and the
# SIP Call-ID under a name of this phone's own.
EXTRA: tuple[str, ...] = ("duration", "callDirection", "sip_call_id")
NAMES: tuple[str, ...] = VARIABLES + EXTRA
KNOWN: frozenset[str] = frozenset(NAMES)

# The whole identifier is taken (longest match), so ``$display_local`` is never
# read as ``$display`` + ``_local`` nor ``$local_x`` as ``$local`` + ``_x``.
#
# The optional backslash: the Yealink PDF writes ``\$mac`` (an escaping artefact
# of the document), and people paste it into the configuration as it is. A
# real Yealink phone would send that backslash, which no receiver wants, so
# ``\$mac`` is read as ``$mac``. A backslash before an unknown word is kept,
# like the word itself.
_REFERENCE = re.compile(r"\\?\$([A-Za-z_][A-Za-z0-9_]*)")


def expand(template: str, variables: Mapping[str, str]) -> str:
    """``template`` with each known ``$name`` replaced by its percent-encoded value.

    A known variable without a value (absent or "") becomes "": receivers read
    ``$calledNumber`` on incoming calls too and must not get the literal text.
    Unknown ``$words`` stay exactly as written.
    """
    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in KNOWN:
            return match.group(0)
        value = variables.get(name) or ""
        # errors="replace": a lone surrogate (undecodable bytes from the network)
        # must not make the whole event fail.
        return quote(str(value), safe="", errors="replace")

    return _REFERENCE.sub(substitute, template)


def call_number(call: Call) -> str:
    """The phone's own number of ``call`` as ``$call_id`` carries it: a decimal."""
    return call.ref.lstrip("c")


def variables(state: PhoneState, call: Call | None = None,
              account_index: int | None = None) -> dict[str, str]:
    """The values of every variable of ``NAMES`` for an event about ``call`` (or an account)."""
    v = dict.fromkeys(NAMES, "")
    dev = state.device
    v.update(mac=dev.mac, ip=state.ip, model=dev.model, firmware=dev.firmware)
    n = call.account if call else account_index
    if n is not None:
        acc = account(state.settings, n)
        v.update(active_url=acc.uri, active_user=acc.user_name, active_host=acc.host)
    if call is not None:
        acc = account(state.settings, call.account)
        number = (call.number if call.direction == "out" else "") or user_part(call.remote_uri)
        talked = state.now - call.established_at if call.established_at is not None else 0.0
        # $local / $remote swap with the direction: "local" is always this phone's side.
        v.update(local=acc.uri, remote=call.remote_uri,
                 display_local=acc.display_name or acc.user_name,
                 display_remote=call.remote_name or number,
                 call_id=call_number(call), sip_call_id=call.call_id,
                 calledNumber=number, duration=str(max(0, int(talked))),
                 callDirection="incoming" if call.direction == "in" else "outgoing")
        if call.direction == "in":
            v["callerID"] = call.remote_name or number
    return v


def user_part(uri: str) -> str:
    rest = uri.split(":", 1)[1] if uri.startswith(("sip:", "sips:", "tel:")) else uri
    return rest.split("@", 1)[0].split(";", 1)[0]
