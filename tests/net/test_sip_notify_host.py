"""The SIP NOTIFY listener against a fake PhoneHost, over a real UDP socket on 127.0.0.1.

No whole phone: a real core and a real settings writer behind ``FakeHost``.
Each NOTIFY's answer (status, Warning) and what it posted to the phone are
checked, for allowed, untrusted, undecided and denied senders.
"""

from __future__ import annotations

import pytest

from deskphone.core import inputs as ins
from deskphone.net.sip_notify import SipNotifyListener
from fake_host import FakeHost
from support.sip_udp import SipPeer, notify

# The sender on the trusted list, digest off (tests/adversarial covers the challenge).
OPEN = {"features.action_uri_limit_ip": "127.0.0.1", "deskphone.sip_notify_auth": False}
ALLOWED = {**OPEN, "deskphone.trust.udp:127.0.0.1": "allow"}
TRUST_CTRL = {**OPEN, "sip.trust_ctrl": True, "account.1.enable": True,
              "account.1.sip_server.1.address": "127.0.0.1"}


@pytest.fixture
async def listen(tmp_path):
    started: list[SipNotifyListener] = []

    async def start(config: dict) -> SipNotifyListener:
        host = FakeHost(tmp_path / f"state{len(started)}", config)
        listener = SipNotifyListener(host, "127.0.0.1", 0)
        assert await listener.start()
        started.append(listener)
        return listener

    yield start
    for listener in started:
        await listener.stop()


@pytest.fixture
async def pbx():
    peer = await SipPeer.open("127.0.0.1")
    yield peer
    peer.close()


@pytest.mark.parametrize("config, body, status, warning, posted", [
    # Allowed once on the prompt, or the prompt is off: done.
    (ALLOWED, "key=DNDOn", 200, None, [ins.SetDnd(True)]),
    ({**OPEN, "features.show_action_uri_option": False}, "key=DNDOn", 200, None,
     [ins.SetDnd(True)]),
    # sip.trust_ctrl and the sender is the account's server (an address: no lookup).
    ({**TRUST_CTRL, **ALLOWED}, "key=DNDOn", 200, None, [ins.SetDnd(True)]),
    # The trusted-IP list applies to NOTIFY too (stricter than Yealink): blank stops all.
    ({**ALLOWED, "features.action_uri_limit_ip": ""}, "key=DNDOn", 403, "not a trusted source",
     []),
    # An "allow" given over HTTP does not open the UDP door.
    ({**OPEN, "deskphone.trust.127.0.0.1": "allow"}, "key=DNDOn", 403,
     "Remote control forbidden", [ins.RemoteControlAsk("udp:127.0.0.1")]),
    # Switched off.
    ({**ALLOWED, "features.action_uri.enable": False}, "key=DNDOn", 403,
     "Action URI is disabled", []),
    # sip.trust_ctrl and the sender is not a server of this phone.
    ({**TRUST_CTRL, **ALLOWED, "account.1.sip_server.1.address": "10.0.0.1"}, "key=DNDOn",
     403, "not a trusted source", []),
    # Denied on the prompt.
    ({**OPEN, "deskphone.trust.udp:127.0.0.1": "deny"}, "key=DNDOn", 403,
     "Remote control forbidden", []),
    # No decision yet: 403, and the phone asks.
    (OPEN, "key=DNDOn", 403, "Remote control forbidden",
     [ins.RemoteControlAsk("udp:127.0.0.1")]),
    # Allowed, but a body the phone does not know: 400, nothing done.
    (ALLOWED, "key=BOGUS", 400, "unknown key value", []),
])
async def test_a_notify_from_each_kind_of_sender(listen, pbx, config, body, status, warning,
                                                 posted):
    listener = await listen(config)
    answer = await pbx.ask(notify(listener.port, body, via_port=pbx.port), listener.port)
    assert answer.status == status
    if warning is None:
        assert answer.all("warning") == []
    else:
        assert warning in answer["warning"]
    host = listener.host
    assert host.posted == posted
    assert host.settings["features.dnd.enable"] is (posted == [ins.SetDnd(True)])
    if posted and isinstance(posted[0], ins.RemoteControlAsk):
        assert host.screen.kind == "prompt"


async def test_a_retransmission_is_answered_again_and_done_once(listen, pbx):
    listener = await listen(ALLOWED)
    raw = notify(listener.port, "key=DNDOn", via_port=pbx.port)
    first = await pbx.ask(raw, listener.port)
    again = await pbx.ask(raw, listener.port)
    assert (first.status, again.raw) == (200, first.raw)
    assert listener.host.posted == [ins.SetDnd(True)]


async def test_allowed_at_the_phone_the_next_notify_acts(listen, pbx):
    listener = await listen(OPEN)
    assert (await pbx.ask(notify(listener.port, via_port=pbx.port), listener.port)).status == 403
    listener.host.press("OK")                   # "Allow" on the prompt
    assert listener.host.store.snapshot()["deskphone.trust.udp:127.0.0.1"] == "allow"
    answer = await pbx.ask(notify(listener.port, "key=DNDOff", via_port=pbx.port), listener.port)
    assert answer.status == 200
    assert listener.host.posted == [ins.RemoteControlAsk("udp:127.0.0.1"), ins.SetDnd(False)]


async def test_the_content_type_is_checked_after_the_decision(listen, pbx):
    undecided = await listen(OPEN)
    answer = await pbx.ask(notify(undecided.port, ctype="application/json", via_port=pbx.port),
                           undecided.port)
    assert answer.status == 403                 # who may comes first: nothing is told
    allowed = await listen(ALLOWED)
    answer = await pbx.ask(notify(allowed.port, ctype="application/json", via_port=pbx.port),
                           allowed.port)
    assert answer.status == 415 and answer["accept"] == "message/sipfrag"
    assert allowed.host.posted == []
