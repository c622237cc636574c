"""Fuzz the servlet with arbitrary paths, query strings and headers over a real socket.

Two whole phones run (each in its own thread with its own event loop, so the
sync Hypothesis test can talk to them with plain blocking sockets): one trusts
127.0.0.1 and acts at once, one trusts nobody we can be. For every request:
never a 5xx, always a well-formed answer; the untrusted phone gets no input at
all. Afterwards both phones still serve an ordinary request.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.phone import record_inputs, start_phone

PASSWORD = "Fuzz-pass-1"
NO_RECEIVER = "http://127.0.0.1:9"      # the discard port: Action URLs fail fast, harmlessly


class PhoneThread:
    """A whole phone in a thread of its own; ``posted`` records every input given to it."""

    def __init__(self, tmp: Path, extra: str) -> None:
        self.tmp, self.extra = tmp, extra
        self.ready = threading.Event()
        self.posted: list = []
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    def start(self) -> "PhoneThread":
        self._thread.start()
        assert self.ready.wait(10), "the phone did not start"
        if self.error:
            raise self.error
        return self

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        try:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self.app = await start_phone(self.tmp, NO_RECEIVER, extra=self.extra)
            self.app.web.throttle.max_failures = 10**9     # keep fuzzing past wrong passwords
            self.posted = record_inputs(self.app)
        except BaseException as exc:                        # reported by start()
            self.error = exc
            self.ready.set()
            return
        self.ready.set()
        await self._stop.wait()
        await self.app.stop()

    def stop(self) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    @property
    def port(self) -> int:
        return self.app.http.port


@pytest.fixture(scope="module")
def phones(tmp_path_factory):
    trusted = PhoneThread(tmp_path_factory.mktemp("trusted"),
                          "features.action_uri_limit_ip = 127.0.0.1\n"
                          "features.show_action_uri_option = 0\n"
                          f"static.security.user_password = admin:{PASSWORD}\n").start()
    untrusted = PhoneThread(tmp_path_factory.mktemp("untrusted"),
                            "features.action_uri_limit_ip = 10.0.0.1, ::1, 127.0.0.2\n"
                            f"static.security.user_password = admin:{PASSWORD}\n").start()
    yield trusted, untrusted
    trusted.stop()
    untrusted.stop()


def exchange(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(raw)
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


def status_of(reply: bytes) -> int:
    line = reply.split(b"\r\n", 1)[0]
    assert line.startswith(b"HTTP/1."), f"no HTTP answer: {reply[:80]!r}"
    return int(line.split()[1])


PATHS = ["/servlet", "/cgi-bin/ConfigManApp.com", "/cgi-bin/cgiServer.exx", "/screencapture",
         "/screencapture/download", "/", "/SERVLET", "/servlet/", "/cgi-bin/", "//servlet"]
NAMES = ["key", "Key", "KEY", "number", "outgoing_uri", "phonecfg", "accounts", "dnd", "fw",
         "[accounts", "p", "q", "username", "pwd", "jumpto", "command", "source", "csrf"]
TOKENS = ["OK", "x", "F1", "F4", "L1", "L2", "L9", "L0", "DNDOn", "OFFHOOK", "ONHOOK", "Reboot",
          "Reset", "AutoP", "MUTE", "POUND", "%23", "number=201", "ATrans=", "BTrans=205",
          "NoAnswFwdOn=1=", "NoAnswFwdOn=5=3", "AlwaysFwdOn=", "ASW:", "HOLD:sim-1@x",
          "get", "get[", "1]", "1][", "0", "2", "login", "screenshot", "features-actionurl",
          "write", "status", PASSWORD, "admin", "100@pbx.test", "sip:100@pbx.test", "=", "%",
          "%zz", "%00", "%FF", "%C3%A9", "%3B", "%3b", "[", "]", "+", "..", "\\", "\u202e"]
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)
SAFE_TEXT = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126,
                                           blacklist_characters="#&;"), max_size=12)
token = st.one_of(st.sampled_from(TOKENS), SAFE_TEXT,
                  TEXT.map(lambda t: quote(t, safe="")))
value = st.lists(token, min_size=1, max_size=4).map(lambda ts: st_join(ts))
pair = st.tuples(st.one_of(st.sampled_from(NAMES), SAFE_TEXT), st.one_of(st.none(), value)).map(
    lambda nv: nv[0] if nv[1] is None else f"{nv[0]}={nv[1]}")
action = st.tuples(st.sampled_from(["key", "Key", "number", "phonecfg"]), value).map("=".join)
with_action = st.tuples(st.lists(pair, max_size=3), action, st.lists(pair, max_size=2)).map(
    lambda t: "&".join(t[0] + [t[1]] + t[2]))
query = st.one_of(with_action, with_action, with_action,         # mostly requests that act
                  st.lists(pair, max_size=6).map("&".join),       # what clients send
                  TEXT.map(lambda t: quote(t, safe="=&;[]")),     # anything, encoded
                  SAFE_TEXT)                                      # anything, raw


def st_join(tokens: list[str]) -> str:
    return ";".join(tokens)


path = st.one_of(*[st.sampled_from(PATHS[:3])] * 4, st.sampled_from(PATHS),
                 TEXT.map(lambda t: "/" + t))
header_name = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-ABCXYZ_0123456789!#$%&'*+.^`|~",
                      min_size=1, max_size=20).filter(
    lambda n: n.lower() not in ("content-length", "transfer-encoding", "connection",
                                "expect", "upgrade", "host"))
header_value = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
    st.sampled_from(["Basic YWRtaW46RnV6ei1wYXNzLTE=", "Basic !!!", "Basic", "Basic =",
                     "Bearer x", "basic YWRtaW46", "Basic " + "A" * 500]))
headers = st.lists(st.tuples(
    st.one_of(header_name, st.sampled_from(["Authorization", "X-Forwarded-For", "Cookie",
                                            "Content-Type", "Forwarded", "X-Real-IP"])),
    header_value), max_size=4)
method = st.one_of(st.just("GET"), st.just("GET"), st.just("POST"),
                   st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "G@T"]))
body = st.one_of(st.just(""), query)


def build(method: str, path: str, query: str, headers, body: str) -> bytes:
    target = path + ("?" + query if query else "")
    data = body.encode("utf-8", "surrogatepass")
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers]
    if method == "POST":
        lines.append(f"Content-Length: {len(data)}")
    head = "\r\n".join(lines).encode("utf-8", "surrogateescape") + b"\r\n\r\n"
    return head + (data if method == "POST" else b"")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(method=method, path=path, query=query, headers=headers, body=body)
def test_servlet_never_fails_and_untrusted_never_acts(phones, method, path, query, headers,
                                                      body):
    trusted, untrusted = phones
    raw = build(method, path, query, headers, body)
    for phone in (trusted, untrusted):
        reply = exchange(phone.port, raw)
        assert status_of(reply) < 500, reply[:200]
    assert untrusted.posted == []
    assert untrusted.app.phone.prompts == []
    assert not any(k.startswith("deskphone.trust.") for k in untrusted.app.store.snapshot())


def test_after_the_fuzzing_both_phones_still_answer(phones):
    trusted, untrusted = phones
    ok = b"GET /servlet?key=VOLUME_UP HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    assert status_of(exchange(trusted.port, ok)) == 200
    assert status_of(exchange(untrusted.port, ok)) == 403
    assert untrusted.posted == []
    assert trusted.posted, "the fuzzing never got a key through to the trusted phone"
