"""One decision for every remote-control request, whichever door it came through.

The HTTP servlet and the SIP NOTIFY listener used to climb the same ladder
each in its own words (disabled, untrusted, credentials, denied, ask). Here it
is climbed once: ``decide(source, request, settings)`` says what to do, and the
doors only turn the ``Decision`` into an HTTP or a SIP answer.

Pure: the doors measure what needs I/O or a clock (the peer address from the
socket, the addresses the SIP servers resolve to, whether the source is locked
out, whether the credentials were right) and pass the facts in.

The ladder, each rung answering before the next is looked at:

  1. ``features.action_uri.enable = 0``                           -> refuse: DISABLED
  2. peer not on ``features.action_uri_limit_ip`` (HTTP and SIP alike);
     SIP: with ``sip.trust_ctrl = 1`` not one of the SIP servers    -> refuse: UNTRUSTED
  3. HTTP: locked out (credentials given), credentials wrong, or required and missing
     SIP: ``deskphone.sip_notify_auth = 1`` (the default) and no valid digest
     of an account's credentials                                   -> refuse: the reason
  4. the user denied this source on the prompt                     -> refuse: DENIED
  5. no decision about the source yet (and the prompt is on)       -> ask the user
  6. otherwise                                                     -> act

A request that carries no credentials is never refused as locked out: a
lockout stops guessing, and a request without credentials guesses nothing (one
bad actor behind a PBX's NAT must not lock the PBX's plain key presses out).

The decision is a function of (transport, source, request) only: a SIP edge
that knows the real transport of a NOTIFY can hand it in unchanged. The
remembered decisions of the two transports are apart (``core.trust``): an
address proven by TCP says nothing about a UDP datagram claiming it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Mapping

from .trust import Verdict, remote_control, sip_remote_control, source_id, udp_source_id


class Transport(enum.Enum):
    HTTP = "http"       # the Action URI servlet
    SIP = "sip"         # Action URI SIP NOTIFY


class Login(enum.Enum):
    NONE = "none"       # the request carried no credentials
    VALID = "valid"     # the admin account's
    WRONG = "wrong"     # some, not the admin account's (or malformed)


@dataclass(frozen=True)
class Source:
    """Who asks: the door and the peer address as the socket reports it."""
    transport: Transport
    peer: str | None
    # SIP with sip.trust_ctrl: the addresses the accounts' SIP servers resolve to now.
    servers: frozenset[str] = field(default_factory=frozenset)

    @property
    def id(self) -> str | None:
        """The name the source is remembered by (``deskphone.trust.<id>``): the address for
        HTTP, ``udp:<address>`` for SIP."""
        if self.transport is Transport.SIP:
            return udp_source_id(self.peer)
        return source_id(self.peer)


@dataclass(frozen=True)
class RemoteRequest:
    """What the request brought that the ladder reads (a NOTIFY: its digest ``login`` only)."""
    login: Login = Login.NONE
    locked_out: bool = False            # too many wrong passwords from this source lately
    admin_password_set: bool = False    # static.security.user_password holds one


class Action(enum.Enum):
    ACT = "act"         # do what was asked
    ASK = "ask"         # refuse now, and put "Allow Remote Control?" on the screen
    REFUSE = "refuse"   # refuse; nothing happens


class Why(enum.Enum):
    DISABLED = "disabled"
    UNTRUSTED = "untrusted"
    LOCKED_OUT = "locked out"
    NO_ADMIN_PASSWORD = "credentials required, no admin password set"
    CREDENTIALS_REQUIRED = "credentials required"
    WRONG_CREDENTIALS = "wrong credentials"
    DIGEST_REQUIRED = "digest credentials required"    # SIP: answer 401 with a challenge
    DENIED = "denied"
    UNDECIDED = "undecided"         # the user has not said yet (with ASK)


@dataclass(frozen=True)
class Decision:
    action: Action
    why: Why | None = None
    source: str | None = None       # the source's id once it is a source that may ask
    # The credentials were checked and right: the door clears the source's count of failures.
    credentials_accepted: bool = False


def decide(source: Source, request: RemoteRequest,
           settings: Mapping[str, object]) -> Decision:
    """What to do with a remote-control request from ``source`` (see the ladder above)."""
    if source.transport is Transport.HTTP:
        verdict = remote_control(settings, source.peer)
    else:
        verdict = sip_remote_control(settings, source.peer, source.servers)
    if verdict is Verdict.DISABLED:
        return Decision(Action.REFUSE, Why.DISABLED)
    if verdict is Verdict.UNTRUSTED:
        return Decision(Action.REFUSE, Why.UNTRUSTED)
    sid = source.id
    accepted = False
    if source.transport is Transport.HTTP:
        refused = _login_refusal(request, settings)
        if refused is not None:
            return Decision(Action.REFUSE, refused, sid)
        accepted = request.login is Login.VALID
    elif settings.get("deskphone.sip_notify_auth", True):
        if request.login is not Login.VALID:
            return Decision(Action.REFUSE, Why.DIGEST_REQUIRED, sid)
        accepted = True
    if verdict is Verdict.DENIED:
        return Decision(Action.REFUSE, Why.DENIED, sid, accepted)
    if verdict is Verdict.ASK:
        return Decision(Action.ASK, Why.UNDECIDED, sid, accepted)
    return Decision(Action.ACT, None, sid, accepted)


def _login_refusal(request: RemoteRequest, settings: Mapping[str, object]) -> Why | None:
    if request.locked_out and request.login is not Login.NONE:
        return Why.LOCKED_OUT       # even the right password waits out the lockout
    if request.login is Login.WRONG:
        return Why.WRONG_CREDENTIALS
    if request.login is Login.NONE and settings.get("deskphone.action_uri_require_auth", False):
        return Why.CREDENTIALS_REQUIRED if request.admin_password_set else Why.NO_ADMIN_PASSWORD
    return None
