"""The messages of a SIP subscription (RFC 6665): SUBSCRIBE out, responses in. Pure: no sockets.

``parse_response(datagram)`` reads one response (None for anything else);
``subscribe(dialog, ...)`` writes a SUBSCRIBE; ``authorization(challenge, ...)``
answers a 401/407 challenge with the account's credentials (MD5, qop ``auth``
or none; the digest itself is ``net.sip_digest.expected``). The requests a
subscription receives (NOTIFY) are read by ``net.sip_message.parse_request``
and answered by its ``response``.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from . import sip_digest
from .sip_message import SipRequest, _read_headers, split_commas

_STATUS_LINE = re.compile(r"^SIP/2\.0 ([1-6][0-9]{2})(?: (.*))?$", re.IGNORECASE)
_TAG_VALUE = re.compile(r";\s*tag\s*=\s*([^;>\s]+)", re.IGNORECASE)
_URI_IN_ANGLES = re.compile(r"<([^>]*)>")
_EXPIRES_PARAM = re.compile(r";\s*expires\s*=\s*([0-9]{1,10})", re.IGNORECASE)


@dataclass
class SipResponse:
    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)   # (lower-case name, value)
    body: bytes = b""

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name]

    def get(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None


def parse_response(datagram: bytes) -> SipResponse | None:
    """The SIP response in one datagram, or None when it is none (or its headers are bad)."""
    data = datagram.lstrip(b"\r\n")
    end = min((i for i in (data.find(b"\r\n\r\n"), data.find(b"\n\n")) if i >= 0), default=-1)
    if end < 0:
        return None
    head = data[:end].decode("utf-8", "surrogateescape").replace("\r\n", "\n").split("\n")
    m = _STATUS_LINE.match(head[0])
    if m is None:
        return None
    holder = SipRequest("", "")
    if _read_headers(holder, head[1:]) is not None:     # the request reader's header rules
        return None
    sep = 4 if data[end:end + 4] == b"\r\n\r\n" else 2
    return SipResponse(int(m.group(1)), m.group(2) or "", holder.headers, data[end + sep:])


def tag_of(value: str | None) -> str:
    """The ``tag`` parameter of a From/To value ("" when none)."""
    if not value:
        return ""
    tail = value.rsplit(">", 1)[1] if "<" in value and ">" in value else value
    m = _TAG_VALUE.search(tail)
    return m.group(1) if m else ""


def uri_of(value: str | None) -> str:
    """The URI of a name-addr (``"x" <sip:a@b>;p``) or of a bare addr-spec."""
    if not value:
        return ""
    m = _URI_IN_ANGLES.search(value)
    return (m.group(1) if m else value.split(";", 1)[0]).strip()


def expires_of(response_or_state: str | None, default: int) -> int:
    """``Expires: N`` or ``Subscription-State: active;expires=N`` -> N (else ``default``)."""
    text = (response_or_state or "").strip()
    if text.isascii() and text.isdigit() and len(text) <= 10:
        return int(text)
    m = _EXPIRES_PARAM.search(text)
    return int(m.group(1)) if m else default


def param(text: str, name: str) -> str:
    """The value of ``name=value`` among ``;``-separated parameters ("" when absent)."""
    for part in text.split(";"):
        key, _, value = part.partition("=")
        if key.strip() == name:
            return value.strip()
    return ""


@dataclass
class Dialog:
    """One subscription dialog, as the subscriber keeps it."""
    call_id: str
    from_tag: str
    cseq: int = 0
    to_tag: str = ""                 # the notifier's tag, once a 2xx or a NOTIFY named it
    remote_target: str = ""          # the Contact of the notifier (in-dialog Request-URI)
    route: list[str] = field(default_factory=list)   # Record-Route, reversed
    remote_cseq: int = -1            # the last NOTIFY's CSeq (retransmissions, order)

    @classmethod
    def new(cls) -> "Dialog":
        return cls(f"{secrets.token_hex(10)}@deskphone", secrets.token_hex(6))

    def learn(self, to_tag: str, contact: str | None, record_route: list[str]) -> None:
        """What the first 2xx or NOTIFY tells about the notifier (later ones do not change it)."""
        if self.to_tag:
            return
        self.to_tag = to_tag
        if contact:
            self.remote_target = uri_of(contact)
        self.route = [r for value in reversed(record_route)
                      for r in reversed(split_commas(value))]


@dataclass(frozen=True)
class Identity:
    """Who subscribes: the account's address of record and credentials."""
    aor: str                         # sip:user@domain (From, and To of a subscription to oneself)
    auth_name: str
    password: str = field(repr=False)
    display: str = ""


def subscribe(dialog: Dialog, *, target: str, me: Identity, contact: str, local: tuple[str, int],
              event: str, accept: str, expires: int, auth: tuple[str, str] | None = None,
              user_agent: str = "deskphone") -> bytes:
    """The next SUBSCRIBE of ``dialog`` (its CSeq is taken here)."""
    dialog.cseq += 1
    uri = dialog.remote_target or target
    host, port = local
    sent_by = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [f"SUBSCRIBE {uri} SIP/2.0",
             f"Via: SIP/2.0/UDP {sent_by};rport;branch=z9hG4bK{secrets.token_hex(8)}",
             "Max-Forwards: 70"]
    lines += [f"Route: {r}" for r in dialog.route]
    name = f'"{me.display}" ' if me.display else ""
    lines += [f"From: {name}<{me.aor}>;tag={dialog.from_tag}",
              f"To: <{target}>" + (f";tag={dialog.to_tag}" if dialog.to_tag else ""),
              f"Call-ID: {dialog.call_id}", f"CSeq: {dialog.cseq} SUBSCRIBE",
              f"Contact: <{contact}>", f"Event: {event}", f"Accept: {accept}",
              f"Expires: {expires}", "Allow: NOTIFY, SUBSCRIBE",
              f"User-Agent: {user_agent}"]
    if auth is not None:
        lines.append(f"{auth[0]}: {auth[1]}")
    lines += ["Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode("utf-8", "surrogateescape")


class DigestClient:
    """Answers challenges; counts ``nc`` per nonce as RFC 2617 asks."""

    def __init__(self) -> None:
        self._nonce, self._nc = "", 0

    def answer(self, response: SipResponse, *, me: Identity, uri: str,
               method: str = "SUBSCRIBE") -> tuple[str, str] | None:
        """(header name, value) answering the 401/407 ``response``, or None if it cannot."""
        header, answer_name = (("www-authenticate", "Authorization") if response.status == 401
                               else ("proxy-authenticate", "Proxy-Authorization"))
        params = sip_digest.parse_authorization(response.get(header))
        if params is None or params.get("algorithm", "MD5").upper() != "MD5" \
                or "nonce" not in params or not me.password:
            return None
        qops = [q.strip().lower() for q in params.get("qop", "").split(",") if q.strip()]
        if qops and "auth" not in qops:
            return None
        if params["nonce"] != self._nonce:
            self._nonce, self._nc = params["nonce"], 0
        self._nc += 1
        mine = {"username": me.auth_name, "realm": params.get("realm", ""),
                "nonce": params["nonce"], "uri": uri}
        if qops:
            mine.update(qop="auth", nc=f"{self._nc:08x}", cnonce=secrets.token_hex(8))
        digest = sip_digest.expected(mine, method, me.password)
        parts = [f'username="{_quote(me.auth_name)}"', f'realm="{_quote(mine["realm"])}"',
                 f'nonce="{_quote(mine["nonce"])}"', f'uri="{_quote(uri)}"',
                 f'response="{digest}"', "algorithm=MD5"]
        if "opaque" in params:
            parts.append(f'opaque="{_quote(params["opaque"])}"')
        if qops:
            parts += ["qop=auth", f"nc={mine['nc']}", f'cnonce="{mine["cnonce"]}"']
        return answer_name, "Digest " + ", ".join(parts)


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
