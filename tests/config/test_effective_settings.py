"""Effective settings: default <- config directory <- runtime state."""

import pytest

from deskphone.config.schema import SCHEMA, trust_key
from deskphone.config.settings import Settings, describe
from deskphone.core.accounts import enabled_accounts
from deskphone.config.yealink_cfg import HEADER, load_config_dir
from deskphone.errors import ConfigError

MAC = "001565aabbcc"


@pytest.fixture
def loaded(tmp_path):
    (tmp_path / "y000000000000.cfg").write_text("\n".join([
        HEADER,
        "features.dnd.enable = 1",
        "account.1.enable = 1",
        "account.1.user_name = 201",
        "account.1.password = s3cr3t",
        "account.1.sip_server.1.address = pbx.example.com",
        "account.2.enable = 0",
        "account.2.user_name = 202",
        "account.3.enable = 1",
        "account.3.label = Support",
        "account.3.user_name = 203",
        "account.3.sip_server.1.address = 2001:db8::5",
        "account.3.sip_server.1.port = 5080",
        "account.3.sip_server.1.transport_type = 2",
    ]) + "\n")
    return load_config_dir(tmp_path, MAC)


def test_every_schema_key_has_a_value_and_a_layered_origin(loaded):
    settings = Settings.build(loaded, {"call_waiting.enable": False})
    assert set(settings) == set(SCHEMA)
    assert settings["sip.listen_port"] == 5060
    assert settings.origin("sip.listen_port") == "default"
    assert settings["features.dnd.enable"] is True
    assert settings.origin("features.dnd.enable") == "y000000000000.cfg:2"
    assert settings["call_waiting.enable"] is False
    assert settings.origin("call_waiting.enable") == "runtime state"


def test_runtime_state_wins_over_the_file(loaded):
    settings = Settings.build(loaded, {"features.dnd.enable": "0"})
    assert settings["features.dnd.enable"] is False


def test_unknown_key_is_a_key_error():
    settings = Settings.defaults()
    with pytest.raises(KeyError):
        settings["features.dnd.enabled"]
    with pytest.raises(KeyError):
        settings.origin("nope")


def test_with_overrides_makes_a_new_settings_and_checks_values():
    before = Settings.defaults()
    after = before.with_overrides({"features.dnd.enable": True, trust_key("10.0.0.9"): "allow"})
    assert before["features.dnd.enable"] is False and after["features.dnd.enable"] is True
    assert after[trust_key("10.0.0.9")] == "allow"
    with pytest.raises(ConfigError):
        before.with_overrides({"sip.listen_port": 0})
    with pytest.raises(KeyError):
        before.with_overrides({"lang.gui": "English"})
    with pytest.raises(TypeError):
        before["sip.listen_port"] = 1  # immutable


def test_describe_is_sorted_and_hides_secrets(loaded):
    lines = describe(Settings.build(loaded, {}))
    assert lines == sorted(lines)
    assert len(lines) == len(SCHEMA)
    assert "account.1.password = ********    # y000000000000.cfg:5" in lines
    assert "account.2.password =     # default" in lines  # empty: nothing to hide
    assert "features.dnd.enable = 1    # y000000000000.cfg:2" in lines
    assert not any("s3cr3t" in line for line in lines)


def test_accounts_lists_enabled_accounts(loaded):
    found = enabled_accounts(Settings.build(loaded, {}))
    assert [a.index for a in found] == [1, 3]
    first, third = found
    assert first.uri == "sip:201@pbx.example.com"
    assert first.title == "201"  # blank label: the user name
    assert third.title == "Support"
    assert third.uri == "sip:203@[2001:db8::5]:5080"
    assert third.transport_name == "tls"
    assert "s3cr3t" not in repr(first) and first.password == "s3cr3t"
