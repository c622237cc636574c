"""Digest authentication of an incoming SIP NOTIFY (RFC 3261 22, RFC 2617). Pure: no sockets.

With ``deskphone.sip_notify_auth = 1`` (the default) an Action URI NOTIFY acts
only when its ``Authorization`` header carries a digest of an enabled account's
credentials (``account.N.auth_name``, or ``user_name`` when that is blank, and
``account.N.password``), as Polycom phones challenge requests with
``voIpProt.SIP.requestValidation``. Without one, the answer is 401 with a
``WWW-Authenticate: Digest`` challenge; a PBX answers it the way it answers a
registrar's challenge, with the phone's own account credentials.

Nonces are stateless: ``<time>.<HMAC(secret, time)>``, taken for ``NONCE_SECONDS``
so nothing an outsider sends makes the phone remember anything. A captured
answer can be replayed within that time, by the same host only (the source
check comes first); a replay repeats the same keys, no more.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Mapping

from ..core.accounts import enabled_accounts

REALM = "deskphone"
NONCE_SECONDS = 300.0
_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]+)\s*,?')


class NonceSource:
    """Makes and checks nonces; ``now`` comes from the caller (monotonic seconds)."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def make(self, now: float) -> str:
        stamp = f"{int(now):x}"
        return f"{stamp}.{self._mac(stamp)}"

    def fresh(self, nonce: str, now: float) -> bool:
        stamp, _, mac = nonce.partition(".")
        try:
            made = int(stamp, 16)
        except ValueError:
            return False
        return hmac.compare_digest(mac, self._mac(stamp)) and 0 <= now - made <= NONCE_SECONDS

    def _mac(self, stamp: str) -> str:
        return hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:32]


def challenge(nonce: str) -> str:
    """The ``WWW-Authenticate`` value of a 401."""
    return f'Digest realm="{REALM}", nonce="{nonce}", algorithm=MD5, qop="auth"'


def parse_authorization(value: str | None) -> dict[str, str] | None:
    """The parameters of ``Authorization: Digest ...`` (names in lower case), or None."""
    if not value:
        return None
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest" or len(rest) > 2048:
        return None
    params: dict[str, str] = {}
    for m in _PARAM.finditer(rest):
        raw = m.group(2)
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params.setdefault(m.group(1).lower(), raw)
    return params


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8", "surrogateescape")).hexdigest()


def expected(params: Mapping[str, str], method: str, password: str) -> str:
    """The ``response`` a sender knowing ``password`` computes (MD5, qop auth or none)."""
    ha1 = _md5(f"{params.get('username', '')}:{params.get('realm', '')}:{password}")
    ha2 = _md5(f"{method}:{params.get('uri', '')}")
    if params.get("qop", "").lower() == "auth":
        return _md5(f"{ha1}:{params.get('nonce', '')}:{params.get('nc', '')}:"
                    f"{params.get('cnonce', '')}:auth:{ha2}")
    return _md5(f"{ha1}:{params.get('nonce', '')}:{ha2}")


def verify(settings: Mapping[str, object], params: Mapping[str, str], method: str,
           nonces: NonceSource, now: float) -> bool:
    """True when ``params`` is a digest of an enabled account's credentials on a fresh nonce."""
    if params.get("realm") != REALM or not nonces.fresh(params.get("nonce", ""), now):
        return False
    if params.get("algorithm", "MD5").upper() != "MD5":
        return False
    given = params.get("response", "").lower()
    ok = False
    for acc in enabled_accounts(settings):
        name = acc.auth_name or acc.user_name
        if not acc.password or name != params.get("username"):
            continue
        # Every candidate is compared, so the time does not tell which account matched.
        ok |= hmac.compare_digest(given, expected(params, method, acc.password))
    return ok
