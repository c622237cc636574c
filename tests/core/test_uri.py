"""core.uri: every Action URI value -> the core inputs it stands for (pure, table-driven)."""

from __future__ import annotations

import pytest

from deskphone.core import inputs as ins
from deskphone.core.features import DND, FEATURES
from deskphone.core.uri import ActionUriError, account_for_uri, parse_key, parse_request
from deskphone.errors import DeskphoneError



def K(key: str) -> ins.KeyPress:
    """A key pressed remotely: Action URI keys carry remote=True."""
    return ins.KeyPress(key, remote=True)

SEED_TABLE = [
    ("OK", [K("OK")]), ("ENTER", [K("OK")]), ("SPEAKER", [K("SPEAKER")]),
    ("F_TRANSFER", [K("TRANSFER")]), ("VOLUME_UP", [K("VOLUME_UP")]),
    ("VOLUME_DOWN", [K("VOLUME_DOWN")]), ("MUTE", [K("MUTE")]), ("F_HOLD", [K("HOLD")]),
    ("F_CONFERENCE", [K("CONF")]), ("X", [K("X")]), ("x", [K("X")]),
    *((d, [K(d)]) for d in "0123456789*"), ("POUND", [K("#")]), ("#", [K("#")]),
    ("L1", [K("L1")]), ("L2", [K("L2")]),
    ("F1", [K("F1")]), ("F2", [K("F2")]), ("F3", [K("F3")]), ("F4", [K("F4")]),
    ("MSG", [K("MSG")]), ("HEADSET", [K("HEADSET")]), ("RD", [K("RD")]),
    ("UP", [K("UP")]), ("DOWN", [K("DOWN")]), ("LEFT", [K("LEFT")]), ("RIGHT", [K("RIGHT")]),
    ("Reboot", [ins.RequestRestart(False)]), ("AutoP", [ins.RequestAutoProvision()]),
    ("DNDOn", [ins.SetDnd(True)]), ("DNDOff", [ins.SetDnd(False)]),
    # Remote hook keys are presses: not debounced like the mechanical switch.
    ("OFFHOOK", [ins.HookChanged(True, remote=True)]),
    ("ONHOOK", [ins.HookChanged(False, remote=True)]),
    ("ANSWER", [ins.Answer()]), ("Reset", [ins.RequestRestart(True)]),
    ("ATrans=205", [ins.Transfer("205", attended=True)]),
    ("BTrans=205", [ins.Transfer("205")]),
    ("CALLEND", [ins.EndCall()]), ("CallEnd", [ins.EndCall()]),
    ("number=1234", [ins.Dial("1234")]),
]

EXTRAS = [
    ("HOLD", [ins.SetHold(True)]), ("UNHOLD", [ins.SetHold(False)]),
    ("ASW", [ins.Answer()]), ("CANCEL", [ins.EndCall()]),
    ("ASW:abc@pbx", [ins.Answer("abc@pbx")]), ("CANCEL:abc@pbx", [ins.EndCall("abc@pbx")]),
    ("HOLD:abc@pbx", [ins.SetHold(True, "abc@pbx")]),
    ("UNHOLD:abc@pbx", [ins.SetHold(False, "abc@pbx")]),
    ("AlwaysFwdOn=555", [ins.SetForward("always", True, "555")]),
    ("BusyFwdOn=556", [ins.SetForward("busy", True, "556")]),
    ("NoAnswFwdOn=557=3", [ins.SetForward("no_answer", True, "557", 3)]),
    ("NoAnswFwdOn=557", [ins.SetForward("no_answer", True, "557")]),
    ("AlwaysFwdOff", [ins.SetForward("always", False)]),
    ("BusyFwdOff", [ins.SetForward("busy", False)]),
    ("NoAnswFwdOff", [ins.SetForward("no_answer", False)]),
    ("dndon", [ins.SetDnd(True)]),
    ("F1;F3;DOWN;OK", [K("F1"), K("F3"), K("DOWN"), K("OK")]),
    ("OK;", [K("OK")]),
    (" 1 ; 2 ", [K("1"), K("2")]),
    # The firmware's key table beyond the seed (yealink-facts.md, "Action URI keys").
    ("CallWaitingOn", [ins.SetCallWaiting(True)]), ("callwaitingoff", [ins.SetCallWaiting(False)]),
    ("F_UNHOLD", [ins.SetHold(False)]), ("BACK_IDLE", [K("BACK_IDLE")]),
    ("SWAP", [K("SWAP")]), ("SPLIT", [K("SPLIT")]),
    ("1234", [K("1"), K("2"), K("3"), K("4")]),                 # a digit run: each in turn
    ("201;ENTER;", [K("2"), K("0"), K("1"), K("OK")]),
    ("*72#", [K("*"), K("7"), K("2"), K("#")]),
    ("OFFHOOK;ONHOOK", [ins.HookChanged(True, remote=True), ins.HookChanged(False, remote=True)]),
]


@pytest.mark.parametrize("value, inputs", SEED_TABLE + EXTRAS)
def test_value_to_inputs(value, inputs):
    assert parse_key(value, line_keys=2) == inputs


@pytest.mark.parametrize("value, reason", [
    ("BOGUS", "unknown key value 'BOGUS'"),
    ("", "empty key value"),
    ("OK;;X", "empty key value"),
    ("L3", "no line key L3 on this phone (it has L1..L2)"),
    ("L0", "no line key L0"),
    ("ATrans=", "ATrans needs a number"),
    ("AlwaysFwdOn=", "needs a forward target"),
    ("NoAnswFwdOn=5=99", "ring count must be 1..20"),
    ("NoAnswFwdOn=5=x", "ring count must be 1..20"),
    ("ASW:", "needs a call id"),
    ("OK;number=12", "number= must be the only key"),
    ("number=", "number= is empty"),
    ("number=12 34", "contains a blank"),
    ("BTrans=1\n2", "control character"),
    (";".join(["1"] * 65), "too many keys"),
    ("F5", "unknown key value 'F5'"),
    ("１", "unknown key value"),                   # a full-width digit is not a key
    ("1" * 129, "unknown key value"),              # a digit run is at most a number long
    # Forgeries (issue 15, item 15): line separators, bidi overrides, non-ASCII digits.
    ("AlwaysFwdOn=123\u2028AlwaysFwd=1", "line separator (U+2028)"),
    ("AlwaysFwdOn=123\u0085x", "control character (U+0085)"),
    ("BusyFwdOn=5\u2029x", "paragraph separator"),
    ("BTrans=\u202e1002", "invisible format character (U+202E)"),
    ("AlwaysFwdOn=12\u200b3", "invisible format character (U+200B)"),
    ("BTrans=\u0661\u0662", "non-ASCII digit (U+0661)"),
    ("NoAnswFwdOn=\uff11\uff12=2", "non-ASCII digit (U+FF11)"),
    ("number=12\u00a034", "non-ASCII blank (U+00A0)"),
    ("number=\u202e4321", "invisible format character"),
])
def test_bad_values_raise_one_line_errors(value, reason):
    with pytest.raises(ActionUriError) as info:
        parse_key(value, line_keys=2)
    assert isinstance(info.value, DeskphoneError) and isinstance(info.value, ValueError)
    assert reason in str(info.value)
    assert "\n" not in str(info.value)


def test_a_bad_value_anywhere_means_nothing_is_returned():
    with pytest.raises(ActionUriError):
        parse_key("DNDOn;OFFHOOK;BOGUS", line_keys=2)


ACCOUNTS = {
    "account.1.enable": True, "account.1.user_name": "100",
    "account.1.sip_server.1.address": "pbx.test",
    "account.2.enable": True, "account.2.user_name": "1006",
    "account.2.sip_server.1.address": "10.3.5.199", "account.2.sip_server.1.port": 5080,
    "account.3.enable": False, "account.3.user_name": "300",
    "account.3.sip_server.1.address": "pbx.test",
}


@pytest.mark.parametrize("uri, n", [
    ("sip:1006@10.3.5.199:5080", 2), ("1006@10.3.5.199:5080", 2), ("1006@10.3.5.199", 2),
    ("1006", 2), ("sip:100@pbx.test", 1), ("100", 1), ("2", 2), ("1", 1),
    ("100@another.host", 1),                      # the user part alone is enough
    ("Account2", 2), ("account1", 1), ("ACCOUNT2", 2),   # the firmware's AccountN
])
def test_outgoing_uri_selects_the_account(uri, n):
    assert account_for_uri(ACCOUNTS, uri) == n


@pytest.mark.parametrize("uri", ["300@pbx.test", "3", "999", "nobody@pbx.test", "URI",
                                 "@pbx.test", "Account3", "account", ""])
def test_outgoing_uri_of_no_enabled_account_means_the_default_account(uri):
    """Clients send ``URI`` literally or ``@host``: the firmware dials from the default."""
    assert account_for_uri(ACCOUNTS, uri) is None
    assert parse_request({"number": "201", "outgoing_uri": uri}, settings=ACCOUNTS) == \
        [ins.Dial("201", None)]


@pytest.mark.parametrize("params, inputs", [
    ({"key": "number=1234", "outgoing_uri": "1006@10.3.5.199"}, [ins.Dial("1234", 2)]),
    ({"number": "1234", "outgoing_uri": "sip:100@pbx.test"}, [ins.Dial("1234", 1)]),
    ({"number": "+4930123"}, [ins.Dial("+4930123")]),
    ({"Key": "OK"}, [K("OK")]),
    ({"KEY": "DNDOn"}, [ins.SetDnd(True)]),
])
def test_parse_request_forms(params, inputs):
    assert parse_request(params, line_keys=2, settings=ACCOUNTS) == inputs


def test_parse_request_without_a_key():
    with pytest.raises(ActionUriError, match="no key="):
        parse_request({"foo": "bar"})


@pytest.mark.parametrize("feature", FEATURES, ids=lambda f: f.name)
def test_the_feature_tables_uri_stems_switch_each_feature(feature):
    """The <stem>On / <stem>Off values are the feature table's, in any case."""
    switch = {"dnd": ins.SetDnd, "call_waiting": ins.SetCallWaiting}.get(feature.name)
    if switch is not None:
        assert parse_key(f"{feature.uri}On") == [switch(True)]
        assert parse_key(f"{feature.uri.lower()}off") == [switch(False)]
        return
    kind = feature.forward_kind
    assert parse_key(f"{feature.uri}On=123") == [ins.SetForward(kind, True, "123")]
    assert parse_key(f"{feature.uri.upper()}OFF") == [ins.SetForward(kind, False)]
