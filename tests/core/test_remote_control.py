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


@pytest.mark.parametrize("transport, settings, peer, servers, request_, decision", [
    # Rung 1: switched off, for both doors and before anything else.
    (HTTP, {**OFF, **TRUSTED, **ALLOW}, PEER, (), VALID, refuse(Why.DISABLED, None)),
    (SIP, {**OFF, **ALLOW}, PEER, (), NONE, refuse(Why.DISABLED, None)),
    # Rung 2: HTTP reads the trusted list; a bad or missing peer is never trusted.
    (HTTP, {}, PEER, (), VALID, refuse(Why.UNTRUSTED, None)),
    (HTTP, {**TRUSTED, **ALLOW}, "10.0.0.2", (), VALID, refuse(Why.UNTRUSTED, None)),
    (HTTP, {**TRUSTED, **ALLOW}, None, (), VALID, refuse(Why.UNTRUSTED, None)),
    # ... an untrusted source is refused as untrusted even with wrong credentials or locked out.
    (HTTP, {**AUTH}, PEER, (), WRONG, refuse(Why.UNTRUSTED, None)),
    (HTTP, {}, PEER, (), LOCKED_VALID, refuse(Why.UNTRUSTED, None)),
    # SIP reads no trusted list, only sip.trust_ctrl's servers.
    (SIP, {**NO_PROMPT}, PEER, (), NONE, act()),
    (SIP, {**TRUST_CTRL, **NO_PROMPT}, PEER, (PEER,), NONE, act()),
    (SIP, {**TRUST_CTRL, **NO_PROMPT}, PEER, ("10.0.0.9",), NONE, refuse(Why.UNTRUSTED, None)),
    (SIP, {**TRUST_CTRL, **ALLOW}, PEER, (), NONE, refuse(Why.UNTRUSTED, None)),
    # Rung 3, HTTP only: locked out, wrong, required and missing.
    (HTTP, {**TRUSTED, **ALLOW}, PEER, (), LOCKED_VALID, refuse(Why.LOCKED_OUT)),
    (HTTP, {**TRUSTED, **ALLOW}, PEER, (), WRONG, refuse(Why.WRONG_CREDENTIALS)),
    (HTTP, {**TRUSTED, **ALLOW, **AUTH}, PEER, (), NONE, refuse(Why.CREDENTIALS_REQUIRED)),
    (HTTP, {**TRUSTED, **ALLOW, **AUTH}, PEER, (), NO_ADMIN, refuse(Why.NO_ADMIN_PASSWORD)),
    (HTTP, {**TRUSTED, **ALLOW, **AUTH}, PEER, (), VALID, act(accepted=True)),
    (HTTP, {**TRUSTED, **ALLOW}, PEER, (), VALID, act(accepted=True)),
    (HTTP, {**TRUSTED, **ALLOW}, PEER, (), NONE, act()),
    # ... a NOTIFY carries none: what the request says of credentials does not count.
    (SIP, {**ALLOW, **AUTH}, PEER, (), WRONG, act()),
    (SIP, {**ALLOW}, PEER, (), LOCKED_VALID, act()),
    # Rung 4: denied on the prompt, after the credentials (which were right: cleared).
    (HTTP, {**TRUSTED, **DENY}, PEER, (), VALID, refuse(Why.DENIED, accepted=True)),
    (HTTP, {**TRUSTED, **DENY}, PEER, (), WRONG, refuse(Why.WRONG_CREDENTIALS)),
    (HTTP, {**TRUSTED, **DENY, **NO_PROMPT}, PEER, (), NONE, refuse(Why.DENIED)),
    (SIP, {**DENY}, PEER, (), NONE, refuse(Why.DENIED)),
    # Rung 5: no decision yet, prompt on: ask.
    (HTTP, {**TRUSTED}, PEER, (), NONE, ASK),
    (HTTP, {**TRUSTED}, PEER, (), VALID, Decision(Action.ASK, Why.UNDECIDED, PEER, True)),
    (HTTP, {**TRUSTED, **AUTH}, PEER, (), NONE, refuse(Why.CREDENTIALS_REQUIRED)),
    (SIP, {}, PEER, (), NONE, ASK),
    (SIP, {**TRUST_CTRL}, PEER, (PEER,), NONE, ASK),
    # Rung 6: the prompt off, or allowed once.
    (HTTP, {**TRUSTED, **NO_PROMPT}, PEER, (), NONE, act()),
    (SIP, {**ALLOW}, PEER, (), NONE, act()),
    # The source is named as remembered: an IPv4-mapped peer is its IPv4 host.
    (HTTP, {**TRUSTED, **ALLOW}, f"::ffff:{PEER}", (), NONE, act()),
    (SIP, {**ALLOW}, f"::ffff:{PEER}", (), NONE, act()),
])
def test_decide(transport, settings, peer, servers, request_, decision):
    s = Settings.defaults().with_overrides(settings)
    assert decide(Source(transport, peer, frozenset(servers)), request_, s) == decision


@pytest.mark.parametrize("transport", [HTTP, SIP])
def test_only_act_lets_anything_happen(transport):
    """Every refusal but ASK says why; ASK alone carries a source to ask about."""
    s = Settings.defaults().with_overrides({**TRUSTED})
    asked = decide(Source(transport, PEER), NONE, s)
    assert asked.action is Action.ASK and asked.source == PEER
    refused = decide(Source(transport, PEER), NONE, s.with_overrides(OFF))
    assert refused.action is Action.REFUSE and refused.why is Why.DISABLED


def test_source_id():
    assert Source(HTTP, "::ffff:192.0.2.1").id == "192.0.2.1"
    assert Source(SIP, "x").id is None
