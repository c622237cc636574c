"""baresip's config directory as the phone writes it from Yealink keys and the board."""

from __future__ import annotations

import os

import pytest

from deskphone.core.accounts import account
from deskphone.engine.baresip_config import (BaresipConfig, BaresipConfigError, account_line,
                                             account_lines, find_module_dir, sound_devices,
                                             write_config_dir)
from support.needs import unavailable


def settings(**kw):
    base = {
        "account.1.enable": True, "account.1.user_name": "100", "account.1.auth_name": "100",
        "account.1.password": "s3cret", "account.1.display_name": "Desk Phone",
        "account.1.sip_server.1.address": "pbx.example.org", "account.1.sip_server.1.port": 5060,
        "account.1.sip_server.1.expires": 3600,
    }
    base.update({k.replace("__", "."): v for k, v in kw.items()})
    return base


def test_account_line_from_yealink_keys():
    line = account_line(account(settings(), 1))
    assert line.aor == "sip:100@pbx.example.org"
    assert line.line == ('"Desk Phone" <sip:100@pbx.example.org>;auth_pass=s3cret;regint=3600;'
                         "answermode=manual;call_transfer=no;mwi=no")
    assert "s3cret" not in repr(line)                     # never in a log line


def test_account_line_port_auth_name_transport_outbound():
    s = settings(**{"account.1.sip_server.1.port": 5070, "account.1.auth_name": "auth100",
                    "account.1.sip_server.1.transport_type": 1,
                    "account.1.outbound_proxy_enable": True,
                    "account.1.outbound_host": "proxy.example.org",
                    "account.1.outbound_port": 5080,
                    "account.1.sip_server.1.expires": 10,
                    "account.1.display_name": 'Say "hi"'})
    line = account_line(account(s, 1))
    assert line.aor == "sip:100@pbx.example.org:5070"
    assert line.line.startswith('"Say hi" <sip:100@pbx.example.org:5070;transport=tcp>')
    assert ";auth_user=auth100" in line.line
    assert ';outbound="sip:proxy.example.org:5080;transport=tcp"' in line.line
    assert ";regint=30" in line.line                   # baresip's floor, not 10 s


def test_ipv6_server_in_brackets():
    s = settings(**{"account.1.sip_server.1.address": "2001:db8::1"})
    assert account_line(account(s, 1)).aor == "sip:100@[2001:db8::1]"


@pytest.mark.parametrize("password", ["a;b", "a b", 'a"b'])
def test_a_password_baresip_cannot_carry_is_an_error_not_a_broken_line(password):
    with pytest.raises(BaresipConfigError, match="password"):
        account_line(account(settings(**{"account.1.password": password}), 1))
    lines, problems = account_lines(settings(**{"account.1.password": password}))
    assert lines == [] and "password" in problems[1]


def test_only_enabled_complete_accounts_are_written():
    s = settings(**{"account.2.enable": True, "account.2.user_name": "",
                    "account.2.sip_server.1.address": "x"})
    lines, problems = account_lines(s)
    assert [l.index for l in lines] == [1]
    assert "no SIP server or user name" in problems[2]


def test_sound_defaults_per_board_and_bare_alsa_names():
    assert sound_devices({}, simulated=True) == {
        "player": "alsa,null", "alert": "alsa,null", "source": "ausine,440",
        "srate": 48000, "channels": 2}
    pi = sound_devices({"player": "plughw:CARD=Device,DEV=0", "source": "alsa,plughw:1,0"},
                       simulated=False)
    assert pi["player"] == "alsa,plughw:CARD=Device,DEV=0"
    assert pi["alert"] == pi["player"]
    assert pi["source"] == "alsa,plughw:1,0"
    with pytest.raises(BaresipConfigError):
        sound_devices({"loudspeaker": "x"}, simulated=False)
    with pytest.raises(BaresipConfigError):
        sound_devices({"srate": "fast"}, simulated=False)


def test_config_listens_on_loopback_for_control(tmp_path):
    (tmp_path / "mods").mkdir()
    for m in ("g711.so", "alsa.so", "ausine.so", "ctrl_tcp.so"):
        (tmp_path / "mods" / m).write_bytes(b"")
    text = BaresipConfig(sip_listen="192.0.2.7:5060", ctrl_port=4444,
                         module_dir=str(tmp_path / "mods"), net_interface="192.0.2.7",
                         player="alsa,null", source="ausine,440", alert="alsa,null",
                         srate=48000, channels=2, rtp_ports=(11780, 12780)).render()
    assert "ctrl_tcp_listen\t\t127.0.0.1:4444\n" in text
    assert "sip_listen\t\t192.0.2.7:5060\n" in text
    assert "net_interface\t\t192.0.2.7\n" in text
    assert "rtp_ports\t\t11780-12780\n" in text
    modules = [l.split()[1] for l in text.splitlines() if l.startswith("module\t")]
    assert modules == ["g711.so", "alsa.so", "ausine.so"]      # g722 absent: not loaded
    assert [l.split()[1] for l in text.splitlines() if l.startswith("module_app")] == [
        "account.so", "menu.so", "ctrl_tcp.so"]


def test_write_config_dir_keeps_passwords_private(tmp_path):
    lines, _ = account_lines(settings())
    target = tmp_path / "baresip"
    old_umask = os.umask(0)                 # even a careless umask does not leak the file
    try:
        write_config_dir(target, BaresipConfig("127.0.0.1:5060", 4444, str(tmp_path)), lines)
    finally:
        os.umask(old_umask)
    assert (target / "accounts").stat().st_mode & 0o777 == 0o600
    assert target.stat().st_mode & 0o777 == 0o700
    assert "auth_pass=s3cret" in (target / "accounts").read_text()
    assert [p.name for p in target.iterdir()] != [] and \
        not [p for p in target.iterdir() if p.name.startswith(".")]


def test_module_dir_found_at_run_time():
    found = find_module_dir()
    if found is None:
        unavailable("baresip-core is not installed here")
    assert os.path.isfile(os.path.join(found, "ctrl_tcp.so"))
