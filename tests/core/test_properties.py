"""Property tests (Hypothesis) for the pure parsers of remote control: Action URI values,
and the trusted-source list (variables as they reach the wire: tests/net/test_action_url_properties.py).

Bounded: each property runs a few hundred examples in well under a second or
two. The long runs are ``make fuzz`` (tests/fuzz/fuzz_parsers.py).
Elsewhere: the .cfg parser (tests/config/test_yealink_cfg.py), variable values
inside one query parameter (tests/core/test_variables.py), the servlet and the
SIP NOTIFY listener over real sockets (tests/net/test_*_fuzz.py), the netstring
reader and the SIP message parser (tests/engine/test_netstring_properties.py,
tests/net/test_sip_message_properties.py).
"""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from deskphone.core import inputs as ins
from deskphone.core.trust import TrustedSources, TrustListError, parse_peer
from deskphone.core.uri import ActionUriError, parse_key, parse_request

# --- Action URI values (core/uri.py) ---------------------------------------------------

KNOWN = ["OK", "ENTER", "X", "F1", "F4", "L1", "L2", "MUTE", "POUND", "*", "0", "9", "DNDOn",
         "DNDOff", "OFFHOOK", "ONHOOK", "ANSWER", "ASW:abc@pbx", "CALLEND", "HOLD", "UNHOLD",
         "HOLD:x", "AlwaysFwdOn=55", "BusyFwdOff", "NoAnswFwdOn=5=3", "BTrans=201",
         "ATrans=202", "Reboot", "Reset", "AutoP", "VOLUME_UP", "F_TRANSFER"]
ANY_TEXT = st.text(max_size=40)
value_text = st.one_of(
    ANY_TEXT,
    st.lists(st.one_of(st.sampled_from(KNOWN), ANY_TEXT), max_size=6).map(";".join),
    st.builds(lambda a, b: f"{a}={b}", st.sampled_from(["number", "AlwaysFwdOn", "NoAnswFwdOn",
                                                        "BTrans", "ASW", "HOLD"]), ANY_TEXT))


def one_line_error(exc: ActionUriError) -> None:
    message = str(exc)
    assert message and "\n" not in message and "\r" not in message


@settings(max_examples=400, deadline=None)
@given(value=value_text, line_keys=st.integers(0, 16))
def test_any_value_parses_or_fails_with_one_line_and_nothing_half_done(value, line_keys):
    try:
        inputs = parse_key(value, line_keys=line_keys)
    except ActionUriError as exc:           # the only way to fail (it is also a ValueError)
        one_line_error(exc)
        return
    assert inputs and all(isinstance(i, ins.Input) for i in inputs)
    assert parse_key(value, line_keys=line_keys) == inputs        # pure: same answer again
    # Case does not matter: the same inputs for the upper-case spelling of a key value.
    if all(isinstance(i, ins.KeyPress) for i in inputs):
        assert parse_key(value.upper(), line_keys=line_keys) == inputs


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(KNOWN), min_size=1, max_size=8))
def test_a_sequence_is_its_keys_in_order(values):
    joined = parse_key(";".join(values), line_keys=2)
    one_by_one = [i for v in values for i in parse_key(v, line_keys=2)]
    assert joined == one_by_one


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(KNOWN), min_size=1, max_size=4), ANY_TEXT.filter(
    lambda t: t.strip() and ";" not in t))
def test_one_bad_value_anywhere_means_nothing_is_done(good, bad):
    try:
        parse_key(bad, line_keys=2)
        return                                  # it happens to be a real value
    except ActionUriError:
        pass
    for at in (0, len(good)):
        sequence = good[:at] + [bad] + good[at:]
        try:
            parse_key(";".join(sequence), line_keys=2)
        except ActionUriError as exc:
            one_line_error(exc)
        else:
            raise AssertionError(f"{sequence!r} was taken")


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["key", "Key", "KEY", "number", "outgoing_uri", "other",
                                        "p", "pwd"]), ANY_TEXT, max_size=4))
def test_any_request_parameters_parse_or_fail_cleanly(params):
    accounts = {"account.1.enable": True, "account.1.user_name": "100",
                "account.1.sip_server.1.address": "pbx.test"}
    try:
        inputs = parse_request(params, line_keys=2, settings=accounts)
    except ActionUriError as exc:
        one_line_error(exc)
        return
    assert inputs


# --- the trusted-source list (core/trust.py) ----------------------------------------------

v4 = st.ip_addresses(v=4)
v6 = st.ip_addresses(v=6)


@settings(max_examples=300, deadline=None)
@given(st.one_of(v4, v6))
def test_an_address_is_trusted_by_itself_and_only_by_itself(addr):
    trusted = TrustedSources(str(addr))
    assert trusted.allows(str(addr))
    other = addr + 1 if int(addr) < (2 ** addr.max_prefixlen - 1) else addr - 1
    assert not trusted.allows(str(other))
    if addr.version == 4:       # the same host reaching a dual-stack socket
        assert trusted.allows(f"::ffff:{addr}")
    assert TrustedSources("any").allows(str(addr)) and not TrustedSources("").allows(str(addr))


@settings(max_examples=300, deadline=None)
@given(net=st.one_of(v4.flatmap(lambda a: st.integers(0, 32).map(
    lambda p: ipaddress.ip_network(f"{a}/{p}", strict=False))),
    v6.flatmap(lambda a: st.integers(0, 128).map(
        lambda p: ipaddress.ip_network(f"{a}/{p}", strict=False)))),
    peer=st.one_of(v4, v6))
def test_a_cidr_block_trusts_exactly_its_addresses(net, peer):
    # The documented rules: an IPv4-mapped peer is its IPv4 host, and a ::ffff:a.b.c.d/n
    # block (n >= 96) names the IPv4 block a.b.c.d/(n - 96).
    host = parse_peer(str(peer))
    block = net
    if net.version == 6 and net.prefixlen >= 96 and net.network_address.ipv4_mapped is not None:
        block = ipaddress.ip_network(f"{net.network_address.ipv4_mapped}/{net.prefixlen - 96}")
    expected = host.version == block.version and host in block
    assert TrustedSources(str(net)).allows(str(peer)) == expected


def test_the_mapped_block_rule_itself():
    assert TrustedSources("::ffff:0.0.0.0/96").allows("::ffff:10.1.2.3")
    assert TrustedSources("::ffff:10.0.0.0/104").allows("10.200.0.1")
    assert not TrustedSources("::ffff:10.0.0.0/104").allows("11.0.0.1")


@settings(max_examples=300, deadline=None)
@given(octets=st.lists(st.one_of(st.none(), st.integers(0, 255)), min_size=4, max_size=4),
       peer=v4)
def test_a_wildcard_matches_octet_by_octet(octets, peer):
    spec = ".".join("*" if o is None else str(o) for o in octets)
    if None not in octets:
        return                                  # a plain address: the first property
    expected = all(o is None or o == p for o, p in zip(octets, peer.packed))
    assert TrustedSources(spec).allows(str(peer)) == expected


@settings(max_examples=400, deadline=None)
@given(spec=st.text(max_size=60), peer=st.one_of(st.none(), st.text(max_size=45),
                                                 v4.map(str), v6.map(str)))
def test_any_list_and_any_peer_give_an_answer_or_a_list_error(spec, peer):
    try:
        trusted = TrustedSources(spec)
    except TrustListError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert trusted.allows(peer) in (True, False)
    if not spec.strip():
        assert not trusted.allows(peer)         # blank: nobody


def test_found_by_make_fuzz_a_ring_count_after_an_ascii_separator_char():
    # atheris (make fuzz, servlet target) found this in its first 10 s: str.strip() takes
    # \x1c-\x1f but int() does not, so the check passed and int() raised: a 500.
    assert parse_key("NoAnswFwdOn=5=\x1d12") == [ins.SetForward("no_answer", True, "5", 12)]
    assert parse_key("key=NoAnswFwdOn=5=\x1c3".split("=", 1)[1]) == \
        [ins.SetForward("no_answer", True, "5", 3)]
