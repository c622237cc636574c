"""Fetching one provisioning file: http(s) with Basic or Digest, tftp, ftp.

``Fetcher(target).get(name)`` returns the file's bytes, None when the server
does not have it (HTTP 404, TFTP "file not found", FTP 550), and raises
ProvisioningError for everything else (unreachable, timeout, refused
credentials, a redirect, a body larger than ``MAX_FILE`` or shorter than the
length the server announced). Nothing here parses a file.

HTTP authentication is asked for by the server: the first request carries no
credentials, and a 401 names the scheme (Digest with ``qop=auth`` and
``opaque`` as FusionPBX sends it, RFC 7616; or Basic, RFC 7617), so a password
never goes in clear to a server that asked for Digest. Redirects are not
followed: the credentials must not go to another host.

TFTP is RFC 1350 with the ``tsize`` option (RFC 2349) so the length can be
checked; FTP is Python's ftplib on a thread, with a timeout.
"""

from __future__ import annotations

import asyncio
import base64
import ftplib
import hashlib
import os
import re
import socket
import struct
from dataclasses import dataclass, field

import aiohttp
import yarl

from ..errors import DeskphoneError

FETCH_TIMEOUT = 20.0
MAX_FILE = 1024 * 1024          # bytes: a Yealink config is a few dozen KiB at most
TFTP_RETRIES = 5
TFTP_WAIT = 1.0                 # seconds before a TFTP packet is sent again
SCHEMES = ("http", "https", "tftp", "ftp")


class ProvisioningError(DeskphoneError, RuntimeError):
    """Why provisioning changed nothing; the message is one line without credentials."""


@dataclass(frozen=True)
class Target:
    """Where the files are: the base URL without credentials (ending in /) and who we are."""
    base: yarl.URL
    user: str = ""
    password: str = field(default="", repr=False)
    user_agent: str = ""
    verify: bool = True
    keys: str = "static.auto_provision.server.username and .password"   # named on a 401

    @property
    def where(self) -> str:
        return f"{self.base.host}:{self.base.port}"


def target_for(url: str, user: str, password: str, user_agent: str = "",
               verify: bool = True) -> Target:
    """The Target of a server URL; credentials from the settings win over ``user:pass@``."""
    try:
        parsed = yarl.URL(url)
    except (ValueError, TypeError) as exc:
        raise ProvisioningError(f"static.auto_provision.server.url is not a URL ({exc})") from None
    if parsed.scheme not in SCHEMES or not parsed.host:
        raise ProvisioningError("static.auto_provision.server.url must be http://, https://, "
                                "tftp:// or ftp:// with a host")
    if not user and parsed.user:
        user, password = parsed.user, parsed.password or ""
    base = parsed.with_user(None).with_query(None).with_fragment(None)
    if not base.path.endswith("/"):
        base = base.with_path(base.path + "/")
    return Target(base, user, password, user_agent, verify)


def resolve(base: yarl.URL, ref: str) -> yarl.URL:
    """``ref`` (a file name, a path or a whole URL) against ``base``, for every scheme here.

    (urljoin, and so yarl's join, treats tftp:// and ftp:// paths as opaque.)
    """
    if "://" in ref:
        return yarl.URL(ref)
    if ref.startswith("/"):
        return base.with_path(ref)
    return yarl.URL(str(base) + ref)


def basic_auth(user: str, password: str) -> str:
    """The value of an ``Authorization`` header for HTTP basic auth (RFC 7617, UTF-8)."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode("utf-8")).decode("ascii")


_PARAM = re.compile(r'([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')
_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def digest_params(challenge: str) -> dict[str, str] | None:
    """The parameters of a ``Digest`` challenge, or None if ``challenge`` is another scheme."""
    scheme, _, rest = challenge.strip().partition(" ")
    if scheme.lower() != "digest":
        return None
    return {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
            for m in _PARAM.finditer(rest)}


def digest_auth(params: dict[str, str], user: str, password: str, method: str, uri: str,
                cnonce: str | None = None, nc: int = 1) -> str:
    """The ``Authorization: Digest`` answer to ``params`` (RFC 7616; MD5 or SHA-256, qop=auth)."""
    algorithm = params.get("algorithm", "MD5")
    base_alg = algorithm.upper().removesuffix("-SESS")
    if base_alg not in _HASHES:
        raise ProvisioningError(f"the server asks for Digest {algorithm}, which this phone lacks")

    def h(text: str) -> str:
        return _HASHES[base_alg](text.encode("utf-8")).hexdigest()

    realm, nonce = params.get("realm", ""), params.get("nonce", "")
    cnonce = cnonce or os.urandom(8).hex()
    ha1 = h(f"{user}:{realm}:{password}")
    if algorithm.upper().endswith("-SESS"):
        ha1 = h(f"{ha1}:{nonce}:{cnonce}")
    ha2 = h(f"{method}:{uri}")
    qops = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
    fields = [("username", user), ("realm", realm), ("nonce", nonce), ("uri", uri)]
    if "auth" in qops:
        count = f"{nc:08x}"
        response = h(f"{ha1}:{nonce}:{count}:{cnonce}:auth:{ha2}")
        tail = f", qop=auth, nc={count}, cnonce=\"{cnonce}\""
    elif qops:
        raise ProvisioningError(f"the server asks for Digest qop={params['qop']}, "
                                "which this phone lacks")
    else:
        response, tail = h(f"{ha1}:{nonce}:{ha2}"), ""
    fields.append(("response", response))
    if "opaque" in params:
        fields.append(("opaque", params["opaque"]))
    text = ", ".join(f'{k}="{v}"' for k, v in fields)
    return f"Digest {text}, algorithm={algorithm}{tail}"


class Fetcher:
    """Gets files from one Target; one HTTP session for all of them."""

    def __init__(self, target: Target, timeout: float = FETCH_TIMEOUT) -> None:
        self.target = target
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "Fetcher":
        if self.target.base.scheme in ("http", "https"):
            headers = {"User-Agent": self.target.user_agent} if self.target.user_agent else {}
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout), headers=headers)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def get(self, name_or_url: str) -> bytes | None:
        url = resolve(self.target.base, name_or_url)
        scheme = url.scheme
        try:
            if scheme in ("http", "https"):
                return await asyncio.wait_for(self._http(url), self.timeout)
            if scheme == "tftp":
                return await asyncio.wait_for(tftp_get(url), self.timeout)
            if scheme == "ftp":
                return await asyncio.wait_for(asyncio.to_thread(
                    ftp_get, url, self.target.user, self.target.password, self.timeout),
                    self.timeout + 1)
        except TimeoutError:
            raise ProvisioningError(f"{url}: no answer within {self.timeout:.0f} s") from None
        except OSError as exc:
            raise ProvisioningError(f"cannot reach {url.host}:{url.port}: "
                                    f"{exc.strerror or exc}") from None
        raise ProvisioningError(f"{url}: not an http, https, tftp or ftp URL")

    # ------------------------------------------------------------------ http

    async def _http(self, url: yarl.URL) -> bytes | None:
        assert self._session is not None
        t = self.target
        authorization: str | None = None
        for attempt in (1, 2):
            headers = {"Authorization": authorization} if authorization else {}
            try:
                async with self._session.get(url, headers=headers, allow_redirects=False,
                                             ssl=None if t.verify else False) as resp:
                    if resp.status == 401 and attempt == 1 and t.user:
                        authorization = self._answer(resp, url)
                        continue
                    return await self._body(resp, url)
            except aiohttp.ClientConnectorError as exc:
                raise ProvisioningError(f"cannot reach {url.host}:{url.port}: "
                                        f"{exc.os_error.strerror or exc.os_error}") from None
            except aiohttp.ClientPayloadError:
                raise ProvisioningError(f"{url}: the body ended before the length the server "
                                        "announced (nothing applied)") from None
            except aiohttp.ClientError as exc:
                raise ProvisioningError(f"{url}: {exc.__class__.__name__}") from None
        raise AssertionError("unreachable")

    def _answer(self, resp: aiohttp.ClientResponse, url: yarl.URL) -> str:
        challenges = resp.headers.getall("WWW-Authenticate", [])
        for challenge in challenges:
            params = digest_params(challenge)
            if params is not None:
                return digest_auth(params, self.target.user, self.target.password, "GET",
                                   url.raw_path_qs)
        if any(c.strip().lower().startswith("basic") for c in challenges):
            return basic_auth(self.target.user, self.target.password)
        raise ProvisioningError(f"{url}: HTTP 401 without a Basic or Digest challenge")

    async def _body(self, resp: aiohttp.ClientResponse, url: yarl.URL) -> bytes | None:
        if resp.status == 404:
            return None
        if resp.status in (401, 403):
            raise ProvisioningError(f"{url}: HTTP {resp.status} (check {self.target.keys})")
        if 300 <= resp.status < 400:
            raise ProvisioningError(f"{url}: HTTP {resp.status} redirect (not followed: give the "
                                    "final URL in static.auto_provision.server.url)")
        if resp.status != 200:
            raise ProvisioningError(f"{url}: HTTP {resp.status}")
        declared = resp.content_length
        if declared is not None and declared > MAX_FILE:
            raise _too_big(url)
        body = bytearray()
        # Read to the end: a body that comes in several writes is taken whole or not at all.
        while chunk := await resp.content.read(64 * 1024):
            body += chunk
            if len(body) > MAX_FILE:
                raise _too_big(url)
        if declared is not None and len(body) != declared:
            raise ProvisioningError(f"{url}: {len(body)} of the {declared} bytes announced "
                                    "arrived (nothing applied)")
        return bytes(body)


def _too_big(url: yarl.URL) -> ProvisioningError:
    return ProvisioningError(f"{url.name or url}: larger than {MAX_FILE // 1024} KiB")


# ---------------------------------------------------------------------- tftp

_RRQ, _DATA, _ACK, _ERROR, _OACK = 1, 3, 4, 5, 6
_BLOCK = 512


class _TftpProtocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.packets: asyncio.Queue[tuple[bytes, tuple]] = asyncio.Queue(maxsize=64)

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        if not self.packets.full():
            self.packets.put_nowait((data, addr))


async def tftp_get(url: yarl.URL) -> bytes | None:
    """One file over TFTP (octet mode, ``tsize`` asked for); None if the server lacks it."""
    host, port = url.host or "", url.port or 69
    name = url.path.lstrip("/")
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    transport, proto = await loop.create_datagram_endpoint(
        _TftpProtocol, family=infos[0][0], remote_addr=None, local_addr=None)
    try:
        server = infos[0][4]
        request = struct.pack("!H", _RRQ) + b"\0".join(
            [name.encode("utf-8"), b"octet", b"tsize", b"0", b""])
        return await _tftp_transfer(transport, proto, server, request, url)
    finally:
        transport.close()


async def _tftp_transfer(transport: asyncio.DatagramTransport, proto: _TftpProtocol,
                         server: tuple, request: bytes, url: yarl.URL) -> bytes | None:
    last, last_to = request, server
    peer: tuple | None = None            # the server's transfer port (its TID)
    body = bytearray()
    expect = 1
    tsize: int | None = None
    transport.sendto(last, last_to)
    tries = 0
    while True:
        try:
            data, addr = await asyncio.wait_for(proto.packets.get(), TFTP_WAIT)
        except TimeoutError:
            tries += 1
            if tries >= TFTP_RETRIES:
                raise TimeoutError from None
            transport.sendto(last, last_to)
            continue
        if addr[0] != server[0] or (peer is not None and addr[:2] != peer[:2]) or len(data) < 4:
            continue
        peer = addr
        opcode, arg = struct.unpack("!HH", data[:4])
        if opcode == _ERROR:
            if arg == 1:
                return None
            text = data[4:].split(b"\0", 1)[0].decode("utf-8", "replace")[:80]
            raise ProvisioningError(f"{url}: TFTP error {arg} ({text})")
        if opcode == _OACK and expect == 1 and not body:
            options = data[2:].split(b"\0")
            pairs = dict(zip(options[0::2], options[1::2]))
            if b"tsize" in pairs and pairs[b"tsize"].isdigit():
                tsize = int(pairs[b"tsize"])
                if tsize > MAX_FILE:
                    raise _too_big(url)
            last, last_to, tries = struct.pack("!HH", _ACK, 0), addr, 0
            transport.sendto(last, last_to)
            continue
        if opcode != _DATA:
            continue
        if arg == expect:
            body += data[4:]
            if len(body) > MAX_FILE:
                raise _too_big(url)
            expect = (expect + 1) & 0xFFFF
        last, last_to, tries = struct.pack("!HH", _ACK, arg), addr, 0
        transport.sendto(last, last_to)
        if arg == (expect - 1) & 0xFFFF and len(data) - 4 < _BLOCK:
            break
    if tsize is not None and len(body) != tsize:
        raise ProvisioningError(f"{url}: {len(body)} of the {tsize} bytes announced arrived")
    return bytes(body)


# ----------------------------------------------------------------------- ftp

class _TooBig(Exception):
    pass


def ftp_get(url: yarl.URL, user: str, password: str, timeout: float) -> bytes | None:
    """One file over FTP (blocking: run it on a thread); None for a 550 answer."""
    body = bytearray()

    def take(chunk: bytes) -> None:
        body.extend(chunk)
        if len(body) > MAX_FILE:
            raise _TooBig

    try:
        with ftplib.FTP(timeout=timeout) as ftp:
            ftp.connect(url.host or "", url.port or 21)
            ftp.login(user or "anonymous", password or "anonymous@")
            ftp.voidcmd("TYPE I")              # SIZE is refused in ASCII mode (vsftpd)
            path = url.path.lstrip("/")         # RFC 1738: relative to the login directory
            size = None
            try:
                size = ftp.size(path)
            except ftplib.error_perm:
                pass                            # no SIZE here: RETR says whether it exists
            ftp.retrbinary(f"RETR {path}", take)
    except _TooBig:
        raise _too_big(url) from None
    except ftplib.error_perm as exc:
        if str(exc).startswith("550"):
            return None
        code = str(exc)[:3]
        raise ProvisioningError(f"{url.with_user(None)}: FTP {code}") from None
    except ftplib.Error as exc:
        raise ProvisioningError(f"{url.with_user(None)}: FTP {str(exc)[:3]}") from None
    if size is not None and size != len(body):
        raise ProvisioningError(f"{url}: {len(body)} of the {size} bytes announced arrived")
    return bytes(body)
