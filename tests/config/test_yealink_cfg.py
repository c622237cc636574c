"""Reading, merging and writing Yealink .cfg files."""

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from deskphone.config.schema import BLANKS, EMPTY_MARKERS, SCHEMA, KeySpec, parse_value
from deskphone.config.yealink_cfg import (
    HEADER, LoadedConfig, apply_parsed, load_config_dir, parse_cfg, render_cfg, write_cfg,
)
from deskphone.errors import ConfigError

COMMON = "y000000000000.cfg"
MAC = "00:15:65:AA:BB:CC"


def cfg(*lines: str) -> str:
    return "\n".join([HEADER, *lines]) + "\n"


def load_one(tmp_path: Path, text: str, name: str = COMMON) -> LoadedConfig:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return load_config_dir(tmp_path, MAC)


def only_error(loaded: LoadedConfig) -> ConfigError:
    assert len(loaded.errors) == 1, loaded.errors
    return loaded.errors[0]


# --- one test per class of error: each names file, line and key ---------------

def test_missing_header_names_file_and_line_1(tmp_path):
    err = only_error(load_one(tmp_path, "features.dnd.enable = 1\n"))
    assert (err.file, err.line) == (COMMON, 1)
    assert str(err).startswith(f"{COMMON}:1: ")
    assert "#!version:1.0.0.1" in str(err)


def test_url_longer_than_511_characters(tmp_path):
    url = "http://10.0.0.1/" + "a" * 584
    loaded = load_one(tmp_path, cfg("# comment", "action_url.dnd_on = " + url))
    err = only_error(loaded)
    assert (err.file, err.line, err.key) == (COMMON, 3, "action_url.dnd_on")
    assert str(err) == f"{COMMON}:3: action_url.dnd_on: URL longer than 511 characters (600)"
    assert "action_url.dnd_on" not in loaded.values


def test_url_with_a_scheme_other_than_http(tmp_path):
    err = only_error(load_one(tmp_path, cfg("action_url.incoming_call = ftp://10.0.0.1/x")))
    assert (err.file, err.line, err.key) == (COMMON, 2, "action_url.incoming_call")
    assert str(err).startswith(f"{COMMON}:2: action_url.incoming_call: URL must start with http://")


def test_bool_that_is_not_0_or_1(tmp_path):
    err = only_error(load_one(tmp_path, cfg("", "features.dnd.enable = yes")))
    assert (err.file, err.line, err.key) == (COMMON, 3, "features.dnd.enable")
    assert str(err) == f"{COMMON}:3: features.dnd.enable: expected 0 or 1, got 'yes'"


def test_unknown_action_url_key(tmp_path):
    err = only_error(load_one(tmp_path, cfg("action_url.foo = http://10.0.0.1/")))
    assert (err.file, err.line, err.key) == (COMMON, 2, "action_url.foo")
    assert str(err).startswith(f"{COMMON}:2: action_url.foo: unknown Action URL event 'foo'")


def test_account_out_of_range(tmp_path):
    err = only_error(load_one(tmp_path, cfg("account.99.label = Desk")))
    assert (err.file, err.line, err.key) == (COMMON, 2, "account.99.label")


def test_line_without_equals_sign(tmp_path):
    err = only_error(load_one(tmp_path, cfg("features.dnd.enable 1")))
    assert (err.file, err.line) == (COMMON, 2)


def test_invalid_utf8_names_the_line(tmp_path):
    (tmp_path / COMMON).write_bytes(cfg("account.1.label = ok").encode()
                                    + b"account.1.label = \xff\n")
    err = only_error(load_config_dir(tmp_path, MAC))
    assert (err.file, err.line) == (COMMON, 3)


def test_all_errors_are_collected_and_good_values_still_load(tmp_path):
    loaded = load_one(tmp_path, cfg(
        "features.dnd.enable = yes",
        "action_url.foo = http://x/",
        "call_waiting.enable = 0",
        "no equals sign here",
    ))
    assert [e.line for e in loaded.errors] == [5, 2, 3]  # syntax errors first, then values
    assert loaded.values == {"call_waiting.enable": False}


def test_missing_directory_is_an_error_empty_directory_is_fine(tmp_path):
    assert load_config_dir(tmp_path / "nope", MAC).errors
    empty = load_config_dir(tmp_path, MAC)
    assert empty.ok and empty.values == {} and empty.files == []


# --- what is not an error -------------------------------------------------------

REAL_PROVISIONING_FILE = """\ufeff#!version:1.0.0.1
##############################################################
##                   Account1 Basic Settings               ##
##############################################################
account.1.enable = 1
account.1.label = Reception
account.1.display_name = Reception Desk
account.1.auth_name = 201
account.1.user_name = 201
account.1.password = s3cr3t#1=x
account.1.sip_server.1.address = pbx.example.com
account.1.sip_server.1.port =
account.1.sip_server.1.expires = 300
account.1.sip_server.1.transport_type = 1
account.1.codec.1.enable = 1
account.1.codec.1.payload_type = PCMU
account.1.dtmf.type = 1

lang.gui = English
lang.wui = English
local_time.time_zone = +1
local_time.ntp_server1 = pool.ntp.org
features.intercom.allow = 1
linekey.1.type = 15
memorykey.1.value = %NULL%
overwrite_mode = 1
include:config "http://prov.example.com/extra.cfg"
static.auto_provision.server.url = https://prov.example.com/yealink/
action_url.incoming_call = http://10.0.0.5/in.php?mac=$mac&caller=$display_remote&id=$call_id
action_url.call_established=http://10.0.0.5/up#section
  # an indented comment
features.action_uri_limit_ip = 10.0.0.5, 192.168.1.*
"""


def test_a_real_provisioning_file_loads_and_unknown_keys_are_reported_as_ignored(tmp_path):
    loaded = load_one(tmp_path, REAL_PROVISIONING_FILE.replace("\n", "\r\n"))
    assert loaded.ok, loaded.errors
    assert loaded.values["account.1.enable"] is True
    assert loaded.values["account.1.password"] == "s3cr3t#1=x"
    assert loaded.values["account.1.sip_server.1.port"] == 5060  # blank: factory value
    assert loaded.values["account.1.sip_server.1.transport_type"] == 1
    assert loaded.values["action_url.incoming_call"] == \
        "http://10.0.0.5/in.php?mac=$mac&caller=$display_remote&id=$call_id"
    assert loaded.values["action_url.call_established"] == "http://10.0.0.5/up#section"
    assert loaded.values["features.action_uri_limit_ip"] == "10.0.0.5, 192.168.1.*"
    ignored = {key: line for _, line, key in loaded.ignored}
    assert ignored["lang.gui"] == 19
    assert {"account.1.codec.1.enable", "features.intercom.allow", "overwrite_mode",
            "include:config", "memorykey.1.value"} <= set(ignored)
    assert loaded.origins["account.1.label"] == (COMMON, 6)


def test_header_with_bom_crlf_and_trailing_blanks():
    parsed = parse_cfg("\ufeff#!version:1.0.0.1  \r\nfeatures.dnd.enable=1\r\n", COMMON)
    assert not parsed.errors
    assert [(e.key, e.value, e.line) for e in parsed.entries] == [("features.dnd.enable", "1", 2)]


@pytest.mark.parametrize("marker", EMPTY_MARKERS)
def test_null_markers_mean_empty(tmp_path, marker):
    loaded = load_one(tmp_path, cfg(f"action_url.dnd_on = {marker}", f"account.1.label={marker}"))
    assert loaded.values == {"action_url.dnd_on": "", "account.1.label": ""}


# --- merging: common files, then the MAC file ---------------------------------------

def test_common_files_then_mac_file_later_wins(tmp_path):
    (tmp_path / "y000000000028.cfg").write_text(
        cfg("account.1.label = T46", "sip.listen_port = 5062"))
    (tmp_path / "y000000000000.cfg").write_text(
        cfg("account.1.label = common", "features.dnd.enable = 1"))
    (tmp_path / "001565AABBCC.cfg").write_text(cfg("account.1.label = mine"))
    (tmp_path / "001565aabbcd.cfg").write_text(cfg("account.1.label = another phone"))
    (tmp_path / "notes.cfg").write_text(cfg("account.1.label = not read"))
    loaded = load_config_dir(tmp_path, MAC)
    assert loaded.files == ["y000000000000.cfg", "y000000000028.cfg", "001565AABBCC.cfg"]
    assert loaded.values["account.1.label"] == "mine"
    assert loaded.origins["account.1.label"] == ("001565AABBCC.cfg", 2)
    assert loaded.values["sip.listen_port"] == 5062
    assert loaded.values["features.dnd.enable"] is True


def test_a_bad_value_in_a_later_file_leaves_the_earlier_one(tmp_path):
    (tmp_path / COMMON).write_text(cfg("sip.listen_port = 5062"))
    (tmp_path / "001565aabbcc.cfg").write_text(cfg("sip.listen_port = 99999"))
    loaded = load_config_dir(tmp_path, "001565aabbcc")
    assert loaded.values["sip.listen_port"] == 5062
    assert only_error(loaded).file == "001565aabbcc.cfg"


# --- writing -------------------------------------------------------------------

def test_write_then_load_is_the_same(tmp_path):
    values = {"features.dnd.enable": True, "sip.listen_port": 5062, "account.2.label": "",
              "action_url.dnd_on": "http://h/x?a=$ip#f", "deskphone.engine": "baresip"}
    write_cfg(tmp_path / COMMON, values)
    text = (tmp_path / COMMON).read_text()
    assert text.startswith(HEADER + "\n")
    assert "features.dnd.enable = 1\n" in text
    loaded = load_config_dir(tmp_path, MAC)
    assert loaded.ok and loaded.values == values
    assert [p.name for p in tmp_path.iterdir()] == [COMMON]  # no temp file left behind


def test_write_refuses_unknown_keys_and_bad_values(tmp_path):
    with pytest.raises(ConfigError):
        write_cfg(tmp_path / COMMON, {"lang.gui": "English"})
    with pytest.raises(ConfigError):
        write_cfg(tmp_path / COMMON, {"account.1.label": "two\nlines"})
    assert not (tmp_path / COMMON).exists()


# --- properties -----------------------------------------------------------------

@given(st.text())
def test_the_parser_never_raises(text):
    for candidate in (text, HEADER + "\n" + text):
        parsed = parse_cfg(candidate, "f.cfg")
        for err in parsed.errors:
            assert isinstance(err, ConfigError) and err.file == "f.cfg" and err.line >= 1
        loaded = LoadedConfig(Path("."))
        apply_parsed(loaded, parsed)  # lookup and value checks never raise either
        assert all(e.file == "f.cfg" and e.line >= 1 for e in loaded.errors)


@settings(max_examples=50, deadline=None)
@given(st.binary())
def test_loading_any_bytes_never_raises(data):
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / COMMON).write_bytes(b"#!version:1.0.0.1\n" + data)
        load_config_dir(d, MAC)


# Text a person could put in a value: no control characters, no surrogates.
_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40)


def _fits(spec: KeySpec, value) -> bool:
    try:
        return parse_value(spec, value) == value
    except ConfigError:
        return False


def valid_values(spec: KeySpec) -> st.SearchStrategy:
    """Values ``spec`` accepts, in their canonical typed form."""
    if spec.kind == "bool":
        return st.booleans()
    if spec.kind == "int":
        return st.integers(spec.min, spec.max)
    if spec.kind == "enum":
        return st.sampled_from(spec.choices)
    if spec.kind == "url":
        host = st.from_regex(r"[a-z0-9][a-z0-9.-]{0,20}(:[0-9]{1,5})?", fullmatch=True)
        urls = st.builds(lambda s, h, p: f"{s}://{h}/{p}", st.sampled_from(["http", "https"]),
                         host, _TEXT)
        strategy = st.one_of(st.just(""), urls)
    elif spec.kind == "iplist":
        v4 = st.ip_addresses(v=4).map(str)
        octet = st.one_of(st.just("*"), st.integers(0, 255).map(str))
        wildcard = st.tuples(*[octet] * 4).map(".".join)
        cidr = st.builds(lambda a, n: f"{a}/{n}", st.ip_addresses(v=6), st.integers(0, 128))
        items = st.lists(st.one_of(v4, wildcard, cidr, st.ip_addresses(v=6).map(str)), min_size=1,
                         max_size=5)
        strategy = st.one_of(st.just(""), st.just("any"), items.map(", ".join))
    elif spec.key == "static.security.user_password":
        strategy = st.one_of(st.just(""), st.builds("{}:{}".format, _TEXT.filter(bool), _TEXT))
    else:
        strategy = _TEXT
    return strategy.map(lambda t: t.strip(BLANKS)).filter(lambda t: _fits(spec, t))


_SOME_SETTINGS = st.sets(st.sampled_from(sorted(SCHEMA)), max_size=25).flatmap(
    lambda keys: st.fixed_dictionaries({k: valid_values(SCHEMA[k]) for k in keys}))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_SOME_SETTINGS)
def test_write_then_read_is_identity(values):
    assert len(parse_cfg(render_cfg(values), COMMON).entries) == len(values)
    with tempfile.TemporaryDirectory() as d:
        write_cfg(Path(d) / COMMON, values)
        loaded = load_config_dir(d, MAC)
    assert loaded.errors == [] and loaded.ignored == []
    assert loaded.values == values
