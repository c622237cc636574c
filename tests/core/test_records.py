"""The call log, History, RD and the directory in the pure core: inputs in, state and effects."""

from __future__ import annotations

from deskphone.core import effects as fx
from deskphone.core import inputs as ins
from deskphone.core.call_log import LIMIT, CallLogLoaded, ClearCallLog, Entry, SaveCallLog
from deskphone.core.directory import Contact, Directory, DirectoryLoaded, keys_of
from deskphone.core.phone import DeviceInfo, Phone

SETTINGS = {"account.1.enable": True, "account.1.label": "Desk", "account.1.user_name": "100",
            "account.1.sip_server.1.address": "pbx.test", "deskphone.hook.debounce_ms": 0}
T0 = 1_700_000_000.0


def started(**extra) -> Phone:
    phone = Phone({**SETTINGS, **extra}, DeviceInfo("001565000001", "T", "1", line_keys=2))
    phone.handle(ins.Start(), T0)
    phone.handle(ins.RegState(1, "registered"), T0)
    return phone


def feed(phone: Phone, *inputs, at: float = T0) -> list:
    out = []
    for inp in inputs:
        out += phone.handle(inp, at)
    return out


def saved(effects) -> tuple[Entry, ...] | None:
    found = [e for e in effects if isinstance(e, SaveCallLog)]
    return found[-1].entries if found else None


def lists(phone: Phone) -> dict[str, list[tuple[str, str, int]]]:
    log = phone.state.call_log
    return {k: [(e.name, e.number, e.duration) for e in v] for k, v in log.lists.items()}


def test_a_days_calls_land_in_their_lists_with_name_number_account_time_and_duration():
    phone = started()
    # Answered in: 42 s of talk.
    feed(phone, ins.CallIncoming("in-1", 1, "sip:201@pbx.test", "Alice"), at=T0 + 1)
    feed(phone, ins.KeyPress("OK"), at=T0 + 2)
    effects = feed(phone, ins.CallClosed("in-1", "normal"), at=T0 + 44)
    # Missed (the caller gave up), rejected by the user.
    feed(phone, ins.CallIncoming("in-2", 1, "sip:202@pbx.test", "Bob"),
         ins.CallClosed("in-2", "canceled"), at=T0 + 50)
    feed(phone, ins.CallIncoming("in-3", 1, "sip:203@pbx.test", ""), ins.KeyPress("X"),
         at=T0 + 60)
    # Out to a busy number.
    feed(phone, ins.Dial("204"), at=T0 + 70)
    ref = phone.state.calls[0].ref
    feed(phone, ins.CallOutgoing(ref, "out-1", "sip:204@pbx.test"),
         ins.CallClosed("out-1", "busy"), at=T0 + 71)
    assert lists(phone) == {"received": [("", "203", 0), ("Alice", "201", 42)],
                            "missed": [("Bob", "202", 0)], "placed": [("", "204", 0)]}
    first = phone.state.call_log.lists["received"][-1]
    assert (first.account, first.time) == (1, T0 + 1)
    assert saved(effects) is not None          # each change goes to the adapter to keep


def test_new_missed_calls_count_on_the_idle_screen_icon_and_led_until_the_list_is_seen():
    phone = started()
    effects = feed(phone, ins.CallIncoming("in-1", 1, "sip:202@pbx.test", "Bob"),
                   ins.CallClosed("in-1", "canceled"))
    assert phone.missed == 1
    assert phone.screen.lines[2] == "1 missed call" and "missed" in phone.screen.icons
    assert fx.SetLed("mwi", "slow") in effects
    feed(phone, ins.KeyPress("F2"))                          # History
    assert phone.screen.kind == "history" and phone.screen.lines[0] == "Missed calls (1)"
    effects = feed(phone, ins.KeyPress("OK"))                # opens the missed list
    assert phone.screen.kind == "calllog" and phone.screen.lines[0].startswith("Bob")
    assert phone.missed == 0 and fx.SetLed("mwi", "off") in effects
    assert saved(effects)[0].new is False                   # seen: kept so across a restart


def test_dnd_turns_a_call_away_into_the_missed_list_without_counting_it_new():
    phone = started(**{"features.dnd.enable": True})
    feed(phone, ins.CallIncoming("in-1", 1, "sip:205@pbx.test", "Eve"))
    assert lists(phone)["missed"] == [("Eve", "205", 0)] and phone.missed == 0


def test_rd_opens_the_placed_list_and_rd_again_dials_the_latest():
    phone = started()
    for n, number in enumerate(("201", "202")):
        feed(phone, ins.Dial(number))
        ref = phone.state.calls[0].ref
        feed(phone, ins.CallOutgoing(ref, f"out-{n}", f"sip:{number}@pbx.test"),
             ins.CallClosed(f"out-{n}", "busy"), at=T0 + n)
    assert not feed(phone, ins.KeyPress("RD"))[0:0] and phone.screen.kind == "calllog"
    assert phone.screen.title.startswith("Placed calls") and phone.screen.selected == 0
    effects = feed(phone, ins.KeyPress("RD"))
    assert [e for e in effects if isinstance(e, fx.EngineDial)][0].number == "202"
    assert phone.screen.kind == "ringback"


def test_ok_dials_the_selected_entry_and_down_moves():
    phone = started()
    feed(phone, CallLogLoaded((Entry("received", "Alice", "201", 1, T0 - 10, 30),
                               Entry("received", "Bob", "202", 2, T0 - 20, 5))))
    feed(phone, ins.KeyPress("F2"), ins.KeyPress("DOWN"), ins.KeyPress("OK"))
    assert phone.screen.title == "Received calls 1/2"
    effects = feed(phone, ins.KeyPress("DOWN"), ins.KeyPress("F1"))          # Send
    dial = [e for e in effects if isinstance(e, fx.EngineDial)][0]
    assert (dial.number, dial.account) == ("202", 2)


def test_each_list_is_bounded_and_clearing_works_from_the_menu_and_by_input():
    phone = started()
    for n in range(LIMIT + 5):
        feed(phone, ins.CallIncoming(f"in-{n}", 1, f"sip:{n}@pbx.test", ""),
             ins.CallClosed(f"in-{n}", "canceled"), at=T0 + n)
    missed = phone.state.call_log.lists["missed"]
    assert len(missed) == LIMIT and missed[0].number == str(LIMIT + 4)
    feed(phone, ins.KeyPress("F2"), *[ins.KeyPress("UP")], ins.KeyPress("OK"))  # Clear call log
    assert all(not v for v in phone.state.call_log.lists.values()) and phone.missed == 0
    assert phone.screen.lines[2] == "Call log cleared"
    feed(phone, CallLogLoaded((Entry("placed", "", "9", 1, T0),)), ClearCallLog("placed"))
    assert lists(phone)["placed"] == []


def test_a_caller_without_a_display_name_is_named_by_the_directory():
    phone = started()
    feed(phone, DirectoryLoaded("remote.1", (Contact("Carol Jones", ("203",), "PBX"),)))
    effects = feed(phone, ins.CallIncoming("in-1", 1, "sip:203@pbx.test", ""))
    assert phone.screen.kind == "ringing" and phone.screen.lines[:2] == ("Carol Jones", "203")
    incoming = [e for e in effects if isinstance(e, fx.Emit) and e.event == "incoming_call"][0]
    assert incoming.variables["display_remote"] == "Carol Jones"
    feed(phone, ins.CallClosed("in-1", "canceled"))
    assert lists(phone)["missed"] == [("Carol Jones", "203", 0)]


def test_a_display_name_wins_over_the_directory():
    phone = started()
    feed(phone, DirectoryLoaded("local", (Contact("Carol", ("203",)),)))
    feed(phone, ins.CallIncoming("in-1", 1, "sip:203@pbx.test", "Reception"))
    assert phone.screen.lines[0] == "Reception"


def test_the_directory_searches_by_the_letters_on_the_digit_keys_and_dials():
    phone = started()
    feed(phone, DirectoryLoaded("local", (Contact("Alice Smith", ("201",)),
                                          Contact("Bob Jones", ("202",)),
                                          Contact("Kate Bell", ("0301234",)))))
    feed(phone, ins.KeyPress("F2"), *[ins.KeyPress("DOWN")] * 3, ins.KeyPress("OK"))
    assert phone.screen.kind == "directory" and phone.screen.lines == (
        "Alice Smith", "Bob Jones", "Kate Bell")
    feed(phone, ins.KeyPress("5"), ins.KeyPress("6"))            # J-O / K-M: "Jo" of Jones
    assert phone.screen.title == "Search: 56" and phone.screen.lines == ("Bob Jones",)
    feed(phone, ins.KeyPress("LEFT"), ins.KeyPress("LEFT"), ins.KeyPress("2"),
         ins.KeyPress("3"))                                      # "Be" of Bell
    assert phone.screen.lines == ("Kate Bell",)
    effects = feed(phone, ins.KeyPress("OK"))
    assert [e.number for e in effects if isinstance(e, fx.EngineDial)] == ["0301234"]


def test_search_by_number_and_keys_of_words():
    book = Directory()
    book.load("local", (Contact("Zoë", ("+49 30 1234",)), Contact("Max", ("55",))))
    assert keys_of("Jones") == "56637"
    assert [c.name for c in book.search("4930")] == ["Zoë"]
    assert book.name_of("sip:+4930-1234@pbx") == "Zoë"


def test_x_goes_back_from_a_list_to_history_and_out():
    phone = started()
    feed(phone, ins.KeyPress("F2"), ins.KeyPress("DOWN"), ins.KeyPress("OK"))
    assert phone.screen.kind == "calllog" and phone.screen.lines == ("No calls",)
    feed(phone, ins.KeyPress("X"))
    assert phone.screen.kind == "history" and phone.screen.selected == 1
    feed(phone, ins.KeyPress("X"))
    assert phone.screen.kind == "idle"


def test_a_ringing_call_takes_over_a_list_and_the_list_comes_back_after():
    phone = started()
    feed(phone, ins.KeyPress("F2"))
    feed(phone, ins.CallIncoming("in-1", 1, "sip:201@pbx.test", "Alice"))
    assert phone.screen.kind == "ringing"
    feed(phone, ins.CallClosed("in-1", "canceled"))
    assert phone.screen.kind == "history"
