from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, strategies as st

from deskphone.core.events import VARIABLES
from deskphone.core.variables import expand


@pytest.mark.parametrize("template, values, expected", [
    ("http://h/x?mac=$mac", {"mac": "001565aabbcc"}, "http://h/x?mac=001565aabbcc"),
    ("?n=$display_remote", {"display_remote": "A&B=C #1"}, "?n=A%26B%3DC%20%231"),
    ("?n=$remote", {"remote": "sip:100@pbx.example"}, "?n=sip%3A100%40pbx.example"),
    ("?n=$display_remote", {"display_remote": "Zoë +1/2%"}, "?n=Zo%C3%AB%20%2B1%2F2%25"),
    # Prefixes of each other: the longest identifier decides.
    ("?a=$local&b=$display_local", {"local": "L", "display_local": "D"}, "?a=L&b=D"),
    ("?a=$local_x&b=$localx", {"local": "L"}, "?a=$local_x&b=$localx"),
    # Missing and empty values become "", never the variable's name.
    ("?c=$calledNumber&d=$callerID", {"callerID": ""}, "?c=&d="),
    # Unknown words are left as written, including a backslash before them.
    ("?a=$foo&b=\\$bar&c=$", {}, "?a=$foo&b=\\$bar&c=$"),
    # Case-sensitive, as Yealink writes them.
    ("?a=$MAC&b=$callerid", {"mac": "m", "callerID": "c"}, "?a=$MAC&b=$callerid"),
    # \$mac as pasted from the PDF reads as $mac.
    ("?mac=\\$mac&ip=\\$ip", {"mac": "m", "ip": "10.0.0.2"}, "?mac=m&ip=10.0.0.2"),
    ("$ip$mac", {"mac": "m", "ip": "i"}, "im"),
])
def test_expand(template, values, expected):
    assert expand(template, values) == expected


def test_every_catalogue_variable_is_expanded():
    values = {name: f"v-{name}" for name in VARIABLES}
    template = "&".join(f"{name}=${name}" for name in VARIABLES)
    assert expand(template, values) == "&".join(f"{name}=v-{name}" for name in VARIABLES)


_TEMPLATE = "http://receiver.invalid/help.xml?" + "&".join(f"{n}=${n}" for n in VARIABLES) + "#frag"


@given(st.fixed_dictionaries({name: st.text() for name in VARIABLES}))
def test_no_value_breaks_out_of_its_parameter(values):
    query = urlsplit(expand(_TEMPLATE, values)).query
    parsed = parse_qs(query, keep_blank_values=True, strict_parsing=True)
    assert parsed == {name: [values[name]] for name in VARIABLES}


# --- the values of an event about a call (the firmware's meaning: yealink-facts.md,
# "Action URL variables") ------------------------------------------------------------

from deskphone.core.state import Call, CallState, DeviceInfo, PhoneState  # noqa: E402
from deskphone.core.variables import NAMES, variables  # noqa: E402

SETTINGS = {"account.1.enable": True, "account.1.user_name": "100",
            "account.1.display_name": "Desk", "account.1.sip_server.1.address": "pbx.test"}


def _state(*calls: Call, now: float = 1000.0) -> PhoneState:
    state = PhoneState(settings=SETTINGS, device=DeviceInfo("001565abcdef", "T46", "9.9"),
                       now=now)
    state.calls.extend(calls)
    return state


def test_a_nameless_caller_is_shown_by_number_in_display_remote_and_caller_id():
    call = Call("c7", "a84b4c76e66710@pbx", "in", 1, "sip:300@pbx.test", "",
                state=CallState.RINGING)
    v = variables(_state(call), call)
    assert v["display_remote"] == "300" and v["callerID"] == "300"
    assert v["calledNumber"] == "300"            # the remote user part, incoming too
    assert v["remote"] == "sip:300@pbx.test"
    assert v["callDirection"] == "incoming"


def test_call_id_is_the_phones_decimal_call_number_and_sip_call_id_the_call_id():
    call = Call("c12", "a84b4c76e66710@pbx", "out", 1, "sip:201@pbx.test", "Alice",
                number="201", state=CallState.RINGBACK)
    v = variables(_state(call), call)
    assert v["call_id"] == "12" and int(v["call_id"]) == 12       # receivers int() it
    assert v["sip_call_id"] == "a84b4c76e66710@pbx"
    assert v["display_remote"] == "Alice" and v["calledNumber"] == "201"
    assert v["callerID"] == "" and v["callDirection"] == "outgoing"


def test_duration_is_the_talk_time_in_whole_seconds():
    call = Call("c1", "x", "in", 1, "sip:300@pbx.test", "Bob", state=CallState.CONNECTED,
                established_at=1000.0)
    assert variables(_state(call, now=1065.9), call)["duration"] == "65"
    ringing = Call("c2", "y", "in", 1, "sip:301@pbx.test", "", state=CallState.RINGING)
    assert variables(_state(ringing), ringing)["duration"] == "0"


def test_an_event_about_no_call_has_every_variable_and_empty_call_values():
    v = variables(_state(), None, 1)
    assert set(v) == set(NAMES)
    assert v["active_user"] == "100" and v["call_id"] == "" and v["duration"] == ""


def test_asw_takes_back_both_the_call_number_and_the_sip_call_id():
    first = Call("c3", "77", "in", 1, "sip:300@pbx.test", state=CallState.RINGING)
    second = Call("c77", "b@pbx", "in", 1, "sip:301@pbx.test", state=CallState.RINGING)
    state = _state(first, second)
    assert state.call("3") is first and state.call("b@pbx") is second
    # A far end's Call-ID that is all digits wins over a call number.
    assert state.call("77") is first
