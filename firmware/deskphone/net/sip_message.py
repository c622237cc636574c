"""Just enough SIP (RFC 3261) to answer an out-of-dialog request over UDP. Pure: no sockets.

``parse_request(datagram)`` reads one datagram. It returns None for what is no
SIP request at all (random bytes, a response, an empty line): a listener must
not answer those, or it becomes a reflector for anyone who can forge a source
address. A request whose start line is right but whose headers are not raises
``SipSyntaxError``; the error carries whatever of the headers a response needs
(``partial``), so the listener can still answer 400.

``response(request, status, source)`` builds the answer: every Via in order
(the top one marked with ``received``/``rport`` as RFC 3261 18.2.1 and RFC 3581
say), From, To (with a tag of ours when the request had none), Call-ID and
CSeq copied, ``Content-Length: 0``. The answer goes back to the address and
port the request came from: that is where a NAT or a proxy such as kamailio or
Asterisk expects it, and the only address a UDP listener can trust to be a
real sender at all.

Accepted leniently, as real senders write them: header names in any case and
in compact form (``v``, ``f``, ``t``, ``i``, ``l``, ``c``, ``o``), folded header
lines, LF instead of CRLF, no Content-Length (over UDP the body is the rest of
the datagram), extra bytes after Content-Length (ignored, RFC 3261 18.3).
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from dataclasses import dataclass, field

from ..errors import DeskphoneError

REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 405: "Method Not Allowed",
    415: "Unsupported Media Type", 489: "Bad Event", 500: "Server Internal Error",
}
COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "l": "content-length",
           "c": "content-type", "o": "event", "m": "contact", "k": "supported", "s": "subject",
           "e": "content-encoding", "u": "allow-events"}
# Copied into every answer, in this order (RFC 3261 8.2.6.2).
ECHOED = (("via", "Via"), ("from", "From"), ("to", "To"), ("call-id", "Call-ID"),
          ("cseq", "CSeq"))
REQUIRED = ("via", "from", "to", "call-id", "cseq")

_TOKEN = r"[A-Za-z0-9.!%*_+`'~-]+"
_REQUEST_LINE = re.compile(rf"^({_TOKEN}) (\S+) (SIP/2\.0)$", re.IGNORECASE)
_HEADER_NAME = re.compile(rf"^{_TOKEN}$")
_TAG = re.compile(r";\s*tag\s*=", re.IGNORECASE)
_BRANCH = re.compile(r";\s*branch\s*=\s*([^;,\s]+)", re.IGNORECASE)
_RPORT_EMPTY = re.compile(r";\s*rport\s*(?=;|$)", re.IGNORECASE)
_SENT_BY = re.compile(r"^\s*SIP\s*/\s*2\.0\s*/\s*[A-Za-z0-9-]+\s+(\[[^\]]*\]|[^\s:;\[\]]+)"
                      r"(?:\s*:\s*([0-9]+))?", re.IGNORECASE)
MAX_HEADERS = 100           # a NOTIFY has about ten; more is an attack on our memory, not SIP


class SipSyntaxError(DeskphoneError, ValueError):
    """A SIP request that cannot be taken as it is; ``partial`` holds what an answer needs."""

    def __init__(self, message: str, partial: "SipRequest") -> None:
        super().__init__(message)
        self.partial = partial


@dataclass
class SipRequest:
    method: str                                   # upper case, as it must be compared
    uri: str
    headers: list[tuple[str, str]] = field(default_factory=list)   # (lower-case full name, value)
    body: bytes = b""
    size: int = 0                                 # bytes of the datagram it came in

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name]

    def get(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    @property
    def vias(self) -> list[str]:
        """Every Via value, top first (values joined by commas in one header are split)."""
        return [v for value in self.all("via") for v in split_commas(value)]

    @property
    def branch(self) -> str:
        top = self.vias[:1]
        m = _BRANCH.search(top[0]) if top else None
        return m.group(1) if m else ""

    @property
    def transaction(self) -> tuple[str, ...] | None:
        """What makes a retransmission the same request: top Via (branch, sent-by), Call-ID, CSeq.

        None when the request lacks one of them (it cannot be told from a retransmission).
        """
        call_id, cseq, vias = self.get("call-id"), self.get("cseq"), self.vias
        if call_id is None or cseq is None or not vias:
            return None
        m = _SENT_BY.match(vias[0])
        sent_by = f"{m.group(1).lower()}:{m.group(2) or ''}" if m else vias[0]
        return (self.branch, sent_by, call_id.strip(),
                " ".join(cseq.split()))


def split_commas(value: str) -> list[str]:
    """A header value split at the commas that separate values (not inside quotes or <>)."""
    parts, start, quoted, angle, escaped = [], 0, False, 0, False
    for i, ch in enumerate(value):
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif not quoted and ch == "<":
            angle += 1
        elif not quoted and ch == ">" and angle:
            angle -= 1
        elif ch == "," and not quoted and not angle:
            parts.append(value[start:i].strip())
            start = i + 1
    parts.append(value[start:].strip())
    return [p for p in parts if p]


def _lines(head: str) -> list[str]:
    return head.replace("\r\n", "\n").split("\n")


def parse_request(datagram: bytes) -> SipRequest | None:
    """The SIP request in one UDP datagram; None if it is none (see the module docstring).

    Raises SipSyntaxError for a request with a valid start line and bad headers or body.
    """
    data = datagram.lstrip(b"\r\n")          # RFC 3261 7.5: ignore CRLFs before the start line
    end = min((i for i in (data.find(b"\r\n\r\n"), data.find(b"\n\n")) if i >= 0), default=-1)
    head_bytes, body = (data, b"") if end < 0 else (
        data[:end], data[end + (4 if data[end:end + 4] == b"\r\n\r\n" else 2):])
    # Undecodable bytes are kept as surrogates, so what is copied back is what was sent.
    head = head_bytes.decode("utf-8", "surrogateescape")
    lines = _lines(head)
    m = _REQUEST_LINE.match(lines[0]) if lines else None
    if m is None:
        return None
    request = SipRequest(m.group(1).upper(), m.group(2), size=len(datagram))
    problem = _read_headers(request, lines[1:])
    if end < 0:
        problem = "no blank line after the headers"      # the body ran into the headers
    if problem is None:
        problem = _check(request)
    if problem is None:
        problem = _take_body(request, body)
    if problem is not None:
        raise SipSyntaxError(problem, request)
    return request


def _read_headers(request: SipRequest, lines: list[str]) -> str | None:
    problem = None
    for line in lines:
        if line[:1] in (" ", "\t"):                  # folded: continues the previous header
            if not request.headers:
                problem = problem or "a folded line before any header"
                continue
            name, value = request.headers[-1]
            request.headers[-1] = (name, f"{value} {line.replace(chr(13), ' ').strip()}")
            continue
        name, colon, value = line.partition(":")
        name = name.strip().lower()
        if not colon or not _HEADER_NAME.match(name):
            problem = problem or f"not a header line: {_show(line)}"
            continue                                 # keep reading: the answer needs Via & co
        if len(request.headers) >= MAX_HEADERS:
            return f"more than {MAX_HEADERS} header lines"
        # A bare CR inside a line would break the line copied into the answer.
        request.headers.append((COMPACT.get(name, name), value.replace("\r", " ").strip()))
    return problem


def sound_headers(request: SipRequest) -> bool:
    """Via, From, To, Call-ID and CSeq all there and well-formed: an answer has an address."""
    return _check(request) is None


def _check(request: SipRequest) -> str | None:
    for name in REQUIRED:
        if not request.all(name):
            return f"no {dict(ECHOED)[name]} header"
    for name in ("from", "to", "call-id", "cseq"):
        if len(request.all(name)) > 1:
            return f"more than one {dict(ECHOED)[name]} header"
    if not (request.get("call-id") or "").strip():
        return "empty Call-ID"
    parts = (request.get("cseq") or "").split()
    if len(parts) != 2 or not (parts[0].isascii() and parts[0].isdigit()) \
            or int(parts[0]) >= 2**31:
        return f"bad CSeq {_show(request.get('cseq') or '')}"
    if parts[1].upper() != request.method:
        return f"CSeq method {_show(parts[1])} is not the request's {request.method}"
    vias = request.vias
    if not vias or _SENT_BY.match(vias[0]) is None:
        return f"bad Via {_show(request.get('via') or '')}"
    return None


def _take_body(request: SipRequest, body: bytes) -> str | None:
    lengths = request.all("content-length")
    if not lengths:
        request.body = body                          # UDP: the rest of the datagram
        return None
    if len(set(v.strip() for v in lengths)) > 1:
        return "Content-Length given twice with different values"
    text = lengths[0].strip()
    if not (text.isascii() and text.isdigit()):
        return f"bad Content-Length {_show(text)}"
    n = int(text)
    if n > len(body):
        return f"Content-Length {n} but only {len(body)} bytes of body"
    request.body = body[:n]
    return None


def _show(text: str) -> str:
    shown = text if len(text) <= 40 else text[:37] + "..."
    return repr(shown.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace"))


def new_tag() -> str:
    return secrets.token_hex(6)


def _top_via(via: str, source: tuple[str, int]) -> str:
    """The top Via as the answer carries it: ``received`` when the sender is not its sent-by
    (RFC 3261 18.2.1), and ``rport`` filled in when asked for (RFC 3581)."""
    host, port = source
    if _RPORT_EMPTY.search(via):
        via = _RPORT_EMPTY.sub(f";rport={port}", via, count=1)
        if not re.search(r";\s*received\s*=", via, re.IGNORECASE):
            via += f";received={host}"
        return via
    m = _SENT_BY.match(via)
    sent_by = m.group(1).strip("[]") if m else ""
    if not _same_host(sent_by, host) and not re.search(r";\s*received\s*=", via, re.IGNORECASE):
        via += f";received={host}"
    return via


def _same_host(sent_by: str, host: str) -> bool:
    try:
        return ipaddress.ip_address(sent_by) == ipaddress.ip_address(host)
    except ValueError:
        return False                                 # a name: it is not an address


def _clean_header_text(text: str) -> str:
    return "".join(ch if ch.isprintable() else " " for ch in text)


def response(request: SipRequest, status: int, source: tuple[str, int], *, tag: str,
             extra: dict[str, str] | None = None, warning: str | None = None,
             server: str = "deskphone") -> bytes:
    """The answer to ``request`` (see the module docstring). ``tag`` goes on To unless it has one.

    ``warning`` becomes ``Warning: 399 deskphone "..."`` (RFC 3261 20.43): the reason, for
    people reading a SIP trace. ``server`` "" leaves the Server line out.
    """
    lines = [f"SIP/2.0 {status} {REASONS.get(status, 'Unknown')}"]
    for i, via in enumerate(request.vias):
        lines.append(f"Via: {_top_via(via, source) if i == 0 else via}")
    for name, title in ECHOED[1:]:
        value = request.get(name)
        if value is None:
            continue
        if name == "to" and not _has_tag(value):
            value = f"{value};tag={tag}"
        lines.append(f"{title}: {value}")
    for name, value in (extra or {}).items():
        lines.append(f"{name}: {value}")
    if warning:
        text = _clean_header_text(warning).replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'Warning: 399 {server.split("/")[0]} "{text}"')
    if server:
        lines.append(f"Server: {server}")
    lines += ["Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode("utf-8", "surrogateescape")


def _has_tag(to_value: str) -> bool:
    # Parameters of the header follow the URI: after the closing '>' of a name-addr,
    # else after the addr-spec (which cannot have ';' parameters of its own there).
    tail = to_value.rsplit(">", 1)[1] if "<" in to_value and ">" in to_value else to_value
    return bool(_TAG.search(tail))
