"""The SIP reading and answering of the NOTIFY listener, without sockets (net/sip_message.py)."""

from __future__ import annotations

import pytest

from deskphone.net.sip_message import SipSyntaxError, parse_request, response, split_commas
from support.sip_udp import parse_answer

# The seed document's example, as it goes over the wire.
YEALINK = (b"NOTIFY sip:3583@10.2.40.10:5062 SIP/2.0\r\n"
           b"Via: SIP/2.0/UDP 10.2.40.27:5063;branch=z9hG4bK4163876675\r\n"
           b"From: <sip:3586@10.3.5.199>;tag=2900480538\r\n"
           b'To: "3583" <sip:3583@10.3.5.199>;tag=490600926\r\n'
           b"Call-ID: 2923387519@10.2.40.10\r\n"
           b"CSeq: 4 NOTIFY\r\n"
           b"Contact: <sip:3586@10.2.40.27:5063>\r\n"
           b"Max-Forwards: 70\r\n"
           b"User-Agent: Yealink SIP-T23G\r\n"
           b"Event: ACTION-URI\r\n"
           b"Content-Type: message/sipfrag\r\n"
           b"Content-Length: 6\r\n\r\n"
           b"key=OK")


def test_the_yealink_example():
    r = parse_request(YEALINK)
    assert (r.method, r.uri, r.body) == ("NOTIFY", "sip:3583@10.2.40.10:5062", b"key=OK")
    assert r.get("event") == "ACTION-URI" and r.get("user-agent") == "Yealink SIP-T23G"
    assert r.transaction == ("z9hG4bK4163876675", "10.2.40.27:5063", "2923387519@10.2.40.10",
                             "4 NOTIFY")


def test_the_answer_copies_what_it_must_and_keeps_a_to_tag():
    r = parse_request(YEALINK)
    a = parse_answer(response(r, 200, ("10.2.40.27", 5063), tag="mine"))
    assert (a.status, a.reason) == (200, "OK")
    assert a.headers[:5] == [
        ("via", "SIP/2.0/UDP 10.2.40.27:5063;branch=z9hG4bK4163876675"),   # sender = sent-by
        ("from", "<sip:3586@10.3.5.199>;tag=2900480538"),
        ("to", '"3583" <sip:3583@10.3.5.199>;tag=490600926'),              # had a tag: kept
        ("call-id", "2923387519@10.2.40.10"), ("cseq", "4 NOTIFY")]
    assert a["content-length"] == "0" and a["server"] == "deskphone"


def test_compact_forms_folding_lf_and_no_content_length():
    raw = (b"\r\nnotify sip:p@h SIP/2.0\n"
           b"v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa, SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKb\n"
           b"V: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKc\n"
           b"f: <sip:a@h>;tag=1\nt: <sip:p@h>\ni: abc\nCSEQ: 7\n  NOTIFY\n"
           b"o: action-uri;id=4\nc: message/sipfrag; charset=utf-8\n\nkey=X\r\n")
    r = parse_request(raw)
    assert r.method == "NOTIFY" and r.body == b"key=X\r\n"
    assert r.get("cseq") == "7 NOTIFY" and r.get("call-id") == "abc"
    assert r.vias == ["SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa",
                      "SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKb",
                      "SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKc"]
    a = parse_answer(response(r, 489, ("198.51.100.7", 40000), tag="t1"))
    assert a.all("via") == ["SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa;received=198.51.100.7",
                            "SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKb",
                            "SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKc"]
    assert a["to"] == "<sip:p@h>;tag=t1" and a.reason == "Bad Event"


@pytest.mark.parametrize("via, answered", [
    ("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKx;rport",
     "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKx;rport=4000;received=10.0.0.1"),
    ("SIP/2.0/UDP pbx.example:5060;rport;branch=z9hG4bKx",
     "SIP/2.0/UDP pbx.example:5060;rport=4000;branch=z9hG4bKx;received=10.0.0.1"),
    ("SIP/2.0/UDP pbx.example;branch=z9hG4bKx",
     "SIP/2.0/UDP pbx.example;branch=z9hG4bKx;received=10.0.0.1"),
    ("SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx;rport=77",          # filled in already: left alone
     "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx;rport=77"),
])
def test_received_and_rport(via, answered):
    raw = YEALINK.replace(b"Via: SIP/2.0/UDP 10.2.40.27:5063;branch=z9hG4bK4163876675",
                          b"Via: " + via.encode())
    a = parse_answer(response(parse_request(raw), 200, ("10.0.0.1", 4000), tag="t"))
    assert a["via"] == answered


def test_a_warning_is_one_quoted_printable_line():
    a = parse_answer(response(parse_request(YEALINK), 400, ("10.0.0.1", 1), tag="t",
                              warning='bad "x"\r\nInjected: yes \\', server="deskphone/1"))
    assert a["warning"] == '399 deskphone "bad \\"x\\"  Injected: yes \\\\"'
    assert a.all("injected") == []


@pytest.mark.parametrize("raw", [
    b"", b"\r\n\r\n", b"\x00\x01", b"SIP/2.0 200 OK\r\n\r\n", b"NOTIFY sip:x SIP/3.0\r\n\r\n",
    b"NOTIFY  sip:x SIP/2.0\r\n\r\n", b"GET / HTTP/1.1\r\n\r\n", b"NOTIFY\r\n\r\n",
    b"NOT IFY sip:x SIP/2.0\r\n\r\n", b"\xffNOTIFY sip:x SIP/2.0\r\n\r\n",
])
def test_what_is_no_request_at_all(raw):
    assert parse_request(raw) is None


@pytest.mark.parametrize("change, problem", [
    ((b"Call-ID: 2923387519@10.2.40.10\r\n", b""), "no Call-ID header"),
    ((b"Call-ID: 2923387519@10.2.40.10", b"Call-ID:  "), "empty Call-ID"),
    ((b"CSeq: 4 NOTIFY", b"CSeq: 4 INFO"), "CSeq method 'INFO'"),
    ((b"CSeq: 4 NOTIFY", b"CSeq: 99999999999 NOTIFY"), "bad CSeq"),
    ((b"CSeq: 4 NOTIFY", b"CSeq: 4 NOTIFY\r\nCSeq: 5 NOTIFY"), "more than one CSeq"),
    ((b"Via: SIP/2.0/UDP 10.2.40.27:5063", b"Via: garbage"), "bad Via"),
    ((b"Content-Length: 6", b"Content-Length: 7"), "only 6 bytes"),
    ((b"Content-Length: 6", b"Content-Length: 6\r\nl: 5"), "different values"),
    ((b"Content-Length: 6", b"Content-Length: six"), "bad Content-Length"),
    ((b"Max-Forwards: 70", b"Max Forwards: 70"), "not a header line"),
    ((b"\r\n\r\nkey=OK", b"\r\nkey=OK"), "no blank line"),
    ((b"NOTIFY sip:3583@10.2.40.10:5062 SIP/2.0\r\n",
      b"NOTIFY sip:3583@10.2.40.10:5062 SIP/2.0\r\n X: folded\r\n"), "folded line before"),
])
def test_bad_headers_raise_with_what_the_answer_needs(change, problem):
    with pytest.raises(SipSyntaxError, match=problem) as info:
        parse_request(YEALINK.replace(*change))
    partial = info.value.partial
    assert partial.method == "NOTIFY" and partial.get("from") is not None
    parse_answer(response(partial, 400, ("10.0.0.1", 5060), tag="t"))   # still well-formed


def test_extra_bytes_after_the_body_are_ignored_and_undecodable_bytes_round_trip():
    r = parse_request(YEALINK.replace(b"2900480538", b"29\xff04") + b"trailing")
    assert r.body == b"key=OK"
    answer = response(r, 200, ("10.2.40.27", 5063), tag="t")
    assert b"From: <sip:3586@10.3.5.199>;tag=29\xff04\r\n" in answer


def test_too_many_headers():
    raw = YEALINK.replace(b"Max-Forwards: 70\r\n", b"X-A: 1\r\n" * 200)
    with pytest.raises(SipSyntaxError, match="more than 100 header lines"):
        parse_request(raw)


def test_split_commas_respects_quotes_and_brackets():
    assert split_commas('"a, b" <sip:x@y>, <sip:z@w;p=1,2>, c') == [
        '"a, b" <sip:x@y>', "<sip:z@w;p=1,2>", "c"]
