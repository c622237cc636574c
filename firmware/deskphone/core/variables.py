"""Expansion of the Yealink ``$variables`` in an Action URL template.

Values are percent-encoded, because receivers parse the query with ordinary URL
decoding: a display name such as ``A&B=C #1`` substituted raw would split into
several parameters or cut the query at ``#``. Encoded with nothing left "safe",
every value reaches the receiver as one intact parameter value.
"""

from __future__ import annotations

import re
from typing import Mapping
from urllib.parse import quote

from .events import VARIABLES

KNOWN: frozenset[str] = frozenset(VARIABLES)

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
