"""core.trust: the trusted-source list and the verdict, pure and table-driven."""

from __future__ import annotations

import pytest

from deskphone.config.schema import trust_key as schema_trust_key
from deskphone.core.trust import (TrustedSources, TrustListError, Verdict, decisions,
                                  parse_peer, remote_control, source_id, trust_key)


@pytest.mark.parametrize("spec, peer, allowed", [
    ("", "127.0.0.1", False),                       # blank: nobody (Yealink's default)
    ("any", "203.0.113.9", True),
    ("ANY", "::1", True),
    ("10.0.0.5", "10.0.0.5", True),
    ("10.0.0.5", "10.0.0.6", False),
    ("10.0.0.5, 192.168.1.*", "192.168.1.77", True),
    ("192.168.*.*", "192.168.200.1", True),
    ("192.168.*.*", "192.169.0.1", False),
    ("*.*.*.1", "10.20.30.1", True),
    ("*.*.*.1", "10.20.30.2", False),
    ("10.1.0.0/16", "10.1.255.3", True),
    ("10.1.0.0/16", "10.2.0.3", False),
    ("2001:db8::/32", "2001:db8:1::5", True),
    ("2001:db8::/32", "2001:db9::5", False),
    ("::1", "::1", True),
    ("127.0.0.1", "::1", False),                   # IPv6 loopback is another address
    ("127.0.0.1", "::ffff:127.0.0.1", True),       # IPv4-mapped: the same host
    ("10.0.0.0/8", "::ffff:10.9.8.7", True),
    ("10.*.*.*", "::ffff:10.9.8.7", True),
    ("::ffff:10.0.0.5", "10.0.0.5", True),         # a mapped entry names the IPv4 host
    ("::ffff:10.0.0.0/104", "10.3.3.3", True),
    ("fe80::1", "fe80::1%eth0", True),             # the zone id is not part of the host
    ("10.0.0.5", "not-an-ip", False),
    ("10.0.0.5", None, False),
    ("any", "", False),                           # no peer at all: never trusted
])
def test_trusted_sources_match(spec, peer, allowed):
    assert TrustedSources(spec).allows(peer) is allowed


@pytest.mark.parametrize("spec", ["10.0.0.256", "10.0.*", "10.0.0.0/33", "host.example",
                                  "10.0.0.1,,10.0.0.2", "1.2.3.4.5", "１.2.3.4"])
def test_bad_lists_are_refused_with_the_entry_named(spec):
    with pytest.raises(TrustListError) as info:
        TrustedSources(spec)
    assert isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)


def test_peer_names():
    assert source_id("::ffff:192.0.2.1") == "192.0.2.1"
    assert source_id("2001:DB8:0:0::1") == "2001:db8::1"
    assert source_id("x") is None
    assert str(parse_peer("fe80::1%2")) == "fe80::1"


def test_trust_key_is_the_schema_one():
    assert trust_key("10.0.0.5") == schema_trust_key("10.0.0.5") == "deskphone.trust.10.0.0.5"


BASE = {"features.action_uri.enable": True, "features.show_action_uri_option": True,
        "features.action_uri_limit_ip": "127.0.0.1"}


@pytest.mark.parametrize("extra, peer, verdict", [
    ({}, "127.0.0.1", Verdict.ASK),
    ({}, "127.0.0.2", Verdict.UNTRUSTED),
    ({"features.action_uri.enable": False}, "127.0.0.1", Verdict.DISABLED),
    ({"features.action_uri_limit_ip": ""}, "127.0.0.1", Verdict.UNTRUSTED),
    ({"deskphone.trust.127.0.0.1": "allow"}, "127.0.0.1", Verdict.ALLOWED),
    ({"deskphone.trust.127.0.0.1": "allow"}, "::ffff:127.0.0.1", Verdict.ALLOWED),
    ({"deskphone.trust.127.0.0.1": "deny"}, "127.0.0.1", Verdict.DENIED),
    ({"features.show_action_uri_option": False}, "127.0.0.1", Verdict.ALLOWED),
    # A remembered "allow" does not open the door to a source taken off the list.
    ({"deskphone.trust.127.0.0.2": "allow"}, "127.0.0.2", Verdict.UNTRUSTED),
    ({"features.show_action_uri_option": False, "deskphone.trust.127.0.0.1": "deny"},
     "127.0.0.1", Verdict.DENIED),
])
def test_verdict(extra, peer, verdict):
    assert remote_control({**BASE, **extra}, peer) is verdict


def test_decisions_lists_remembered_sources():
    s = {**BASE, "deskphone.trust.10.0.0.9": "deny", "deskphone.trust.10.0.0.1": "allow"}
    assert decisions(s) == {"10.0.0.1": "allow", "10.0.0.9": "deny"}
