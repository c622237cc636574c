"""core.trust for SIP NOTIFY: the trusted-IP list, sip.trust_ctrl's servers, the UDP decisions."""

from __future__ import annotations

import pytest

from deskphone.config.settings import Settings
from deskphone.core.trust import Verdict, sip_remote_control, sip_server_hosts

BASE = {"account.1.enable": True, "account.1.sip_server.1.address": "pbx.example"}


LISTED = {"features.action_uri_limit_ip": "10.0.0.0/8"}


@pytest.mark.parametrize("overrides, peer, servers, verdict", [
    # The trusted-IP list applies to NOTIFY too (stricter than Yealink): blank stops all.
    ({}, "203.0.113.9", (), Verdict.UNTRUSTED),
    ({"features.show_action_uri_option": False}, "203.0.113.9", (), Verdict.UNTRUSTED),
    ({"features.action_uri_limit_ip": "10.0.0.1"}, "203.0.113.9", (), Verdict.UNTRUSTED),
    ({"features.action_uri_limit_ip": "10.0.0.1"}, "10.0.0.1", (), Verdict.ASK),
    ({"features.action_uri_limit_ip": "any"}, "203.0.113.9", (), Verdict.ASK),
    ({**LISTED, "features.action_uri.enable": False}, "10.0.0.1", ("10.0.0.1",),
     Verdict.DISABLED),
    # sip.trust_ctrl: only the servers' addresses.
    ({**LISTED, "sip.trust_ctrl": True}, "10.0.0.1", ("10.0.0.1",), Verdict.ASK),
    ({**LISTED, "sip.trust_ctrl": True}, "10.0.0.2", ("10.0.0.1",), Verdict.UNTRUSTED),
    ({**LISTED, "sip.trust_ctrl": True}, "10.0.0.2", (), Verdict.UNTRUSTED),  # nothing resolved
    ({**LISTED, "sip.trust_ctrl": True}, "::ffff:10.0.0.1", ("10.0.0.1",), Verdict.ASK),
    ({**LISTED, "sip.trust_ctrl": True}, "10.0.0.1", ("::ffff:10.0.0.1",), Verdict.ASK),
    ({**LISTED, "sip.trust_ctrl": True}, "10.0.0.1", ("pbx.example",), Verdict.UNTRUSTED),
    ({**LISTED, "sip.trust_ctrl": True, "features.show_action_uri_option": False}, "10.0.0.1",
     ("10.0.0.1",), Verdict.ALLOWED),
    # The decisions remembered from the prompt: the UDP ones, apart from HTTP's.
    ({**LISTED, "deskphone.trust.udp:10.0.0.1": "allow"}, "10.0.0.1", (), Verdict.ALLOWED),
    ({**LISTED, "deskphone.trust.udp:10.0.0.1": "deny"}, "10.0.0.1", (), Verdict.DENIED),
    ({**LISTED, "deskphone.trust.udp:10.0.0.1": "deny",
      "features.show_action_uri_option": False}, "10.0.0.1", (), Verdict.DENIED),
    ({**LISTED, "deskphone.trust.udp:10.0.0.1": "allow", "sip.trust_ctrl": True}, "10.0.0.1",
     (), Verdict.UNTRUSTED),                      # allowed once, but not a server now
    # An "allow" given over HTTP (an old stored key, too) is not a UDP one.
    ({**LISTED, "deskphone.trust.10.0.0.1": "allow"}, "10.0.0.1", (), Verdict.ASK),
    ({**LISTED}, "not-an-address", (), Verdict.UNTRUSTED),
    ({**LISTED}, None, (), Verdict.UNTRUSTED),
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
