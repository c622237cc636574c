"""``application/dialog-info+xml`` (RFC 4235): the BLF NOTIFY body, parsed and kept.

``parse(body)`` reads one document with the hardened expat parse of ``net.xml_push``
(no DTD, no entity declarations, a size and an element cap): its version, full or
partial, and each dialog's id, call-id, tags, direction, state and remote identity.
Anything else is a ``DialogInfoError`` and changes nothing.

``DialogBook`` keeps one subscription's dialogs across NOTIFYs: a full document
replaces them, a partial one updates the dialogs it names, an older version than
the last is ignored (RFC 4235 section 4.1; a full one is taken, as after a server
restart), a terminated dialog is dropped. Its
``state`` is the dialogs summed up by ``core.blf.summed_state``.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree import ElementTree as ET

from ..core.blf import DIALOG_STATES, Dialog, summed_state
from .xml_push import XmlPushError, attr, child_text, local_name, tree

MAX_BODY = 32_000            # bytes of one NOTIFY body
MAX_ELEMENTS = 400           # elements of one document
MAX_DIALOGS = 16             # dialogs kept per watched user
MAX_FIELD = 256              # characters of an id, tag or identity


class DialogInfoError(ValueError):
    pass


@dataclass(frozen=True)
class DialogInfo:
    version: int
    full: bool
    entity: str
    dialogs: tuple[Dialog, ...]


def _name(el: ET.Element) -> str:
    return local_name(el.tag).rsplit(":", 1)[-1].lower()     # "{ns}dialog" or "d:dialog"


def _child(el: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in el if _name(c) == name), None)


def _field(text: str) -> str:
    return "".join(ch for ch in text if ch.isprintable())[:MAX_FIELD]


def _dialog(el: ET.Element) -> Dialog:
    ident = _field(attr(el, "id"))
    if not ident:
        raise DialogInfoError("a dialog without an id")
    state_el = _child(el, "state")
    state = "" if state_el is None else "".join(state_el.itertext()).strip().lower()
    if state not in DIALOG_STATES:
        raise DialogInfoError(f"dialog {ident!r}: state {state[:40]!r} is not one of RFC 4235's")
    direction = attr(el, "direction").lower()
    if direction not in ("initiator", "recipient", ""):
        raise DialogInfoError(f"dialog {ident!r}: direction {direction[:40]!r}")
    remote = ""
    remote_el = _child(el, "remote")
    if remote_el is not None:
        target = _child(remote_el, "target")
        remote = child_text(remote_el, "identity") or ("" if target is None
                                                       else attr(target, "uri"))
    return Dialog(ident, state, direction, _field(attr(el, "call-id")),
                  _field(attr(el, "local-tag")), _field(attr(el, "remote-tag")), _field(remote))


def parse(body: bytes) -> DialogInfo:
    if len(body) > MAX_BODY:
        raise DialogInfoError(f"dialog-info larger than {MAX_BODY} bytes")
    try:
        root = tree(body, MAX_ELEMENTS)
    except XmlPushError as exc:
        raise DialogInfoError(str(exc)) from None
    if _name(root) != "dialog-info":
        raise DialogInfoError(f"root element {_name(root)[:40]!r}, not dialog-info")
    version = attr(root, "version")
    if not version.isdigit() or len(version) > 10:
        raise DialogInfoError(f"version {version[:20]!r} is not a number")
    full = attr(root, "state").lower()
    if full not in ("full", "partial"):
        raise DialogInfoError(f"state {full[:20]!r}: full or partial")
    found = [c for c in root if _name(c) == "dialog"]
    if len(found) > MAX_DIALOGS:
        raise DialogInfoError(f"more than {MAX_DIALOGS} dialogs")
    return DialogInfo(int(version), full == "full", _field(attr(root, "entity")),
                      tuple(_dialog(c) for c in found))


class DialogBook:
    """One watched user's dialogs across the NOTIFYs of one subscription."""

    def __init__(self) -> None:
        self.version: int | None = None
        self.dialogs: dict[str, Dialog] = {}

    def reset(self) -> None:
        """A new subscription: its first NOTIFY starts the versions again."""
        self.version = None
        self.dialogs = {}

    def apply(self, info: DialogInfo) -> bool:
        """Take one document; False when it was older than the last (nothing changed)."""
        if self.version is not None and info.version < self.version and not info.full:
            return False
        self.version = info.version
        if info.full:
            self.dialogs = {}
        for d in info.dialogs:
            self.dialogs.pop(d.id, None)
            if d.state != "terminated":
                self.dialogs[d.id] = d
        while len(self.dialogs) > MAX_DIALOGS:          # partial updates that only add
            self.dialogs.pop(next(iter(self.dialogs)))
        return True

    @property
    def state(self) -> str:
        return summed_state(tuple(self.dialogs.values()))
