"""Finding a provisioning server when none is configured: the DHCP lease, then SIP PnP.

DHCP (``static.auto_provision.dhcp_option.enable``): the phone does not run a
DHCP client of its own; it reads what the system's client recorded, in this order:

  1. the files in ``deskphone.provisioning.lease_files`` (comma-separated), if any;
  2. NetworkManager (Raspberry Pi OS bookworm): ``nmcli -t -f DHCP4 device show``,
     whose ``DHCP4.OPTION[n]:name = value`` lines name option 66
     ``tftp_server_name`` and 43 ``vendor_encapsulated_options``;
  3. ISC dhclient's lease files (``/var/lib/dhcp/dhclient*.leases``, older
     Debian and Raspberry Pi OS set-ups): ``option tftp-server-name "..."``,
     ``option vendor-encapsulated-options ...``, and option 160 as dhclient names
     it (``v4-captive-portal``, RFC 7710's number) or ``unknown-160``;
  4. dhcpcd's leases (``/var/lib/dhcpcd/*.lease``, Raspberry Pi OS before
     bookworm): the DHCP message itself, read option by option.

Of the options, Yealink's order: 160 (the custom option, a URL), then 66 (a URL,
or a host name meaning a TFTP server), then 43 (a URL as text, or in a
sub-option). The newest lease of each source counts.

SIP PnP (``static.auto_provision.pnp_enable``): a ``SUBSCRIBE`` with ``Event:
ua-profile`` to 224.0.1.75:5060, as Yealink phones send it; a PnP server answers
200 and sends a ``NOTIFY`` whose body is the URL; the phone answers 200 and takes it.
Bounded: a few datagrams, ``PNP_WAIT`` seconds, bodies and answers capped.
"""

from __future__ import annotations

import asyncio
import glob
import ipaddress
import logging
import re
import socket
import subprocess
import uuid
from pathlib import Path
from typing import Iterable, Mapping

from .sip_message import SipSyntaxError, parse_request, response

log = logging.getLogger("deskphone.provisioning")

DHCLIENT_LEASES = ("/var/lib/dhcp/dhclient*.leases", "/var/lib/dhclient/*.lease*")
DHCPCD_LEASES = ("/var/lib/dhcpcd/*.lease", "/var/lib/dhcpcd5/*.lease")
MAX_LEASE = 256 * 1024
NMCLI_TIMEOUT = 3.0
PNP_GROUP = ("224.0.1.75", 5060)
PNP_WAIT = 5.0
PNP_SENDS = 3

# Each option as every client names it.
_NAMES = {
    160: ("v4-captive-portal", "unknown-160", "private_160", "option_160", "160"),
    66: ("tftp-server-name", "tftp_server_name", "66"),
    43: ("vendor-encapsulated-options", "vendor_encapsulated_options", "43"),
}
_ORDER = (160, 66, 43)
_URL = re.compile(r"(https?|tftp|ftp)://[^\s\"']+$", re.I)


def url_from_options(options: Mapping[int, str | bytes]) -> str | None:
    """The server URL the options give, in Yealink's order, or None."""
    for code in _ORDER:
        raw = options.get(code)
        if raw is None:
            continue
        value = _text_of(raw, code)
        if not value:
            continue
        if _URL.match(value):
            return value
        if code == 66 and re.fullmatch(r"[A-Za-z0-9.\-:\[\]]+", value):
            return f"tftp://{value}/"                 # a TFTP server's name or address
    return None


def _text_of(raw: str | bytes, code: int) -> str:
    data = raw if isinstance(raw, bytes) else _dhclient_value(raw)
    text = data.rstrip(b"\0").decode("utf-8", "replace").strip()
    if code == 43 and not _URL.match(text):
        # Encapsulated: sub-option, length, value; the first that is a URL.
        i = 0
        while i + 2 <= len(data):
            sub, n = data[i], data[i + 1]
            value = data[i + 2:i + 2 + n].decode("utf-8", "replace")
            if sub != 0 and _URL.match(value.strip()):
                return value.strip()
            i += 2 + n
    return text


def _dhclient_value(value: str) -> bytes:
    value = value.strip()
    if value.startswith('"') and value.endswith('"') and len(value) >= 2:
        return re.sub(r"\\(.)", r"\1", value[1:-1]).encode("utf-8")
    if re.fullmatch(r"[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2})*", value):
        return bytes(int(b, 16) for b in value.split(":"))
    return value.encode("utf-8")


def _code_of(name: str) -> int | None:
    for code, names in _NAMES.items():
        if name in names:
            return code
    return None


def parse_dhclient(text: str) -> dict[int, str]:
    """The options of the last ``lease { ... }`` of a dhclient lease file."""
    options: dict[int, str] = {}
    for block in re.findall(r"lease\s*\{(.*?)\}", text, re.S)[-1:]:
        for match in re.finditer(r"^\s*option\s+([A-Za-z0-9_-]+)\s+(.*?);\s*$", block, re.M):
            code = _code_of(match.group(1))
            if code is not None:
                options[code] = match.group(2)
    return options


def parse_nmcli(text: str) -> dict[int, str]:
    """Options from ``nmcli -t -f DHCP4 device show`` (``DHCP4.OPTION[3]:name = value``)."""
    options: dict[int, str] = {}
    for match in re.finditer(r"^DHCP4\.OPTION\[\d+\]:\s*([A-Za-z0-9_]+)\s*=\s*(.*)$", text, re.M):
        code = _code_of(match.group(1))
        if code is not None:
            options[code] = '"' + match.group(2).strip().replace('"', '\\"') + '"'
    return options


def parse_dhcp_message(data: bytes) -> dict[int, bytes]:
    """The options of a raw DHCP message (dhcpcd's lease files), RFC 2131 / 2132."""
    options: dict[int, bytes] = {}
    if len(data) < 240 or data[236:240] != b"\x63\x82\x53\x63":
        return options
    i = 240
    while i < len(data):
        code = data[i]
        if code == 255:
            break
        if code == 0:
            i += 1
            continue
        if i + 1 >= len(data):
            break
        n = data[i + 1]
        options[code] = options.get(code, b"") + data[i + 2:i + 2 + n]   # RFC 3396 long options
        i += 2 + n
    return options


def _newest(patterns: Iterable[str]) -> list[Path]:
    found = {Path(p) for pattern in patterns for p in glob.glob(pattern)}
    return sorted((p for p in found if p.is_file()), key=lambda p: p.stat().st_mtime,
                  reverse=True)


def _read(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(MAX_LEASE)


def _from_file(path: Path) -> str | None:
    data = _read(path)
    if data[236:240] == b"\x63\x82\x53\x63":
        return url_from_options(parse_dhcp_message(data))
    return url_from_options(parse_dhclient(data.decode("utf-8", "replace")))


def _from_nmcli() -> str | None:
    try:
        done = subprocess.run(["nmcli", "-t", "-f", "DHCP4", "device", "show"],
                              capture_output=True, text=True, timeout=NMCLI_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return None                    # no NetworkManager here
    return url_from_options(parse_nmcli(done.stdout)) if done.returncode == 0 else None


def dhcp_url(lease_files: Iterable[str] = (), *, system: bool = True) -> str | None:
    """The provisioning URL the DHCP lease gives (blocking: run it on a thread), or None."""
    for path in _newest(f for f in lease_files if f):
        if url := _from_file(path):
            log.info("auto provisioning: %s gives the server", path)
            return url
    if not system:
        return None
    if url := _from_nmcli():
        log.info("auto provisioning: NetworkManager's DHCP lease gives the server")
        return url
    for path in _newest(DHCLIENT_LEASES) + _newest(DHCPCD_LEASES):
        try:
            url = _from_file(path)
        except OSError:
            continue
        if url:
            log.info("auto provisioning: %s gives the server", path)
            return url
    return None


# ------------------------------------------------------------------ SIP PnP


def pnp_subscribe(mac: str, model: str, firmware: str, local: tuple[str, int]) -> bytes:
    """The multicast SUBSCRIBE a Yealink phone sends for its profile (Event: ua-profile)."""
    host, port = local
    tag, call_id = uuid.uuid4().hex[:10], f"{uuid.uuid4().hex}@{host}"
    lines = [
        "SUBSCRIBE sip:MAC%3a" + mac + "@224.0.1.75 SIP/2.0",
        f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK{uuid.uuid4().hex[:16]}",
        "Max-Forwards: 70",
        f"From: <sip:MAC%3a{mac}@224.0.1.75>;tag={tag}",
        f"To: <sip:MAC%3a{mac}@224.0.1.75>",
        f"Call-ID: {call_id}",
        "CSeq: 1 SUBSCRIBE",
        f"Contact: <sip:{host}:{port}>",
        f'Event: ua-profile;profile-type="device";vendor="Yealink";model="{model}";'
        f'version="{firmware}"',
        "Expires: 0",
        "Accept: application/url",
        f"User-Agent: Yealink SIP-{model} {firmware} " + ":".join(
            mac[i:i + 2] for i in range(0, 12, 2)),
        "Content-Length: 0",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class _PnpProtocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.found: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        if self.found.done() or len(data) > 8192:
            return
        try:
            request = parse_request(data)
        except SipSyntaxError:
            return
        if request is None or request.method != "NOTIFY":
            return                      # the 200 to our SUBSCRIBE, or anything else
        event = (request.get("event") or "").split(";", 1)[0].strip().lower()
        if event != "ua-profile":
            return
        url = request.body.decode("utf-8", "replace").strip().splitlines()[:1]
        assert self.transport is not None
        self.transport.sendto(response(request, 200, (addr[0], addr[1]), tag=uuid.uuid4().hex[:10]),
                              addr)
        if url and "://" in url[0] and len(url[0]) <= 1024:
            self.found.set_result(url[0].strip())


async def pnp_url(mac: str, model: str, firmware: str, *, sock: socket.socket | None = None,
                  local_ip: str = "", group: tuple[str, int] = PNP_GROUP,
                  wait: float = PNP_WAIT) -> str | None:
    """Ask for the profile URL by SIP PnP; None when no PnP server answers within ``wait``.

    The SUBSCRIBE leaves from ``local_ip`` (the phone's address) when given, so a phone
    bound to one interface asks on that interface only (127.0.0.1: the loopback one).
    """
    loop = asyncio.get_running_loop()
    if sock is None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((local_ip or "0.0.0.0", 0))
            if local_ip:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                                socket.inet_aton(local_ip))
        except OSError:
            sock.close()
            return None
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    sock.setblocking(False)
    transport, proto = await loop.create_datagram_endpoint(_PnpProtocol, sock=sock)
    try:
        host = _local_address(sock, group)
        message = pnp_subscribe(mac, model, firmware, (host, sock.getsockname()[1]))
        for _ in range(PNP_SENDS):
            try:
                transport.sendto(message, group)
            except OSError as exc:             # no route for multicast from here
                log.info("auto provisioning: SIP PnP not sent (%s)", exc.strerror or exc)
                return None
            try:
                return await asyncio.wait_for(asyncio.shield(proto.found), wait / PNP_SENDS)
            except TimeoutError:
                continue
        return None
    finally:
        transport.close()


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _local_address(sock: socket.socket, group: tuple[str, int]) -> str:
    host = sock.getsockname()[0]
    if host not in ("0.0.0.0", ""):
        return host
    probe = socket.socket(sock.family, socket.SOCK_DGRAM)
    try:
        probe.connect(group)
        return probe.getsockname()[0]
    except OSError:
        return "0.0.0.0"
    finally:
        probe.close()


async def discover(settings: Mapping[str, object], mac: str, *, local_ip: str = "",
                   pnp_socket: socket.socket | None = None, system: bool = True) -> str | None:
    """DHCP lease options, then SIP PnP, as the settings allow; the URL or None."""
    if settings.get("static.auto_provision.dhcp_option.enable", True):
        files = [f.strip() for f in
                 str(settings.get("deskphone.provisioning.lease_files", "") or "").split(",")]
        url = await asyncio.to_thread(dhcp_url, files, system=system)
        if url:
            return url
    if settings.get("static.auto_provision.pnp_enable", True):
        if pnp_socket is None and _is_loopback(local_ip):
            # Bound to loopback (the simulated board, tests): no network to ask on.
            log.info("auto provisioning: SIP PnP skipped, the phone is bound to %s", local_ip)
            return None
        return await pnp_url(mac, str(settings.get("deskphone.provisioning.model", "T46S")),
                             str(settings.get("deskphone.provisioning.firmware", "")),
                             sock=pnp_socket, local_ip=local_ip)
    return None


__all__ = ["dhcp_url", "pnp_url", "discover", "url_from_options", "parse_dhclient",
           "parse_nmcli", "parse_dhcp_message"]
