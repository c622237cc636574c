"""The SIP edge's kamailio configuration: what it says, and that kamailio 5.6 takes it.

``kamailio -c`` (Debian's kamailio) checks every rendered file: a config the
real server refuses fails here, not on a phone.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from deskphone.engine.baresip_config import BehindEdge, account_line, launch_config
from deskphone.engine.sip_edge import find_module_dir
from deskphone.engine.sip_edge_config import (EdgeConfig, EdgeConfigError, PHONE_EVENTS,
                                              SOURCE_HEADER, command_line, edge_restart_note,
                                              outbound_routes, uses_tcp, uses_tls)
from deskphone.core.accounts import enabled_accounts
from support.needs import unavailable

ACCOUNT = {"account.1.enable": True, "account.1.user_name": "1001",
           "account.1.password": "pw", "account.1.sip_server.1.address": "pbx.example.org"}


def edge(**kw) -> EdgeConfig:
    values = dict(public_host="192.0.2.10", public_port=5060, inner_port=40001,
                  phone_port=40003, notify_host="192.0.2.10", notify_port=5070,
                  module_dir="/usr/lib/x86_64-linux-gnu/kamailio/modules")
    values.update(kw)
    return EdgeConfig(**values)


def kamailio_check(text: str, tmp_path) -> subprocess.CompletedProcess:
    if shutil.which("kamailio") is None or find_module_dir() is None:
        unavailable("kamailio is not installed (make test installs it)")
    cfg = tmp_path / "edge.cfg"
    cfg.write_text(text)
    return subprocess.run(["kamailio", "-c", "-f", str(cfg)], capture_output=True, text=True,
                          timeout=20)


@pytest.mark.parametrize("kw", [
    {},
    {"tcp": False},
    {"ctl_socket": "/tmp/deskphone-edge-test.ctl"},
    {"public_host": "127.0.0.1", "notify_host": "127.0.0.1"},
    {"outbound": outbound_routes({**ACCOUNT, "account.1.outbound_proxy_enable": True,
                                  "account.1.outbound_host": "10.0.0.2",
                                  "account.1.outbound_port": 5080})},
])
def test_kamailio_takes_the_rendered_config(kw, tmp_path):
    kw.setdefault("module_dir", find_module_dir() or "/nonexistent")
    done = kamailio_check(edge(**kw).render().replace("192.0.2.10", "127.0.0.1"), tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_config_kamailio_refuses_is_seen(tmp_path):
    # The check above can fail: a function no module has is refused by the real kamailio.
    text = edge(module_dir=find_module_dir() or "/x").render().replace("192.0.2.10", "127.0.0.1")
    done = kamailio_check(text.replace("t_relay()", "t_relay_now()"), tmp_path)
    assert done.returncode != 0


def test_the_sockets_and_the_routing_rules():
    text = edge().render()
    for line in ("listen=udp:192.0.2.10:5060", "listen=tcp:192.0.2.10:5060",
                 "listen=udp:127.0.0.1:40001", "listen=tcp:127.0.0.1:40001", "children=1"):
        assert line in text.splitlines(), line
    # Only loopback traffic on the inner socket counts as the phone's own.
    assert "if ($Rp == 40001) {" in text and 'if ($si == "127.0.0.1") { route(FROM_PHONE); }' \
        in text
    # Outside requests lose any source header before the edge writes its own.
    strip = text.index(f'remove_hf("{SOURCE_HEADER}")')
    add = text.index(f'append_hf("{SOURCE_HEADER}: $pr $siz:$sp')
    assert strip < add
    for event in PHONE_EVENTS:
        assert event in text
    assert '$du = "sip:192.0.2.10:5070"' in text
    assert 'sl_send_reply("403", "Not relaying")' in text
    # baresip's loopback contact out, the public one back in.
    assert "/@127\\.0\\.0\\.1:40003([;>])/@192.0.2.10:5060\\1/" in text
    assert "/@192\\.0\\.2\\.10:5060([;>])/@127.0.0.1:40003\\1/" in text


def test_ipv6_addresses_are_bracketed():
    text = edge(public_host="2001:db8::10", notify_host="2001:db8::10").render()
    assert "listen=udp:[2001:db8::10]:5060" in text
    assert '$du = "sip:[2001:db8::10]:5070"' in text


@pytest.mark.parametrize("host", ['1.2.3.4"; exit; "', "a b", "x\nlisten=udp:0.0.0.0:1"])
def test_a_host_that_would_change_the_config_is_refused(host):
    with pytest.raises(EdgeConfigError):
        edge(public_host=host).render()


def test_outbound_proxies_are_the_edges_and_odd_user_names_are_left_out():
    routes = outbound_routes({**ACCOUNT, "account.1.outbound_proxy_enable": True,
                              "account.1.outbound_host": "proxy.example.org",
                              "account.1.sip_server.1.transport_type": 1})
    assert [(r.user, r.domain, r.proxy) for r in routes] == [
        ("1001", "pbx.example.org", "sip:proxy.example.org;transport=tcp")]
    assert outbound_routes({**ACCOUNT, "account.1.user_name": 'a"b',
                            "account.1.outbound_proxy_enable": True,
                            "account.1.outbound_host": "p"}) == ()
    assert outbound_routes(ACCOUNT) == ()


def test_tcp_and_tls_accounts_are_seen():
    assert not uses_tcp(ACCOUNT) and not uses_tls(ACCOUNT)
    assert uses_tcp({**ACCOUNT, "account.1.sip_server.1.transport_type": 1})
    assert not edge(tcp=False).render().count("listen=tcp:")
    assert 'loadmodule "ctl.so"' not in edge().render()     # no control socket by default
    assert uses_tls({**ACCOUNT, "account.1.sip_server.1.transport_type": 2})


def test_a_tls_account_or_the_edge_turned_off_under_a_running_edge_is_said():
    tls = {**ACCOUNT, "account.1.sip_server.1.transport_type": 2}
    assert edge_restart_note(ACCOUNT, True) is None
    assert edge_restart_note(tls, False) is None           # no edge: baresip has the port
    note = edge_restart_note(tls, True)
    assert note is not None and note.startswith("account 1 uses TLS") and "restart" in note
    off = {**ACCOUNT, "deskphone.sip_edge.enable": False}
    assert "takes effect when the phone restarts" in edge_restart_note(off, True)
    assert edge_restart_note({**tls, "account.1.enable": False}, True) is None


def test_memory_is_capped_on_the_command_line():
    argv = command_line("/s/k.cfg", "/s", shm_mb=6, pkg_mb=1)
    assert "-P" not in argv             # no PID file: kamailio would chown it (refused)
    assert argv[:3] == ["kamailio", "-f", "/s/k.cfg"]
    assert argv[argv.index("-m") + 1] == "6" and argv[argv.index("-M") + 1] == "1"
    assert "-DD" in argv and "-E" in argv       # foreground (supervised), log to stderr
    assert argv[argv.index("-Y") + 1] == "/s"   # runtime files in the state dir (not /var/run)


# ------------------------------------------------------ baresip behind the edge

def test_baresip_behind_the_edge_listens_on_loopback_and_sends_through_it(tmp_path):
    behind = BehindEdge(inner_port=40001, phone_port=40003)
    settings = {**ACCOUNT, "account.1.outbound_proxy_enable": True,
                "account.1.outbound_host": "proxy.example.org", "sip.listen_port": 5060}
    launch = launch_config(settings, sound={}, simulated=True, bind="192.0.2.10",
                           runtime_dir=tmp_path, module_dir=str(tmp_path), ctrl_port=4444,
                           edge=behind)
    assert launch.config.sip_listen == "127.0.0.1:40003"
    assert launch.config.net_interface == "192.0.2.10"     # media stays on the phone's address
    line = launch.accounts[0].line
    assert ';outbound="sip:127.0.0.1:40001"' in line and "proxy.example.org" not in line
    tcp = enabled_accounts({**ACCOUNT, "account.1.sip_server.1.transport_type": 1})[0]
    assert ';outbound="sip:127.0.0.1:40001;transport=tcp"' in account_line(tcp, behind).line
    alone = launch_config(settings, sound={}, simulated=True, bind="192.0.2.10",
                          runtime_dir=tmp_path, module_dir=str(tmp_path), ctrl_port=4444)
    assert alone.config.sip_listen == "192.0.2.10:5060"
    assert ';outbound="sip:proxy.example.org"' in alone.accounts[0].line
