"""The schema: which keys exist, what values they take, which unknown keys are errors."""

import re

import pytest
from hypothesis import given, strategies as st

from deskphone.config.schema import (
    MAX_ACCOUNTS, SCHEMA, format_value, lookup, normalize, parse_value, trust_key,
)
from deskphone.core.events import BY_CFG_KEY
from deskphone.errors import ConfigError


def test_every_action_url_event_has_a_key_and_nothing_else_does():
    action_keys = {k for k in SCHEMA if k.startswith("action_url.")}
    assert action_keys == set(BY_CFG_KEY)
    assert len(action_keys) == 44
    assert all(SCHEMA[k].kind == "url" and SCHEMA[k].max_len == 511 for k in action_keys)


def test_account_keys_exist_for_each_account():
    for n in range(1, MAX_ACCOUNTS + 1):
        assert SCHEMA[f"account.{n}.sip_server.1.port"].default == 5060
        assert SCHEMA[f"account.{n}.password"].secret
    assert f"account.{MAX_ACCOUNTS + 1}.label" not in SCHEMA


def test_defaults_are_valid_values_of_their_own_spec():
    for spec in SCHEMA.values():
        assert normalize(spec, spec.default) == spec.default, spec.key


@pytest.mark.parametrize("raw, expected", [("0", False), ("1", True), (" 1 ", True)])
def test_bool_takes_0_and_1(raw, expected):
    assert parse_value(SCHEMA["features.dnd.enable"], raw) is expected


@pytest.mark.parametrize("raw", ["yes", "true", "2", "", "on"])
def test_bool_rejects_anything_else(raw):
    with pytest.raises(ConfigError) as err:
        parse_value(SCHEMA["features.dnd.enable"], raw)
    assert err.value.key == "features.dnd.enable"


@pytest.mark.parametrize("raw", ["0", "65536", "abc", "+5", "5_0", "\u0665"])
def test_port_rejects_out_of_range_and_non_numbers(raw):
    with pytest.raises(ConfigError):
        parse_value(SCHEMA["sip.listen_port"], raw)


def test_enum():
    spec = SCHEMA["deskphone.engine"]
    assert parse_value(spec, "baresip") == "baresip"
    with pytest.raises(ConfigError, match="sim, baresip"):
        parse_value(spec, "asterisk")


@pytest.mark.parametrize("raw", [
    "", "http://10.0.0.1/x?ip=$ip", "HTTPS://host:8443/a#frag", "http://h/?a=b=c",
    "www.example.com/x",            # no scheme: the firmware sends it as http://
])
def test_good_urls(raw):
    assert parse_value(SCHEMA["action_url.dnd_on"], raw) == raw


@pytest.mark.parametrize("raw, message", [
    ("ftp://host/x", "http:// or https://"),
    ("/x?ip=$ip", "no host"),
    ("http://", "no host"),
    ("http://" + "a" * 600, "longer than 511 characters (607)"),
])
def test_bad_urls(raw, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_value(SCHEMA["action_url.dnd_on"], raw)


@pytest.mark.parametrize("raw", [
    "", "any", "ANY", "10.0.0.5", "10.10.*.*", "10.0.0.0/8, 192.168.1.*", "fe80::1",
    "2001:db8::/32,10.0.0.1", "*.*.*.*",
])
def test_good_ip_lists(raw):
    assert parse_value(SCHEMA["features.action_uri_limit_ip"], raw) == raw


@pytest.mark.parametrize("raw", [
    "10.0.0.256", "10.0.*", "host.example.com", "10.0.0.1,", "10.0.0.1,,10.0.0.2",
    "any,10.0.0.1", "10.0.0.0/33",
])
def test_bad_ip_lists(raw):
    with pytest.raises(ConfigError):
        parse_value(SCHEMA["features.action_uri_limit_ip"], raw)


def test_admin_password_is_user_colon_password_and_never_shown_in_errors():
    spec = SCHEMA["static.security.user_password"]
    assert parse_value(spec, "admin:hunter2") == "admin:hunter2"
    with pytest.raises(ConfigError) as err:
        parse_value(spec, "hunter2")
    assert "hunter2" not in str(err.value)


def test_secret_value_never_appears_in_an_error_message():
    with pytest.raises(ConfigError) as err:
        parse_value(SCHEMA["account.1.password"], "topsecret" * 40)
    assert "topsecret" not in str(err.value)


def test_empty_markers_and_surrounding_blanks():
    spec = SCHEMA["account.1.label"]
    assert parse_value(spec, "%NULL%") == ""
    assert parse_value(spec, "%EMPTY%") == ""
    assert parse_value(spec, "  Desk  ") == "Desk"


def test_line_breaks_are_refused_in_values():
    with pytest.raises(ConfigError, match="control character"):
        format_value(SCHEMA["account.1.label"], "two\nlines")


def test_format_value_is_the_inverse_of_parse_value():
    assert format_value(SCHEMA["features.dnd.enable"], True) == "1"
    assert format_value(SCHEMA["sip.listen_port"], 5062) == "5062"
    assert normalize(SCHEMA["sip.listen_port"], "5062") == 5062
    with pytest.raises(ConfigError):
        format_value(SCHEMA["sip.listen_port"], True)  # a bool is not a port
    with pytest.raises(ConfigError):
        format_value(SCHEMA["features.dnd.enable"], 7)


@pytest.mark.parametrize("key, message", [
    ("action_url.foo", "unknown Action URL event 'foo'"),
    ("action_url.dnd_onn", "did you mean action_url.dnd_on"),
    ("account.99.label", "account 99 out of range 1..6"),
    ("account.0.enable", "account 0 out of range"),
    ("account.01.label", "leading zero"),
    ("deskphone.engnie", "did you mean deskphone.engine"),
])
def test_keys_of_our_families_that_do_not_exist_are_errors(key, message):
    with pytest.raises(ConfigError, match=message) as err:
        lookup(key)
    assert err.value.key == key


@pytest.mark.parametrize("key", [
    "lang.gui", "features.intercom.allow", "account.1.codec.1.enable", "account.12.codec.1.enable",
    "overwrite_mode", "include:config",
])
def test_other_unknown_keys_are_not_ours(key):
    assert lookup(key) is None


def test_trust_keys():
    spec = lookup(trust_key("192.168.1.5"))
    assert parse_value(spec, "allow") == "allow"
    with pytest.raises(ConfigError):
        parse_value(spec, "maybe")
    with pytest.raises(ConfigError):
        lookup(trust_key("a b"))
    with pytest.raises(ConfigError):
        lookup(trust_key(""))


@given(key=st.sampled_from(sorted(SCHEMA)), raw=st.text())
def test_parse_value_raises_only_config_error(key, raw):
    try:
        value = parse_value(SCHEMA[key], raw)
    except ConfigError as exc:
        assert exc.key == key
    else:
        assert parse_value(SCHEMA[key], format_value(SCHEMA[key], value)) == value
