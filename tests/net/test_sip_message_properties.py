"""Property tests (Hypothesis) for the SIP message parser of the NOTIFY listener (net/sip_message.py).

Pure and fast: any datagram is no request (None), a request, or a
``SipSyntaxError`` carrying enough of the request to answer it; a response built
for anything parsed is a well-formed SIP response that copies the transaction
headers. The listener over a real UDP socket is fuzzed in
tests/net/test_sip_notify_fuzz.py; ``make fuzz`` runs both far longer.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deskphone.net.sip_message import SipRequest, SipSyntaxError, new_tag, parse_request, response
from support.sip_udp import notify, parse_answer

VALID = notify(5070, "key=DNDOn", call_id="prop-call", branch="z9hG4bKprop", from_tag="t1")


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(VALID)
    for _ in range(draw(st.integers(1, 5))):
        i = draw(st.integers(0, max(len(data) - 1, 0)))
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "lf"]))
        if op == "flip" and data:
            data[i] = draw(st.integers(0, 255))
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=30))
        elif op == "delete":
            del data[i:i + draw(st.integers(1, 40))]
        elif op == "truncate":
            del data[i:]
        else:
            data = bytearray(bytes(data).replace(b"\r\n", b"\n"))
    return bytes(data)


datagrams = st.one_of(st.binary(max_size=1500), mutated(), mutated(), mutated())


def answer_is_well_formed(request: SipRequest, status: int) -> None:
    data = response(request, status, ("127.0.0.1", 5060), tag=new_tag())
    answer = parse_answer(data)                     # asserts a well-formed SIP response
    assert answer.status == status
    if request.get("call-id") is not None:
        assert len(answer.all("call-id")) == 1      # the transaction's Call-ID, copied once


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datagrams)
def test_any_datagram_is_nothing_a_request_or_a_syntax_error(data):
    try:
        request = parse_request(data)
    except SipSyntaxError as exc:
        assert str(exc) and "\n" not in str(exc)
        assert isinstance(exc.partial, SipRequest) and exc.partial.method
        answer_is_well_formed(exc.partial, 400)
        return
    if request is None:
        return
    assert request.method == request.method.upper()
    answer_is_well_formed(request, 200)


def test_the_unmutated_notify_parses():
    request = parse_request(VALID)
    assert request is not None and request.method == "NOTIFY" and request.body == b"key=DNDOn"
