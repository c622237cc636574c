"""core.trust for SIP NOTIFY: no trusted-IP list, sip.trust_ctrl's server list, the prompt."""

from __future__ import annotations

import pytest

from deskphone.config.settings import Settings
from deskphone.core.trust import Verdict, sip_remote_control, sip_server_hosts

BASE = {"account.1.enable": True, "account.1.sip_server.1.address": "pbx.example"}


@pytest.mark.parametrize("overrides, peer, servers, verdict", [
    # No trusted-IP list applies: a blank features.action_uri_limit_ip stops nobody here.
    ({}, "203.0.113.9", (), Verdict.ASK),
    ({"features.show_action_uri_option": False}, "203.0.113.9", (), Verdict.ALLOWED),
    ({"features.action_uri_limit_ip": "10.0.0.1"}, "203.0.113.9", (), Verdict.ASK),
    ({"features.action_uri.enable": False}, "10.0.0.1", ("10.0.0.1",), Verdict.DISABLED),
    # sip.trust_ctrl: only the servers' addresses.
    ({"sip.trust_ctrl": True}, "10.0.0.1", ("10.0.0.1",), Verdict.ASK),
    ({"sip.trust_ctrl": True}, "10.0.0.2", ("10.0.0.1",), Verdict.UNTRUSTED),
    ({"sip.trust_ctrl": True}, "10.0.0.2", (), Verdict.UNTRUSTED),        # nothing resolved
    ({"sip.trust_ctrl": True}, "::ffff:10.0.0.1", ("10.0.0.1",), Verdict.ASK),
    ({"sip.trust_ctrl": True}, "10.0.0.1", ("::ffff:10.0.0.1",), Verdict.ASK),
    ({"sip.trust_ctrl": True}, "10.0.0.1", ("pbx.example",), Verdict.UNTRUSTED),  # a name
    ({"sip.trust_ctrl": True, "features.show_action_uri_option": False}, "10.0.0.1",
     ("10.0.0.1",), Verdict.ALLOWED),
    # The decisions remembered from the prompt (shared with HTTP).
    ({"deskphone.trust.10.0.0.1": "allow"}, "10.0.0.1", (), Verdict.ALLOWED),
    ({"deskphone.trust.10.0.0.1": "deny"}, "10.0.0.1", (), Verdict.DENIED),
    ({"deskphone.trust.10.0.0.1": "deny", "features.show_action_uri_option": False},
     "10.0.0.1", (), Verdict.DENIED),
    ({"deskphone.trust.10.0.0.1": "allow", "sip.trust_ctrl": True}, "10.0.0.1", (),
     Verdict.UNTRUSTED),                          # allowed once, but not a server now
    ({}, "not-an-address", (), Verdict.UNTRUSTED),
    ({}, None, (), Verdict.UNTRUSTED),
])
def test_sip_verdicts(overrides, peer, servers, verdict):
    s = Settings.defaults().with_overrides({**BASE, **overrides})
    assert sip_remote_control(s, peer, servers) is verdict


def test_the_servers_of_enabled_accounts_and_their_enabled_outbound_proxies():
    s = Settings.defaults().with_overrides({
        "account.1.enable": True, "account.1.sip_server.1.address": "pbx.example",
        "account.1.outbound_proxy_enable": True, "account.1.outbound_host": "[2001:db8::5]",
        "account.2.enable": True, "account.2.sip_server.1.address": "10.0.0.1",
        "account.2.outbound_host": "proxy.unused",            # not enabled: not trusted
        "account.3.enable": False, "account.3.sip_server.1.address": "10.9.9.9",
        "account.4.enable": True, "account.4.sip_server.1.address": "PBX.example ",
    })
    assert sip_server_hosts(s) == ("10.0.0.1", "2001:db8::5", "pbx.example")
    assert sip_server_hosts(Settings.defaults()) == ()
