"""core.remote_control.decide: the one ladder HTTP and SIP NOTIFY share, table-driven."""

from __future__ import annotations

import pytest

from deskphone.config.settings import Settings
from deskphone.core.remote_control import (Action, Decision, Login, RemoteRequest, Source,
                                           Transport, Why, decide)

HTTP, SIP = Transport.HTTP, Transport.SIP
PEER = "10.0.0.1"
TRUSTED = {"features.action_uri_limit_ip": PEER}
ALLOW = {f"deskphone.trust.{PEER}": "allow"}
DENY = {f"deskphone.trust.{PEER}": "deny"}
NO_PROMPT = {"features.show_action_uri_option": False}
OFF = {"features.action_uri.enable": False}
AUTH = {"deskphone.action_uri_require_auth": True}
TRUST_CTRL = {"sip.trust_ctrl": True, "account.1.enable": True,
              "account.1.sip_server.1.address": PEER}

NONE = RemoteRequest(admin_password_set=True)
VALID = RemoteRequest(Login.VALID, admin_password_set=True)
WRONG = RemoteRequest(Login.WRONG, admin_password_set=True)
LOCKED_VALID = RemoteRequest(Login.VALID, locked_out=True, admin_password_set=True)
NO_ADMIN = RemoteRequest()


def act(accepted: bool = False) -> Decision:
    return Decision(Action.ACT, None, PEER, accepted)


def refuse(why: Why, source: str | None = PEER, accepted: bool = False) -> Decision:
    return Decision(Action.REFUSE, why, source, accepted)


ASK = Decision(Action.ASK, Why.UNDECIDED, PEER)


UDP_PEER = f"udp:{PEER}"
UDP_ALLOW = {f"deskphone.trust.{UDP_PEER}": "allow"}
UDP_DENY = {f"deskphone.trust.{UDP_PEER}": "deny"}
NO_DIGEST = {"deskphone.sip_notify_auth": False}
SIP_OPEN = {**TRUSTED, **NO_DIGEST}
LOCKED_NONE = RemoteRequest(Login.NONE, locked_out=True, admin_password_set=True)


def sip_act(accepted: bool = False) -> Decision:
    return Decision(Action.ACT, None, UDP_PEER, accepted)


SIP_ASK = Decision(Action.ASK, Why.UNDECIDED, UDP_PEER)


@pytest.mark.parametrize("transport, settings, peer, servers, request_, decision", [
    # Rung 1: switched off, for both doors and before anything else.
    (HTTP, {**OFF, **TRUSTED, **ALLOW}, PEER, (), VALID, refuse(Why.DISABLED, None)),
    (SIP, {**OFF, **SIP_OPEN, **UDP_ALLOW}, PEER, (), NONE, refuse(Why.DISABLED, None)),
    # Rung 2: the trusted list, for both doors; a bad or missing peer is never trusted.
    (HTTP, {}, PEER, (), VALID, refuse(Why.UNTRUSTED, None)),
    (HTTP, {**TRUSTED, **ALLOW}, "10.0.0.2", (), VALID, refuse(Why.UNTRUSTED, None)),
    (HTTP, {**TRUSTED, **ALLOW}, None, (), VALID, refuse(Why.UNTRUSTED, None)),
    # ... an untrusted source is refused as untrusted even with wrong credentials or locked out.
    (HTTP, {**AUTH}, PEER, (), WRONG, refuse(Why.UNTRUSTED, None)),
    (HTTP, {}, PEER, (), LOCKED_VALID, refuse(Why.UNTRUSTED, None)),
    (SIP, {**NO_DIGEST, **NO_PROMPT}, PEER, (), NONE, refuse(Why.UNTRUSTED, None)),
    (SIP, {**SIP_OPEN, **NO_PROMPT}, PEER, (), NONE, sip_act()),
    (SIP, {**SIP_OPEN, **TRUST_CTRL, **NO_PROMPT}, PEER, (PEER,), NONE, sip_act()),
    (SIP, {**SIP_OPEN, **TRUST_CTRL, **NO_PROMPT}, PEER, ("10.0.0.9",), NONE,
     refuse(Why.UNTRUSTED, None)),
    (SIP, {**SIP_OPEN, **TRUST_CTRL, **UDP_ALLOW}, PEER, (), NONE, refuse(Why.UNTRUSTED, None)),
    # Rung 3: locked out (with credentials), wrong, required and missing.
    (HTTP, {**TRUSTED, **ALLOW}, PEER, (), LOCKED_VALID, refuse(Why.LOCKED_OUT)),
    (HTTP, {**TRUSTED, **ALLOW}, PEER, (), WRONG, refuse(Why.WRONG_CREDENTIALS)),
    (HTTP, {**TRUSTED, **ALLOW, **AUTH}, PEER, (), NONE, refuse(Why.CREDENTIALS_REQUIRED)),
    (HTTP, {**TRUSTED, **ALLOW, **AUTH}, PEER, (), NO_ADMIN, refuse(Why.NO_ADMIN_PASSWORD)),
    (HTTP, {**TRUSTED, **ALLOW, **AUTH}, PEER, (), VALID, act(accepted=True)),
    (HTTP, {**TRUSTED, **ALLOW}, PEER, (), VALID, act(accepted=True)),
    (HTTP, {**TRUSTED, **ALLOW}, PEER, (), NONE, act()),
    # ... a request without credentials guesses nothing: a lockout does not refuse it.
    (HTTP, {**TRUSTED, **ALLOW}, PEER, (), LOCKED_NONE, act()),
    # ... SIP: a digest of an account's credentials unless deskphone.sip_notify_auth = 0.
    (SIP, {**TRUSTED, **UDP_ALLOW}, PEER, (), NONE, refuse(Why.DIGEST_REQUIRED, UDP_PEER)),
    (SIP, {**TRUSTED, **UDP_ALLOW}, PEER, (), WRONG, refuse(Why.DIGEST_REQUIRED, UDP_PEER)),
    (SIP, {**TRUSTED, **UDP_ALLOW}, PEER, (), VALID, sip_act(accepted=True)),
    (SIP, {**SIP_OPEN, **UDP_ALLOW, **AUTH}, PEER, (), WRONG, sip_act()),
    # Rung 4: denied on the prompt, after the credentials (which were right: cleared).
    (HTTP, {**TRUSTED, **DENY}, PEER, (), VALID, refuse(Why.DENIED, accepted=True)),
    (HTTP, {**TRUSTED, **DENY}, PEER, (), WRONG, refuse(Why.WRONG_CREDENTIALS)),
    (HTTP, {**TRUSTED, **DENY, **NO_PROMPT}, PEER, (), NONE, refuse(Why.DENIED)),
    (SIP, {**SIP_OPEN, **UDP_DENY}, PEER, (), NONE, refuse(Why.DENIED, UDP_PEER)),
    # Rung 5: no decision yet, prompt on: ask.
    (HTTP, {**TRUSTED}, PEER, (), NONE, ASK),
    (HTTP, {**TRUSTED}, PEER, (), VALID, Decision(Action.ASK, Why.UNDECIDED, PEER, True)),
    (HTTP, {**TRUSTED, **AUTH}, PEER, (), NONE, refuse(Why.CREDENTIALS_REQUIRED)),
    (SIP, {**SIP_OPEN}, PEER, (), NONE, SIP_ASK),
    (SIP, {**SIP_OPEN, **TRUST_CTRL}, PEER, (PEER,), NONE, SIP_ASK),
    # ... an "allow" given over HTTP does not answer for UDP.
    (SIP, {**SIP_OPEN, **ALLOW}, PEER, (), NONE, SIP_ASK),
    # Rung 6: the prompt off, or allowed once.
    (HTTP, {**TRUSTED, **NO_PROMPT}, PEER, (), NONE, act()),
    (SIP, {**SIP_OPEN, **UDP_ALLOW}, PEER, (), NONE, sip_act()),
    # The source is named as remembered: an IPv4-mapped peer is its IPv4 host.
    (HTTP, {**TRUSTED, **ALLOW}, f"::ffff:{PEER}", (), NONE, act()),
    (SIP, {**SIP_OPEN, **UDP_ALLOW}, f"::ffff:{PEER}", (), NONE, sip_act()),
])
def test_decide(transport, settings, peer, servers, request_, decision):
    s = Settings.defaults().with_overrides(settings)
    assert decide(Source(transport, peer, frozenset(servers)), request_, s) == decision


@pytest.mark.parametrize("transport", [HTTP, SIP])
def test_only_act_lets_anything_happen(transport):
    """Every refusal but ASK says why; ASK alone carries a source to ask about."""
    s = Settings.defaults().with_overrides({**SIP_OPEN})
    asked = decide(Source(transport, PEER), NONE, s)
    assert asked.action is Action.ASK and asked.source == Source(transport, PEER).id
    refused = decide(Source(transport, PEER), NONE, s.with_overrides(OFF))
    assert refused.action is Action.REFUSE and refused.why is Why.DISABLED


def test_source_id():
    assert Source(HTTP, "::ffff:192.0.2.1").id == "192.0.2.1"
    assert Source(SIP, "x").id is None
    assert Source(SIP, "::ffff:192.0.2.1").id == "udp:192.0.2.1"
