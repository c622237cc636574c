"""HTTP Digest authentication, the server side (RFC 7616: MD5 or SHA-256, qop=auth).

Some XML push servers authenticate with Digest only. The nonce is the time it
was made and a keyed hash of it (no table of nonces to grow): a nonce older
than ``NONCE_SECONDS`` or not made by this process is refused, and the client
asks again after the 401 that carries a fresh ``challenge``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from typing import Callable

NONCE_SECONDS = 300
_KEY = os.urandom(32)
_HASHES: dict[str, Callable[[bytes], "hashlib._Hash"]] = {
    "MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def _nonce(at: int) -> str:
    mac = hmac.new(_KEY, str(at).encode(), hashlib.sha256).hexdigest()[:32]
    return f"{at:x}.{mac}"


def challenge(realm: str, clock: Callable[[], float] = time.time) -> str:
    """The WWW-Authenticate value of a 401."""
    return f'Digest realm="{realm}", qop="auth", algorithm=MD5, nonce="{_nonce(int(clock()))}"'


def fields(header: str) -> dict[str, str]:
    """The name=value pairs of a Digest Authorization header (quoted values unquoted)."""
    out: dict[str, str] = {}
    rest = header.partition(" ")[2]
    while rest:
        name, eq, rest = rest.strip().partition("=")
        if not eq:
            break
        if rest.startswith('"'):
            value, _, rest = rest[1:].partition('"')
        else:
            value, _, rest = rest.partition(",")
        out[name.strip().lower()] = value
        rest = rest.lstrip().removeprefix(",")
    return out


def verify(header: str, method: str, user: str, password: str, realm: str,
           clock: Callable[[], float] = time.time) -> bool:
    f = fields(header)
    algorithm = f.get("algorithm", "MD5").upper()
    digest = _HASHES.get(algorithm)
    nonce = f.get("nonce", "")
    stamp, _, _ = nonce.partition(".")
    try:
        at = int(stamp, 16)
    except ValueError:
        return False
    if digest is None or not hmac.compare_digest(nonce, _nonce(at)) \
            or not 0 <= clock() - at <= NONCE_SECONDS or f.get("realm") != realm:
        return False

    def h(text: str) -> str:
        return digest(text.encode("utf-8")).hexdigest()

    ha1 = h(f"{user}:{realm}:{password}")
    ha2 = h(f"{method}:{f.get('uri', '')}")
    if f.get("qop") == "auth":
        expected = h(f"{ha1}:{nonce}:{f.get('nc', '')}:{f.get('cnonce', '')}:auth:{ha2}")
    else:
        expected = h(f"{ha1}:{nonce}:{ha2}")
    user_ok = hmac.compare_digest(f.get("username", "").encode(), user.encode())
    return hmac.compare_digest(f.get("response", "").encode(), expected.encode()) and user_ok
