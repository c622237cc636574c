"""Fuzz the SIP NOTIFY listener with random datagrams over a real UDP socket.

One whole phone runs in a thread of its own (``PhoneThread``, as for the
servlet fuzz), with ``sip.trust_ctrl = 1`` and 127.0.0.1 as its SIP server, so
a socket on 127.0.0.1 is trusted and one on 127.0.0.2 is not. Each example
sends one datagram, random bytes or a mutated valid NOTIFY, then an OPTIONS
from the same socket: the listener handles datagrams in order, so once the
OPTIONS' 405 is back every answer to the fuzz datagram has arrived. Checked:
every answer is a well-formed SIP response; nothing from noise or from the
untrusted host reaches the phone; a trusted datagram does something exactly
when it is answered 200; no datagram ever made the listener fail; afterwards
it still answers a valid NOTIFY.
"""

from __future__ import annotations

import itertools
import socket
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deskphone.net.rate_limit import RateLimiter
from support.sip_udp import parse_answer, notify
from test_servlet_fuzz import PhoneThread

PROBE_IDS = itertools.count(1)
KEYS = ["key=DNDOn", "key=DNDOff", "key=OK", "key=5", "key=VOLUME_UP", "key=F1;F3",
        "key=number=201", "number=201&outgoing_uri=100@pbx.test", "key=AlwaysFwdOn=300",
        "key=MUTE", "key=OFFHOOK", "key=ONHOOK", "key=X"]


@pytest.fixture(scope="module")
def phone(tmp_path_factory):
    p = PhoneThread(tmp_path_factory.mktemp("notify-fuzz"),
                    "features.show_action_uri_option = 0\nsip.trust_ctrl = 1\n"
                    "features.action_uri_limit_ip = 127.0.0.1\ndeskphone.sip_notify_auth = 0\n"
                    "account.1.sip_server.1.address = 127.0.0.1\n").start()
    # Hundreds of datagrams a second from one socket: above the per-source rate a flood
    # is held to (tests/adversarial checks that limit), so this listener's is raised.
    p.app.sip_notify.rate = RateLimiter(1e6, 1e6, total_rate=1e6, total_burst=1e6)
    yield p
    p.stop()


@pytest.fixture(scope="module")
def sockets():
    made = {}
    for host in ("127.0.0.1", "127.0.0.2"):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((host, 0))
        s.settimeout(3)
        made[host] = s
    yield made
    for s in made.values():
        s.close()


def exchange(sock: socket.socket, port: int, datagram: bytes, listener=None) -> list:
    """Send ``datagram`` and then a probe; every answer to ``datagram``, parsed.

    A NOTIFY whose sender must first be looked up (``sip.trust_ctrl``) is decided
    after the probe is answered: with ``listener`` given, wait for those decisions
    too, so a late answer counts for this datagram and not for the next one.
    """
    probe_id = f"probe-{next(PROBE_IDS)}"
    sock.sendto(datagram, ("127.0.0.1", port))
    sock.sendto(notify(port, method="OPTIONS", call_id=probe_id), ("127.0.0.1", port))
    answers = []
    while True:
        answer = parse_answer(sock.recv(65536))      # asserts it is well-formed
        if answer.all("call-id") == [probe_id]:
            assert answer.status == 405
            break
        answers.append(answer)
    if listener is not None:
        deadline = time.monotonic() + 3
        while listener._waiting and time.monotonic() < deadline:
            time.sleep(0.002)
        assert not listener._waiting, "a deferred decision took over 3 s"
        sock.setblocking(False)
        try:
            while True:
                answers.append(parse_answer(sock.recv(65536)))
        except BlockingIOError:
            pass
        finally:
            sock.settimeout(3)
    return answers


# Fixed while Hypothesis draws (a strategy must not depend on a counter), made unique per
# example by ``unique`` (same length: Content-Length stays right), so no example is taken
# for a retransmission of an earlier one.
CALL_ID, BRANCH = b"fuzz-call-000000000000", b"z9hG4bKfuzz000000000000"


def unique(data: bytes) -> bytes:
    n = next(PROBE_IDS)
    return data.replace(CALL_ID, f"fuzz-call-{n:012d}".encode()).replace(
        BRANCH, f"z9hG4bKfuzz{n:012d}".encode())


@st.composite
def mutated_notify(draw, port: int = 5070) -> bytes:
    data = bytearray(notify(port, draw(st.sampled_from(KEYS)), call_id=CALL_ID.decode(),
                            branch=BRANCH.decode(), from_tag="pbx-fuzz"))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "line", "lf",
                                   "header"]))
        i = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[i] = draw(st.integers(0, 255))
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=20))
        elif op == "delete":
            del data[i:i + draw(st.integers(1, 20))]
        elif op == "truncate":
            del data[i:]
        elif op == "line":                           # drop, repeat or move a whole line
            lines = bytes(data).split(b"\r\n")
            j = draw(st.integers(0, len(lines) - 1))
            k = draw(st.integers(0, len(lines) - 1))
            line = lines.pop(j)
            if draw(st.booleans()):
                lines.insert(k, line)
            if draw(st.booleans()):
                lines.insert(j, line)
            data = bytearray(b"\r\n".join(lines))
        elif op == "lf":
            data = bytearray(bytes(data).replace(b"\r\n", b"\n"))
        elif op == "header":                         # a header's value becomes anything
            lines = bytes(data).split(b"\r\n")
            j = draw(st.integers(0, len(lines) - 1))
            name = lines[j].split(b":", 1)[0]
            lines[j] = name + b": " + draw(st.binary(max_size=40).filter(
                lambda b: b"\n" not in b and b"\r" not in b))
            data = bytearray(b"\r\n".join(lines))
    return bytes(data)


datagram = st.one_of(st.binary(max_size=1500), mutated_notify(), mutated_notify())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(data=datagram, trusted=st.booleans())
def test_garbage_never_breaks_the_listener_or_reaches_the_phone(phone, sockets, data, trusted):
    port = phone.app.sip_notify.port
    # Mutations were made for port 5070; the phone does not care which port a URI names.
    sock = sockets["127.0.0.1" if trusted else "127.0.0.2"]
    before = len(phone.posted)
    stats = phone.app.sip_notify.stats
    repeats = stats["retransmission"]
    answers = exchange(sock, port, unique(data), phone.app.sip_notify)
    acted = len(phone.posted) > before
    # Hypothesis replays examples: a datagram that mutation left without the unique
    # Call-ID or branch can be a retransmission, answered from the cache, not acted on.
    retransmission = stats["retransmission"] > repeats
    statuses = [a.status for a in answers]
    assert len(answers) <= 1, statuses                      # one datagram, at most one answer
    if not trusted:
        assert not acted and 200 not in statuses
    elif retransmission:
        assert not acted, data
    else:
        assert acted == (statuses == [200]), (data, statuses)
    assert phone.app.sip_notify.stats["failed"] == 0
    assert all(s != 500 for s in statuses)


def test_after_the_fuzzing_the_listener_still_answers(phone, sockets):
    port = phone.app.sip_notify.port
    before = len(phone.posted)
    trusted, untrusted = sockets["127.0.0.1"], sockets["127.0.0.2"]
    assert [a.status for a in exchange(untrusted, port, notify(port, "key=VOLUME_UP"))] == [403]
    assert len(phone.posted) == before
    assert [a.status for a in exchange(trusted, port, notify(port, "key=VOLUME_UP"))] == [200]
    assert len(phone.posted) == before + 1
    noise_seen = phone.app.sip_notify.stats
    assert noise_seen["dropped"] > 0 and noise_seen["malformed"] > 0, noise_seen
    assert noise_seen["failed"] == 0
