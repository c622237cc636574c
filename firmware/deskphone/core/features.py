"""The feature switches: ONE table of what each is called, stored as and announced by.

DND, the three forwards and call waiting are switched from the keypad's menu,
the Action URI (``DNDOn``, ``AlwaysFwdOn=123``...), the web pages, the serial
console and provisioning, and reported by the idle screen's icons and the
servlet's ``phonecfg``. Every one of those reads this table; none spells a
switch's key, label or event of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class Feature:
    name: str                   # short name: the console's word, and the table's key
    key: str                    # the setting that switches it
    default: bool               # its factory default
    event: str                  # the Action URL event pair <event>_on / <event>_off
    menu_label: str             # on the phone's feature menu (13 columns at most)
    web_label: str              # on the web pages and the console's status line
    phonecfg: str               # its name in the servlet's phonecfg answer (DND=1, AlwaysFwd=0)
    uri: str                    # the Action URI key stem: <uri>On / <uri>Off
    icon: str | None = None     # the idle screen's icon while it is on
    target_key: str | None = None   # forwards: where calls go
    forward_kind: str | None = None  # forwards: always | busy | no_answer

    def on(self, settings: Mapping[str, object]) -> bool:
        return bool(settings.get(self.key, self.default))

    def target(self, settings: Mapping[str, object]) -> str:
        return str(settings.get(self.target_key, "")) if self.target_key else ""

    def event_for(self, on: bool) -> str:
        return self.event + ("_on" if on else "_off")


def _forward(kind: str, event: str, menu: str, web: str, cfg: str) -> Feature:
    return Feature(kind, f"forward.{kind}.enable", False, event, menu, web, cfg, cfg,
                   icon="fwd", target_key=f"forward.{kind}.target", forward_kind=kind)


FEATURES: tuple[Feature, ...] = (
    Feature("dnd", "features.dnd.enable", False, "dnd", "DND", "DND", "DND", "DND", icon="dnd"),
    _forward("always", "always_fwd", "Always Fwd", "Always forward", "AlwaysFwd"),
    _forward("busy", "busy_fwd", "Busy Fwd", "Busy forward", "BusyFwd"),
    _forward("no_answer", "no_answer_fwd", "NoAns Fwd", "No-answer forward", "NoAnswFwd"),
    Feature("call_waiting", "call_waiting.enable", True, "call_waiting", "Call Waiting",
            "Call waiting", "CallWaiting", "CallWaiting"),
)
BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}
BY_KEY: dict[str, Feature] = {f.key: f for f in FEATURES}
BY_MENU_LABEL: dict[str, Feature] = {f.menu_label: f for f in FEATURES}
FORWARDS: dict[str, Feature] = {f.forward_kind: f for f in FEATURES if f.forward_kind}
DND = BY_NAME["dnd"]
CALL_WAITING = BY_NAME["call_waiting"]
MENU: tuple[str, ...] = tuple(f.menu_label for f in FEATURES)

# The no-answer forward's ring count (Yealink counts in rings of 6 s).
NO_ANSWER_TIMEOUT_KEY = "forward.no_answer.timeout"


def icons(settings: Mapping[str, object]) -> list[str]:
    """The idle screen's feature icons, each once, in table order."""
    out: list[str] = []
    for f in FEATURES:
        if f.icon and f.icon not in out and f.on(settings):
            out.append(f.icon)
    return out


def switched(old: Mapping[str, object], new: Mapping[str, object]) -> list[str]:
    """The events a change of settings from ``old`` to ``new`` announces, in table order."""
    return [f.event_for(f.on(new)) for f in FEATURES if f.on(old) != f.on(new)]
