"""The call log as data: missed, received and placed calls, newest first, 100 of each.

Pure and without the phone's state: ``core.records`` decides when a call goes
in (from the calls that leave ``state.calls``), this module only keeps the
lists bounded and turns them into plain data for the file the adapter writes
(``config.call_log_file``). What counts as which kind:

- placed: every outgoing call, answered or not (busy, rejected, cancelled);
- received: an incoming call that was answered, or that the user rejected;
- missed: an incoming call that ended unanswered without the user turning it
  away, and a call turned away because call waiting is off or DND is on.

Each entry also says how the call went (``outcome``, one of ``OUTCOMES``):
answered (either way), missed, rejected (an incoming call the user turned away;
an outgoing call the far end declined), busy (an outgoing call, 486/600) or
unanswered (an outgoing call that ended before anyone answered: cancelled, no
answer, failed). Entries written before the field existed get one from their
kind and duration (``outcome_of``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Iterable

KINDS = ("missed", "received", "placed")
TITLES = {"missed": "Missed calls", "received": "Received calls", "placed": "Placed calls"}
LIMIT = 100                  # entries kept per kind; the oldest go first
OUTCOMES = ("answered", "missed", "rejected", "busy", "unanswered")


@dataclass(frozen=True)
class Entry:
    kind: str                # missed | received | placed
    name: str                # the display name (or the directory's name), may be ""
    number: str              # the user part of the remote URI, or what was dialled
    account: int
    time: float              # wall-clock seconds when the call started
    duration: int = 0        # talk time in seconds (0: never answered)
    new: bool = False        # missed and not yet seen on the missed list
    outcome: str = ""        # one of OUTCOMES; "" in entries older than the field

    @property
    def who(self) -> str:
        return self.name or self.number


def outcome_of(entry: Entry) -> str:
    """How the call went: the entry's own ``outcome``, else (an older entry) a guess from
    its kind and talk time. A received call of 0 s is taken as rejected (an answered call
    shorter than a second is rarer than a call turned away)."""
    if entry.outcome in OUTCOMES:
        return entry.outcome
    if entry.kind == "missed":
        return "missed"
    if entry.duration > 0:
        return "answered"
    return "rejected" if entry.kind == "received" else "unanswered"


@dataclass(frozen=True)
class CallLogLoaded:
    """Input: the log as the adapter read it from the state directory at start."""
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class ClearCallLog:
    """Input: clear one kind (None: all of it), from the menu, the web page or the console."""
    kind: str | None = None


@dataclass(frozen=True)
class SaveCallLog:
    """Effect: write the whole log (the adapter writes it atomically, off the event loop)."""
    entries: tuple[Entry, ...]


@dataclass
class CallLog:
    lists: dict[str, list[Entry]] = field(default_factory=lambda: {k: [] for k in KINDS})
    started: dict[str, float] = field(default_factory=dict)     # call ref -> when first seen

    def add(self, entry: Entry) -> None:
        items = self.lists[entry.kind]
        items.insert(0, entry)
        del items[LIMIT:]

    def merge(self, entries: Iterable[Entry]) -> None:
        """Entries from the file go after what this run logged already, newest first."""
        for entry in entries:
            if entry.kind in self.lists:
                self.lists[entry.kind].append(entry)
        for kind, items in self.lists.items():
            items.sort(key=lambda e: -e.time)
            del items[LIMIT:]

    def clear(self, kind: str | None = None) -> None:
        for k in KINDS if kind is None else (kind,):
            self.lists[k] = []

    def seen_missed(self) -> bool:
        """The missed list was looked at: nothing is new any more. True when something was."""
        items = self.lists["missed"]
        if not any(e.new for e in items):
            return False
        self.lists["missed"] = [replace(e, new=False) if e.new else e for e in items]
        return True

    @property
    def new_missed(self) -> int:
        return sum(1 for e in self.lists["missed"] if e.new)

    def all(self) -> tuple[Entry, ...]:
        return tuple(e for k in KINDS for e in self.lists[k])


def to_data(entries: Iterable[Entry]) -> list[dict[str, Any]]:
    return [asdict(e) for e in entries]


def from_data(data: object) -> tuple[Entry, ...]:
    """Entries from the file's JSON; anything malformed is left out (never fatal)."""
    out = []
    for item in data if isinstance(data, list) else []:
        if not isinstance(item, dict) or item.get("kind") not in KINDS:
            continue
        try:
            out.append(Entry(kind=str(item["kind"]), name=str(item.get("name", ""))[:64],
                             number=str(item.get("number", ""))[:64],
                             account=int(item.get("account", 1)), time=float(item["time"]),
                             duration=max(0, int(item.get("duration", 0))),
                             new=bool(item.get("new", False)),
                             outcome=_outcome(item.get("outcome"))))
        except (KeyError, TypeError, ValueError):
            continue
    return tuple(out)


def _outcome(value: object) -> str:
    return value if isinstance(value, str) and value in OUTCOMES else ""
