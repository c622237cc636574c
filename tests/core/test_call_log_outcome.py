"""How each logged call went (``Entry.outcome``), and the log file read both ways."""

from __future__ import annotations

import json

from deskphone.config.call_log_file import CallLogFile
from deskphone.core import inputs as ins
from deskphone.core.call_log import Entry, from_data, outcome_of, to_data
from test_records import T0, feed, started


def outcomes(phone) -> dict[str, list[tuple[str, str]]]:
    return {kind: [(e.number, e.outcome) for e in items]
            for kind, items in phone.state.call_log.lists.items()}


def placed(phone, number: str, reason: str, at: float) -> None:
    feed(phone, ins.Dial(number), at=at)
    ref = phone.state.calls[0].ref
    feed(phone, ins.CallOutgoing(ref, f"out-{number}", f"sip:{number}@pbx.test"),
         ins.CallClosed(f"out-{number}", reason), at=at + 1)


def test_each_way_a_call_can_go_is_its_own_outcome():
    phone = started()
    feed(phone, ins.CallIncoming("in-1", 1, "sip:201@pbx.test", "Alice"), at=T0 + 1)
    feed(phone, ins.KeyPress("OK"), at=T0 + 2)
    feed(phone, ins.CallClosed("in-1", "normal"), at=T0 + 10)                  # answered
    feed(phone, ins.CallIncoming("in-2", 1, "sip:202@pbx.test", "Bob"),
         ins.CallClosed("in-2", "canceled"), at=T0 + 20)                       # missed
    feed(phone, ins.CallIncoming("in-3", 1, "sip:203@pbx.test", ""), ins.KeyPress("X"),
         at=T0 + 30)                                                           # rejected
    placed(phone, "204", "busy", T0 + 40)
    placed(phone, "205", "declined", T0 + 50)
    feed(phone, ins.Dial("206"), at=T0 + 60)
    feed(phone, ins.EndCall(), at=T0 + 61)                                     # cancelled
    assert outcomes(phone) == {
        "missed": [("202", "missed")],
        "received": [("203", "rejected"), ("201", "answered")],
        "placed": [("206", "unanswered"), ("205", "rejected"), ("204", "busy")]}


def test_a_call_dnd_turns_away_is_missed():
    phone = started(**{"features.dnd.enable": True})
    feed(phone, ins.CallIncoming("in-1", 1, "sip:205@pbx.test", "Eve"))
    assert outcomes(phone)["missed"] == [("205", "missed")]


def test_entries_older_than_the_field_get_an_outcome_from_kind_and_duration():
    old = [{"kind": "missed", "name": "", "number": "1", "account": 1, "time": T0},
           {"kind": "received", "name": "", "number": "2", "account": 1, "time": T0,
            "duration": 30},
           {"kind": "received", "name": "", "number": "3", "account": 1, "time": T0},
           {"kind": "placed", "name": "", "number": "4", "account": 1, "time": T0},
           {"kind": "placed", "name": "", "number": "5", "account": 1, "time": T0,
            "outcome": "nonsense"}]
    entries = from_data(old)
    assert [e.outcome for e in entries] == [""] * 5
    assert [outcome_of(e) for e in entries] == ["missed", "answered", "rejected",
                                                "unanswered", "unanswered"]


def test_the_file_keeps_the_outcome_and_an_older_reader_still_reads_it(tmp_path):
    entry = Entry("placed", "Bob", "202", 1, T0, 0, outcome="busy")
    store = CallLogFile(tmp_path)
    store.path.write_text(json.dumps({"version": 1, "entries": to_data([entry])}))
    assert store.read() == (entry,)
    # What the reader before the field did: only the keys it knew, the rest ignored.
    item = json.loads(store.path.read_text())["entries"][0]
    known = {k: item[k] for k in ("kind", "name", "number", "account", "time", "duration",
                                  "new")}
    assert Entry(**known) == Entry("placed", "Bob", "202", 1, T0, 0)
