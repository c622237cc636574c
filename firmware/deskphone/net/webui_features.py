"""The web page "Features": DND, the three forwards, call waiting.

Built from ``core.features.FEATURES``, the one table of the switches: each row
is a feature's switch, a forward's target beside it, the no-answer forward's
ring count. A switch changed here is announced (``dnd_on``...) like the same
switch made on the keypad: the core hears of the new settings from the writer.
"""

from __future__ import annotations

from ..core.features import BY_NAME, FEATURES, NO_ANSWER_TIMEOUT_KEY
from .webui_base import Field, settings_page


def fields() -> list[Field]:
    """Every field, in the table's order."""
    out = []
    for f in FEATURES:
        out.append(Field(f.key, f.web_label))
        if f.target_key:
            out.append(Field(f.target_key, f"{f.web_label}: to", "a number or SIP URI"))
        if f is BY_NAME["no_answer"]:
            out.append(Field(NO_ANSWER_TIMEOUT_KEY, f"{f.web_label}: after rings",
                             "rings of about 6 s before the call is forwarded"))
    return out


PAGES = (settings_page("features", "Features", fields),)
