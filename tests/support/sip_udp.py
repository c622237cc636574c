"""A hand-written SIP peer for tests: raw datagrams from a real UDP socket on 127.0.0.x.

Answers are read by a parser of their own here (not the phone's), so a test of
the phone's SIP output does not trust the code it tests.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass

_SEQ = itertools.count(1)


def notify(port: int, body: str = "key=DNDOn", *, method: str = "NOTIFY",
           event: str | None = "ACTION-URI", ctype: str | None = "message/sipfrag",
           call_id: str | None = None, cseq: int = 1, branch: str | None = None,
           via_host: str = "127.0.0.1", via_port: int = 5060, via_params: str = "",
           from_tag: str | None = None, to_tag: str | None = None, extra: str = "",
           length: int | None = None) -> bytes:
    """A request as a PBX writes it; every part can be changed or left out."""
    n = next(_SEQ)
    call_id = call_id or f"test-{n}@127.0.0.1"
    branch = branch or f"z9hG4bKtest{n}"
    data = body.encode()
    lines = [f"{method} sip:phone@127.0.0.1:{port} SIP/2.0",
             f"Via: SIP/2.0/UDP {via_host}:{via_port};branch={branch}{via_params}",
             f"From: <sip:pbx@127.0.0.1>;tag={from_tag or f'pbx{n}'}",
             "To: <sip:phone@127.0.0.1>" + (f";tag={to_tag}" if to_tag else ""),
             f"Call-ID: {call_id}", f"CSeq: {cseq} {method}", "Max-Forwards: 70",
             # As Asterisk's res_pjsip_notify sends them (a real NOTIFY is this large,
             # and the phone's answer, Warning and all, is never larger than its request).
             "Contact: <sip:asterisk@127.0.0.1:5060>",
             "User-Agent: Asterisk PBX 18.10.0~dfsg+~cs6.10.40431411-1"]
    if event is not None:
        lines.append(f"Event: {event}")
    if ctype is not None:
        lines.append(f"Content-Type: {ctype}")
    if extra:
        lines += extra.rstrip("\r\n").split("\r\n")
    lines.append(f"Content-Length: {len(data) if length is None else length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


@dataclass
class Answer:
    raw: bytes
    status: int
    reason: str
    headers: list[tuple[str, str]]          # (lower-case name, value), in order

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name.lower()]

    def __getitem__(self, name: str) -> str:
        values = self.all(name)
        assert len(values) == 1, f"{name}: {values!r} in {self.raw!r}"
        return values[0]


def parse_answer(raw: bytes) -> Answer:
    """A SIP response, checked for the form every answer must have."""
    assert raw.endswith(b"\r\n\r\n"), f"not terminated by an empty line: {raw!r}"
    head = raw[:-4].decode("utf-8", "surrogateescape")
    first, *rest = head.split("\r\n")
    proto, code, reason = first.split(" ", 2)
    assert proto == "SIP/2.0" and code.isdigit() and len(code) == 3, first
    headers = []
    for line in rest:
        name, colon, value = line.partition(":")
        assert colon and name and name == name.strip() and "\r" not in line and "\n" not in line, \
            f"bad header line {line!r}"
        headers.append((name.lower(), value.strip()))
    answer = Answer(raw, int(code), reason, headers)
    assert answer["content-length"] == "0"
    return answer


class _Inbox(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[bytes, tuple]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self.queue.put_nowait((data, addr))


class SipPeer:
    """One UDP socket on ``host`` (any 127.0.0.x works on Linux loopback)."""

    def __init__(self, transport: asyncio.DatagramTransport, inbox: _Inbox) -> None:
        self.transport, self.inbox = transport, inbox
        self.host, self.port = transport.get_extra_info("sockname")[:2]

    @classmethod
    async def open(cls, host: str = "127.0.0.1") -> "SipPeer":
        loop = asyncio.get_running_loop()
        transport, inbox = await loop.create_datagram_endpoint(_Inbox, local_addr=(host, 0))
        return cls(transport, inbox)

    def send(self, data: bytes, port: int, host: str = "127.0.0.1") -> None:
        self.transport.sendto(data, (host, port))

    async def answer(self, timeout: float = 2.0) -> Answer:
        data, _ = await asyncio.wait_for(self.inbox.queue.get(), timeout)
        return parse_answer(data)

    async def ask(self, data: bytes, port: int, timeout: float = 2.0) -> Answer:
        self.send(data, port)
        return await self.answer(timeout)

    async def silence(self, seconds: float = 0.2) -> None:
        """Nothing arrives for ``seconds`` (and nothing is waiting)."""
        await asyncio.sleep(seconds)
        assert self.inbox.queue.empty(), f"unexpected answer: {self.inbox.queue.get_nowait()!r}"

    def close(self) -> None:
        self.transport.close()
