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

MAX_FAILURES = 3
LOCKOUT_SECONDS = 600.0
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
        text = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return Credentials("", "\x00malformed")
    user, sep, password = text.partition(":")
    if not sep:
        return Credentials(user, "\x00malformed")
    return Credentials(user, password)


class LoginThrottle:
    """Counts wrong passwords per source; ``now`` comes from the caller (monotonic seconds)."""

    def __init__(self, max_failures: int = MAX_FAILURES,
                 lockout: float = LOCKOUT_SECONDS, max_sources: int = 4096) -> None:
        self.max_failures = max_failures
        self.lockout = lockout
        self.max_sources = max_sources
        self._failures: dict[str, list[float]] = {}   # source -> times of recent failures
        self._locked: dict[str, float] = {}           # source -> locked until

    def locked(self, source: str, now: float) -> bool:
        until = self._locked.get(source)
        if until is None:
            return False
        if now >= until:
            del self._locked[source]
            return False
        return True

    def failed(self, source: str, now: float) -> bool:
        """Record a wrong password; True when this one locks the source out."""
        recent = [t for t in self._failures.get(source, []) if now - t < self.lockout]
        recent.append(now)
        if len(recent) >= self.max_failures:
            self._failures.pop(source, None)
            if len(self._locked) >= self.max_sources:
                for old in [s for s, until in self._locked.items() if until <= now]:
                    del self._locked[old]
                if len(self._locked) >= self.max_sources:
                    del self._locked[min(self._locked, key=self._locked.__getitem__)]
            self._locked[source] = now + self.lockout
            return True
        if source not in self._failures and len(self._failures) >= self.max_sources:
            # Bounded memory against a flood of sources: forget the oldest counter.
            self._failures.pop(next(iter(self._failures)))
        self._failures[source] = recent
        return False

    def succeeded(self, source: str) -> None:
        self._failures.pop(source, None)
