"""Which dialog subscriptions the BLF keys want (net/blf.py): one per key, registered only."""

from __future__ import annotations

from deskphone.net.blf import MAX_SUBSCRIPTIONS, target_uri, watches

ACCOUNT = {"account.1.enable": True, "account.1.user_name": "100", "account.1.auth_name": "a100",
           "account.1.password": "pw", "account.1.sip_server.1.address": "pbx.test",
           "account.1.sip_server.1.port": 5070}


def test_an_extension_becomes_a_uri_at_the_server_and_a_uri_stays():
    assert target_uri("202", "pbx.test:5070") == "sip:202@pbx.test:5070"
    assert target_uri("bob@other.test", "pbx.test") == "sip:bob@other.test"
    assert target_uri("sips:bob@other.test", "pbx.test") == "sips:bob@other.test"


def test_one_watch_per_blf_key_of_a_registered_account():
    settings = {**ACCOUNT, "linekey.1.type": 16, "linekey.1.value": "202", "linekey.1.line": 1,
                "linekey.2.type": 16, "linekey.2.value": "203", "linekey.2.line": 2,   # no account 2
                "linekey.3.type": 15, "linekey.3.value": "204"}                       # a line key
    assert watches(settings, {1: "failed"}) == {}           # nothing before the registration
    found = watches(settings, {1: "registered", 2: "registered"})
    assert list(found) == [1]
    w = found[1]
    assert (w.target, w.aor, w.auth_name, w.password, w.server) == (
        "sip:202@pbx.test:5070", "sip:100@pbx.test:5070", "a100", "pw", ("pbx.test", 5070))


def test_the_outbound_proxy_carries_the_subscribe_and_the_count_is_bounded():
    settings = {**ACCOUNT, "account.1.outbound_proxy_enable": True,
                "account.1.outbound_host": "proxy.test", "account.1.outbound_port": 5080}
    settings.update({f"linekey.{n}.type": 16 for n in range(1, 30)})
    settings.update({f"linekey.{n}.value": str(200 + n) for n in range(1, 30)})
    found = watches(settings, {1: "registered"})
    assert len(found) == min(29, MAX_SUBSCRIPTIONS)
    assert {w.server for w in found.values()} == {("proxy.test", 5080)}
