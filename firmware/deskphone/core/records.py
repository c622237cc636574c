"""What the phone remembers: the call log and the directory, and the keys of their lists.

- Every call that leaves ``state.calls`` goes into the log (``core.call_log`` says
  which list), and so does a call turned away before it rang (call waiting off,
  DND). The log is the one count of new missed calls: the idle screen, its icon
  and the ``mwi`` LED read ``state.missed``, kept equal to the log's count here.
  Opening the missed list marks them seen.
- A caller without a display name gets the name the directory gives its number,
  before any model sees the call: the ringing screen, ``$display_remote`` and the
  log all show it.
- History (F2, "Calls", on the idle screen) lists the three logs, the directory and "Clear
  call log"; in a list UP/DOWN choose and OK (Send) dials. RD on an idle phone
  opens the placed list; RD again dials its selected entry (the latest at first),
  as a Yealink does. In the directory the digit keys search by the letters on them.
"""

from __future__ import annotations

from typing import TypeVar

from . import calls
from . import effects as fx
from . import inputs as ins
from .call_log import KINDS, CallLogLoaded, ClearCallLog, Entry, SaveCallLog
from .directory import (LOCAL, MAX_CONTACTS, Contact, DirectoryLoaded, SetLocalDirectory,
                        WriteDirectory, number_of)
from .keys import DIGITS, is_line_key
from .state import Call, PhoneState
from .step import Step
from .views import HISTORY, HISTORY_KINDS, MAX_TYPED, View


I = TypeVar("I")
Before = tuple[dict[str, Call], int]      # the calls and the missed count before an input


# ------------------------------------------------------------ the facade's hooks

def before(state: PhoneState, inp: I) -> tuple[I, Before]:
    """The input as the models get it (a caller named by the directory), and the calls now."""
    seen = ({c.ref: c for c in state.calls}, state.missed)
    if isinstance(inp, ins.CallIncoming) and not inp.remote_name.strip():
        name = state.directory.name_of(number_of(inp.remote_uri))
        if name:
            named = ins.CallIncoming(inp.call_id, inp.account, inp.remote_uri, name)
            return named, seen      # type: ignore[return-value]
    return inp, seen


def after(step: Step, inp: object, seen: Before) -> None:
    """Log the calls the input ended (or turned away), and keep the missed count true.

    The call model counts a missed call in ``state.missed``; what it added during
    this input tells which of the calls that went were missed."""
    state = step.state
    log = state.call_log
    calls_before, missed_before = seen
    missed = state.missed - missed_before
    now_refs = {c.ref for c in state.calls}
    for c in state.calls:
        log.started.setdefault(c.ref, step.now)
    changed = False
    for ref, call in calls_before.items():
        if ref in now_refs:
            continue
        kind = "placed" if call.direction == "out" else "received"
        if kind == "received" and call.established_at is None and missed > 0:
            kind, missed = "missed", missed - 1
        log.add(_entry(step, call, kind, outcome=_outcome(call, kind, inp)))
        log.started.pop(ref, None)
        changed = True
    if isinstance(inp, ins.CallIncoming) and not any(c.call_id == inp.call_id
                                                     for c in state.calls):
        dnd = any(isinstance(e, fx.Emit) and e.event == "reject_incoming_call"
                  for e in step.out)
        if missed > 0 or dnd:
            call = Call(ref="", call_id=inp.call_id, direction="in", account=inp.account,
                        remote_uri=inp.remote_uri, remote_name=inp.remote_name)
            log.add(_entry(step, call, "missed", new=missed > 0))
            changed = True
    if changed:
        save(step)
    state.missed = log.new_missed


def _outcome(call: Call, kind: str, inp: object) -> str:
    """How a call that left went (``core.call_log.OUTCOMES``): the far end's answer to an
    outgoing call comes with the engine's ``CallClosed``."""
    if call.established_at is not None:
        return "answered"
    if kind != "placed":
        return "missed" if kind == "missed" else "rejected"
    reason = inp.reason if isinstance(inp, ins.CallClosed) else ""
    return {"busy": "busy", "declined": "rejected"}.get(reason, "unanswered")


def _entry(step: Step, call: Call, kind: str, new: bool | None = None,
           outcome: str = "missed") -> Entry:
    state = step.state
    number = number_of(call.remote_uri) if call.remote_uri else call.number
    if call.direction == "out" and call.number:
        number = call.number
    name = call.remote_name or state.directory.name_of(number)
    started = state.call_log.started.get(call.ref, step.now)
    duration = int(step.now - call.established_at) if call.established_at is not None else 0
    return Entry(kind, name[:64], number[:64], call.account, started, max(0, duration),
                 new=(kind == "missed") if new is None else new, outcome=outcome)


def save(step: Step) -> None:
    step.send(SaveCallLog(step.state.call_log.all()))


# ------------------------------------------------------------ inputs

def on_call_log_loaded(step: Step, inp: CallLogLoaded) -> None:
    step.state.call_log.merge(inp.entries)
    step.state.missed = step.state.call_log.new_missed


def on_clear_call_log(step: Step, inp: ClearCallLog) -> None:
    if inp.kind is not None and inp.kind not in KINDS:
        return
    step.state.call_log.clear(inp.kind)
    step.state.missed = step.state.call_log.new_missed
    save(step)


def on_directory_loaded(step: Step, inp: DirectoryLoaded) -> None:
    step.state.directory.load(inp.source, inp.contacts)


def on_set_local_directory(step: Step, inp: SetLocalDirectory) -> None:
    contacts = list(step.state.directory.books.get(LOCAL, ()))
    if inp.remove is not None and inp.remove in contacts:
        contacts.remove(inp.remove)
    contacts += [Contact(c.name, c.numbers, LOCAL) for c in inp.add if c.numbers]
    contacts = tuple(contacts[:MAX_CONTACTS])
    step.state.directory.load(LOCAL, contacts)
    step.send(WriteDirectory(contacts))


# ------------------------------------------------------------ keys

def showing(state: PhoneState) -> bool:
    """The lists own the screen (and the keys): open, and no call or dialing under way."""
    return state.view is not None and not state.calls and state.dial is None \
        and state.menu is None


def softkey(step: Step, label: str) -> bool:
    """The soft keys only the lists have; True when ``label`` was one of them."""
    state = step.state
    if label == "Calls" and state.view is None:         # the idle screen's F2: History
        state.view = View("history")
        return True
    if label == "Clear" and showing(state) and state.view is not None \
            and state.view.kind == "log":
        step.flash("Cleared")
        on_clear_call_log(step, ClearCallLog(state.view.log_kind))
        return True
    return False


def on_key(step: Step, key: str) -> bool:
    """A key while a list is open, and RD; False lets the key go on to the other models."""
    state = step.state
    if key == "RD" and not state.calls and state.dial is None and state.menu is None:
        return _redial(step)
    if not showing(state):
        return False
    view = state.view
    assert view is not None
    count = len(_items(state, view))
    if key in ("UP", "DOWN"):
        if count:
            view.index = (view.index + (1 if key == "DOWN" else -1)) % count
    elif key == "OK":
        _choose(step, view)
    elif key == "X":
        state.view = View("history", HISTORY.index("Directory") if view.kind == "directory"
                          else _history_index(view.log_kind)) \
            if view.kind != "history" and view.back else None
    elif view.kind == "directory" and key in DIGITS:
        view.typed = (view.typed + key)[:MAX_TYPED]
        view.index = 0
    elif view.kind == "directory" and key == "LEFT":
        view.typed = view.typed[:-1]
        view.index = 0
    elif key in DIGITS or key in ("HEADSET", "SPEAKER") or is_line_key(key):
        state.view = None               # the phone's own keys leave the list
        return False
    return True


def _history_index(kind: str) -> int:
    return next(i for i, label in enumerate(HISTORY) if HISTORY_KINDS.get(label) == kind)


def _redial(step: Step) -> bool:
    state = step.state
    placed = state.call_log.lists["placed"]
    if not placed:
        return False                    # nothing logged: the plain redial of last_number
    view = state.view
    if view is not None and view.kind == "log" and view.log_kind == "placed":
        _choose(step, view)
    else:
        state.view = View("log", 0, "placed", back=False)
    return True


def _items(state: PhoneState, view: View) -> tuple[object, ...]:
    if view.kind == "history":
        return HISTORY
    if view.kind == "log":
        return tuple(state.call_log.lists[view.log_kind])
    return state.directory.search(view.typed)


def _choose(step: Step, view: View) -> None:
    state = step.state
    items = _items(state, view)
    if not items:
        return
    item = items[min(view.index, len(items) - 1)]
    if view.kind == "history":
        label = str(item)
        if label in HISTORY_KINDS:
            state.view = View("log", 0, HISTORY_KINDS[label])
            if HISTORY_KINDS[label] == "missed" and state.call_log.seen_missed():
                save(step)
                state.missed = state.call_log.new_missed
        elif label == "Directory":
            state.view = View("directory")
        else:
            on_clear_call_log(step, ClearCallLog())
            step.flash("Call log cleared")
        return
    number = item.number                # type: ignore[attr-defined]
    account = item.account if isinstance(item, Entry) else None
    if number:
        state.view = None
        calls.on_dial(step, ins.Dial(number, account))
