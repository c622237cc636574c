"""The web admin account: checking credentials and locking out a source that guesses.

The account is Yealink's: ``static.security.user_name.admin`` (default
``admin``) and ``static.security.user_password = admin:PASSWORD``. There is no
working default password: until the password is set, every check fails and
the web pages say how to set it.

Passwords are compared in constant time (``hmac.compare_digest`` on the UTF-8
bytes) and never logged. After ``MAX_FAILURES`` wrong passwords a source is
locked out for ``LOCKOUT_SECONDS``, as Yealink phones lock their web login.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass, field
from typing import Mapping

from ..core.remote_control import Login
from . import http_digest

MAX_FAILURES = 3
LOCKOUT_SECONDS = 600.0
ACCOUNT_FAILURES = 10           # wrong passwords for the account, from any sources, within
ACCOUNT_LOCKOUT_SECONDS = 300.0  # LOCKOUT_SECONDS: then everyone but known sources waits this
HOW_TO_SET = ("The admin password is not set. Put a line "
              "'static.security.user_password = admin:YOUR-PASSWORD' in a .cfg file "
              "of the config directory (or provision it) and restart the phone.")


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str = field(repr=False)


def admin_account(settings: Mapping[str, object]) -> Credentials | None:
    """The admin user and password, or None while no password is set."""
    user = str(settings.get("static.security.user_name.admin", "admin") or "admin")
    raw = str(settings.get("static.security.user_password", "") or "")
    owner, sep, password = raw.partition(":")
    if not sep or not password:
        return None
    if owner not in (user, "admin"):
        # Yealink's "user:pass" also sets the password of the plain "user"
        # account; only the admin account's password opens these pages.
        return None
    return Credentials(user, password)


def check(settings: Mapping[str, object], given: Credentials) -> bool:
    """True when ``given`` is the admin account. Constant time in the password."""
    account = admin_account(settings)
    if account is None:
        # Still spend the comparison, so "no password set" does not time differently.
        hmac.compare_digest(given.password.encode("utf-8", "surrogateescape"), b"x" * 16)
        return False
    user_ok = hmac.compare_digest(given.user.encode("utf-8", "surrogateescape"),
                                  account.user.encode("utf-8"))
    pass_ok = hmac.compare_digest(given.password.encode("utf-8", "surrogateescape"),
                                  account.password.encode("utf-8"))
    return user_ok and pass_ok


def basic_auth(header: str | None) -> Credentials | None:
    """The credentials of an ``Authorization: Basic ...`` header, or None (absent or not Basic).

    A malformed Basic header is returned as credentials that cannot match, so
    it counts as a wrong password rather than as no password at all.
    """
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return Credentials("", "\x00malformed")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        # RFC 7617 leaves the charset to the client: python-requests, .NET's
        # ISO-8859-1 encoder and btoa() send Latin-1, which decodes any byte.
        text = raw.decode("iso-8859-1")
    user, sep, password = text.partition(":")
    if not sep:
        return Credentials(user, "\x00malformed")
    return Credentials(user, password)


class LoginThrottle:
    """Counts wrong passwords per source and per account; ``now`` from the caller (monotonic s).

    - a source: ``max_failures`` wrong within ``lockout`` seconds locks it for ``lockout``;
    - the account, whatever the sources (OWASP: rotating addresses must not
      guess without limit): ``account_failures`` wrong within ``lockout`` lock
      every source out for ``account_lockout`` seconds, except the few sources
      that logged in right before (``known``: the PBX and the admin's desk keep
      working while someone else guesses);
    - bounded: at most ``max_sources`` locks. A lock is never forgotten early:
      when the table is full of running locks, every source not in it (and not
      known) counts as locked until the table has room again.

    ``locked`` is asked only about requests that carry credentials (the ladder in
    ``core.remote_control``): a lockout stops guessing, never plain requests.
    """

    def __init__(self, max_failures: int = MAX_FAILURES,
                 lockout: float = LOCKOUT_SECONDS, max_sources: int = 4096, *,
                 account_failures: int = ACCOUNT_FAILURES,
                 account_lockout: float = ACCOUNT_LOCKOUT_SECONDS, max_known: int = 64) -> None:
        self.max_failures = max_failures
        self.lockout = lockout
        self.max_sources = max_sources
        self.account_failures, self.account_lockout = account_failures, account_lockout
        self.max_known = max_known
        self._failures: dict[str, list[float]] = {}   # source -> times of recent failures
        self._locked: dict[str, float] = {}           # source -> locked until
        self._account: list[float] = []               # times of recent failures, any source
        self._account_until = float("-inf")
        self._full_until = float("-inf")              # the table was full of running locks
        self._known: dict[str, None] = {}             # sources that logged in right, oldest first

    def locked(self, source: str, now: float) -> bool:
        until = self._locked.get(source)
        if until is not None:
            if now < until:
                return True
            del self._locked[source]
        if source in self._known:
            return False
        return now < self._account_until or now < self._full_until

    def failed(self, source: str, now: float) -> bool:
        """Record a wrong password; True when this one locks the source out."""
        self._account = [t for t in self._account if now - t < self.lockout]
        self._account.append(now)
        if len(self._account) >= self.account_failures:
            self._account.clear()
            self._account_until = now + self.account_lockout
        recent = [t for t in self._failures.get(source, []) if now - t < self.lockout]
        recent.append(now)
        if len(recent) >= self.max_failures:
            self._failures.pop(source, None)
            self._lock(source, now)
            return True
        if source not in self._failures and len(self._failures) >= self.max_sources:
            # Bounded memory against a flood of sources: forget the oldest counter
            # (the account's count still has the failure).
            self._failures.pop(next(iter(self._failures)))
        self._failures[source] = recent
        return False

    def _lock(self, source: str, now: float) -> None:
        if source not in self._locked and len(self._locked) >= self.max_sources:
            for old in [s for s, until in self._locked.items() if until <= now]:
                del self._locked[old]
            if len(self._locked) >= self.max_sources:
                # Full of running locks: none is dropped; sources outside wait with them.
                self._full_until = min(self._locked.values())
                return
        self._locked[source] = now + self.lockout

    def succeeded(self, source: str) -> None:
        self._failures.pop(source, None)
        self._known.pop(source, None)
        self._known[source] = None
        while len(self._known) > self.max_known:
            self._known.pop(next(iter(self._known)))


def header_login(settings: Mapping[str, object], header: str | None, method: str,
                 realm: str) -> Login:
    """What an ``Authorization`` header proves of the admin account: Basic, or Digest
    answered to a challenge of ``realm`` (each place that challenges names its own)."""
    if not header:
        return Login.NONE
    if header[:7].lower() == "digest ":
        account = admin_account(settings)
        if account is None:
            return Login.WRONG
        ok = http_digest.verify(header, method, account.user, account.password, realm)
        return Login.VALID if ok else Login.WRONG
    given = basic_auth(header)
    if given is None:
        return Login.WRONG
    return Login.VALID if check(settings, given) else Login.WRONG
