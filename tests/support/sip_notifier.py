"""A hand-written SIP notifier for tests (RFC 6665's other side): takes SUBSCRIBEs, sends NOTIFYs.

It checks the subscriber's digest itself (its own MD5 here, not the phone's
code), answers 200 with the Expires it is told, and sends NOTIFYs in the
dialog from its own real UDP socket on 127.0.0.1. Everything it receives is
kept (``subscribes``, ``answers``) for the test to look at.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import re
import secrets
from dataclasses import dataclass

from .sip_udp import Answer, parse_answer

REALM = "lab"
_N = itertools.count(1)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _headers(text: str) -> tuple[str, list[tuple[str, str]]]:
    first, *rest = text.split("\r\n")
    out = []
    for line in rest:
        name, _, value = line.partition(":")
        out.append((name.strip().lower(), value.strip()))
    return first, out


@dataclass
class Subscribe:
    """One SUBSCRIBE as it arrived."""
    raw: str
    addr: tuple
    start: str
    headers: list[tuple[str, str]]

    def get(self, name: str) -> str:
        return next((v for k, v in self.headers if k == name), "")

    @property
    def expires(self) -> int:
        return int(self.get("expires") or -1)


@dataclass
class SubDialog:
    call_id: str
    subscriber_tag: str         # the From tag of the SUBSCRIBE
    my_tag: str
    contact: tuple[str, int]    # where NOTIFYs go
    aor: str
    cseq: int = 0


class Notifier(asyncio.DatagramProtocol):
    def __init__(self, *, password: str | None = "secret", expires: int = 3600,
                 refuse: int | None = None) -> None:
        self.password, self.expires, self.refuse = password, expires, refuse
        self.subscribes: list[Subscribe] = []
        self.answers: list[Answer] = []
        self.dialogs: dict[str, SubDialog] = {}
        self.nonce = secrets.token_hex(8)
        self.port = 0
        self.transport: asyncio.DatagramTransport | None = None

    @classmethod
    async def open(cls, **kw) -> "Notifier":
        loop = asyncio.get_running_loop()
        transport, me = await loop.create_datagram_endpoint(lambda: cls(**kw),
                                                            local_addr=("127.0.0.1", 0))
        me.transport = transport
        me.port = transport.get_extra_info("sockname")[1]
        return me

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    # ------------------------------------------------------------ receiving

    def datagram_received(self, data: bytes, addr) -> None:
        text = data.decode("utf-8", "replace")
        if text.startswith("SIP/2.0"):
            self.answers.append(parse_answer(data))
        elif text.startswith("SUBSCRIBE "):
            start, headers = _headers(text.split("\r\n\r\n", 1)[0])
            sub = Subscribe(text, addr, start, headers)
            self.subscribes.append(sub)
            self._take(sub)

    def _authorized(self, sub: Subscribe) -> bool:
        if self.password is None:
            return True
        value = sub.get("authorization")
        params = dict(re.findall(r'(\w+)="?([^",]*)"?', value))
        if not value.startswith("Digest ") or params.get("nonce") != self.nonce:
            return False
        ha1 = _md5(f"{params['username']}:{REALM}:{self.password}")
        ha2 = _md5(f"SUBSCRIBE:{params['uri']}")
        want = _md5(f"{ha1}:{self.nonce}:{params['nc']}:{params['cnonce']}:auth:{ha2}")
        return params.get("response") == want

    def _take(self, sub: Subscribe) -> None:
        if self.refuse is not None:
            self._reply(sub, self.refuse, "Refused")
            return
        if not self._authorized(sub):
            self._reply(sub, 401, "Unauthorized", extra=(
                f'WWW-Authenticate: Digest realm="{REALM}", nonce="{self.nonce}", '
                'qop="auth", algorithm=MD5'))
            return
        call_id = sub.get("call-id")
        dialog = self.dialogs.get(call_id)
        if dialog is None:
            if "tag=" in sub.get("to"):
                self._reply(sub, 481, "Call/Transaction Does Not Exist")
                return
            host, port = re.search(r"<sip:[^@>]*@?([0-9.]+):([0-9]+)", sub.get("contact")).groups()
            dialog = SubDialog(call_id, sub.get("from").split("tag=")[1].split(";")[0],
                               f"n{next(_N)}", (host, int(port)),
                               re.search(r"<([^>]+)>", sub.get("to")).group(1))
            self.dialogs[call_id] = dialog
        expires = min(sub.expires, self.expires)
        self._reply(sub, 200, "OK", tag=dialog.my_tag, extra=f"Expires: {expires}\r\n"
                    f"Contact: <sip:notifier@127.0.0.1:{self.port}>")

    def _reply(self, sub: Subscribe, status: int, reason: str, *, tag: str = "",
               extra: str = "") -> None:
        to = sub.get("to")
        if tag and "tag=" not in to:
            to += f";tag={tag}"
        lines = [f"SIP/2.0 {status} {reason}", *(f"Via: {v}" for k, v in sub.headers if k == "via"),
                 f"From: {sub.get('from')}", f"To: {to}", f"Call-ID: {sub.get('call-id')}",
                 f"CSeq: {sub.get('cseq')}"]
        if extra:
            lines.append(extra)
        lines += ["Content-Length: 0", "", ""]
        self.transport.sendto("\r\n".join(lines).encode(), sub.addr)

    # ------------------------------------------------------------ sending

    def notify(self, dialog: SubDialog, body: str, *, state: str = "active;expires=3600",
               event: str = "message-summary",
               ctype: str = "application/simple-message-summary", cseq: int | None = None,
               call_id: str | None = None) -> bytes:
        if cseq is None:
            dialog.cseq += 1
            cseq = dialog.cseq
        data = body.encode()
        lines = [f"NOTIFY sip:{dialog.contact[0]}:{dialog.contact[1]} SIP/2.0",
                 f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{secrets.token_hex(6)}",
                 f"From: <{dialog.aor}>;tag={dialog.my_tag}",
                 f"To: <{dialog.aor}>;tag={dialog.subscriber_tag}",
                 f"Call-ID: {call_id or dialog.call_id}", f"CSeq: {cseq} NOTIFY",
                 f"Contact: <sip:notifier@127.0.0.1:{self.port}>", f"Event: {event}",
                 f"Subscription-State: {state}", "Max-Forwards: 70",
                 f"Content-Type: {ctype}", f"Content-Length: {len(data)}", "", ""]
        raw = "\r\n".join(lines).encode() + data
        self.transport.sendto(raw, dialog.contact)
        return raw

    def only_dialog(self) -> SubDialog:
        assert len(self.dialogs) >= 1, "no subscription yet"
        return list(self.dialogs.values())[-1]

    def answers_to(self, method: str) -> list[Answer]:
        return [a for a in self.answers if a["cseq"].endswith(method)]
