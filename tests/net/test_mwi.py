"""net/mwi.py: message-summary bodies (RFC 3842), hostile ones included, and the unsolicited
NOTIFY through the real NOTIFY listener (a real UDP socket, FakeHost's real core)."""

from __future__ import annotations

import pytest

from deskphone.core.voicemail import VoicemailChanged
from deskphone.net import mwi
from deskphone.net.mwi import MwiError, Summary, parse_summary, plans
from deskphone.net.sip_notify import SipNotifyListener
from fake_host import FakeHost
from support.sip_udp import SipPeer, notify

ASTERISK = b"Messages-Waiting: yes\r\nMessage-Account: sip:*97@pbx.test\r\n" \
           b"Voice-Message: 2/8 (1/0)\r\n"


@pytest.mark.parametrize("body, summary", [
    (ASTERISK, Summary(True, "sip:*97@pbx.test", 2, 8, 1, 0)),
    (b"Messages-Waiting: no\r\n", Summary(False)),
    # LF, any case, blanks anywhere, no urgent part.
    (b"messages-waiting:YES\nvoice-message:  3 / 4\n", Summary(True, "", 3, 4)),
    (b"MESSAGES-WAITING : No\n\n\nVOICE-MESSAGE: 0/0 ( 0 / 0 )", Summary(False, "", 0, 0, 0, 0)),
    # RFC 3842's other classes and extra lines are read past.
    (b"Messages-Waiting: yes\r\nFax-Message: 1/0\r\nVoice-Message: 1/0\r\n\r\n"
     b"To: <sip:x@y>\r\nsome free text\r\n", Summary(True, "", 1, 0)),
    # Counts beyond what a screen shows are shown as the most it shows.
    (b"Messages-Waiting: yes\r\nVoice-Message: 999999999/0 (999999999/0)\r\n",
     Summary(True, "", mwi.MAX_COUNT, 0, mwi.MAX_COUNT, 0)),
])
def test_bodies_real_servers_send(body, summary):
    assert parse_summary(body) == summary


@pytest.mark.parametrize("body, why", [
    (b"", "no Messages-Waiting"),
    (b"Voice-Message: 2/8\r\n", "no Messages-Waiting"),
    (b"Messages-Waiting: maybe\r\n", "yes or no"),
    (b"Messages-Waiting: yes\r\nVoice-Message: -1/2\r\n", "new/old"),
    (b"Messages-Waiting: yes\r\nVoice-Message: 1e9/2\r\n", "new/old"),
    (b"Messages-Waiting: yes\r\nVoice-Message: 1234567890123/2\r\n", "new/old"),   # overflow
    (b"Messages-Waiting: yes\r\nVoice-Message: \xd9\xa3/1\r\n", "new/old"),  # Arabic-Indic digit
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b"Messages-Waiting: yes\r\n" + b"x" * 5000, "bytes"),
    (b"Messages-Waiting: yes\r\n" + b"a: b\r\n" * 100, "lines"),
])
def test_hostile_bodies_are_refused(body, why):
    with pytest.raises(MwiError, match=why):
        parse_summary(body)


def test_plans_follow_the_yealink_keys():
    base = {"account.1.enable": True, "account.1.user_name": "1001",
            "account.1.sip_server.1.address": "pbx.test", "account.1.password": "pw"}
    assert plans(base) == {}                                   # subscribe_mwi defaults to 0
    [p] = plans({**base, "account.1.subscribe_mwi": True}).values()
    assert (p.target, p.server, p.expires, p.auth_name) == \
        ("sip:1001@pbx.test", ("pbx.test", 5060), 3600, "1001")
    [p] = plans({**base, "account.1.subscribe_mwi": True, "account.1.subscribe_mwi_to_vm": True,
                 "voice_mail.number.1": "*97", "account.1.subscribe_mwi_expires": 600,
                 "account.1.outbound_proxy_enable": True, "account.1.outbound_host": "sbc.test",
                 "account.1.outbound_port": 5080}).values()
    assert (p.target, p.server, p.expires) == ("sip:*97@pbx.test", ("sbc.test", 5080), 600)
    assert plans({**base, "account.1.subscribe_mwi": True,
                  "account.1.subscribe_mwi_expires": 0}) == {}
    assert plans({**base, "account.1.subscribe_mwi": True, "account.1.enable": False}) == {}


# ------------------------------------------------------------------ unsolicited

SERVER = {"account.1.enable": True, "account.1.user_name": "1001",
          "account.1.sip_server.1.address": "127.0.0.1"}


@pytest.fixture
async def listener(tmp_path):
    made = []

    async def start(config: dict) -> tuple[SipNotifyListener, FakeHost]:
        host = FakeHost(tmp_path / f"s{len(made)}", config)
        lst = SipNotifyListener(host, "127.0.0.1", 0)
        assert await lst.start()
        made.append(lst)
        return lst, host

    yield start
    for lst in made:
        await lst.stop()


def mwi_notify(port: int, body: bytes = ASTERISK, **kw) -> bytes:
    return notify(port, body.decode(), event="message-summary",
                  ctype="application/simple-message-summary", **kw)


async def test_from_the_server_it_reaches_the_core(listener):
    lst, host = await listener(SERVER)
    peer = await SipPeer.open("127.0.0.1")
    try:
        answer = await peer.ask(mwi_notify(lst.port, via_port=peer.port), lst.port)
        assert answer.status == 200
        [posted] = [p for p in host.posted if isinstance(p, VoicemailChanged)]
        assert (posted.account, posted.waiting, posted.new, posted.old) == (1, True, 2, 8)
        assert host.phone.state.voicemail[1].new == 2
        # No digest, no Action URI switch: voicemail is not remote control.
        assert host.settings["deskphone.sip_notify_auth"] is True
    finally:
        peer.close()


@pytest.mark.parametrize("config, body, status", [
    # Not the account's server (127.0.0.2 sends; the server is 127.0.0.1 / 10.0.0.1).
    ({**SERVER, "account.1.sip_server.1.address": "10.0.0.1"}, ASTERISK, 403),
    # No enabled account at all.
    ({}, ASTERISK, 403),
    (SERVER, b"Messages-Waiting: perhaps\r\n", 400),
    (SERVER, b"Messages-Waiting: yes\r\n" + b"Voice-Message: 1/1\r\n" * 300, 400),
])
async def test_refused_notifies_change_nothing(listener, config, body, status):
    lst, host = await listener(config)
    peer = await SipPeer.open("127.0.0.1")
    try:
        answer = await peer.ask(mwi_notify(lst.port, body, via_port=peer.port), lst.port)
        assert answer.status == status
        assert not [p for p in host.posted if isinstance(p, VoicemailChanged)]
        assert host.phone.state.voicemail == {}
    finally:
        peer.close()


async def test_a_stranger_cannot_light_the_lamp(listener):
    lst, host = await listener(SERVER)
    stranger = await SipPeer.open("127.0.0.2")
    try:
        answer = await stranger.ask(mwi_notify(lst.port, via_host="127.0.0.2",
                                               via_port=stranger.port), lst.port)
        assert answer.status == 403 and host.phone.state.voicemail == {}
    finally:
        stranger.close()


async def test_the_account_is_the_one_the_request_names(listener):
    two = {**SERVER, "account.2.enable": True, "account.2.user_name": "1002",
           "account.2.sip_server.1.address": "127.0.0.1"}
    lst, host = await listener(two)
    peer = await SipPeer.open("127.0.0.1")
    try:
        data = mwi_notify(lst.port, via_port=peer.port).replace(
            b"NOTIFY sip:phone@", b"NOTIFY sip:1002@", 1)
        assert (await peer.ask(data, lst.port)).status == 200
        assert list(host.phone.state.voicemail) == [2]
        # Names no account: with two enabled, nobody's.
        assert (await peer.ask(mwi_notify(lst.port, via_port=peer.port), lst.port)).status == 403
    finally:
        peer.close()


# ------------------------------------------------------------------ solicited


async def test_subscriptions_follow_the_settings_and_notifies_reach_the_core(tmp_path):
    from deskphone.net.mwi import MwiSubscriptions
    from support.sip_notifier import Notifier
    from support.waiting import until

    notifier = await Notifier.open()
    on = {**SERVER, "account.1.sip_server.1.port": notifier.port, "account.1.password": "secret",
          "account.1.subscribe_mwi": True}
    host = FakeHost(tmp_path, on)
    subs = MwiSubscriptions(host, "127.0.0.1")
    try:
        await subs.start()
        await until(lambda: subs.states().get(1) == "active", what=lambda: str(subs.states()))
        assert notifier.subscribes[-1].start == f"SUBSCRIBE sip:1001@127.0.0.1:{notifier.port} " \
                                                "SIP/2.0"
        dialog = notifier.only_dialog()
        notifier.notify(dialog, ASTERISK.decode())
        await until(lambda: 1 in host.phone.state.voicemail)
        assert host.phone.state.voicemail[1].new == 2
        # A body that is no message summary: answered (the dialog is fine), nothing changes.
        notifier.notify(dialog, "Messages-Waiting: perhaps\r\n")
        await until(lambda: len(notifier.answers_to("NOTIFY")) == 2)
        assert notifier.answers_to("NOTIFY")[1].status == 200
        assert len([p for p in host.posted if isinstance(p, VoicemailChanged)]) == 1
        # Switched off: unsubscribed (Expires: 0), no subscription left.
        n = len(notifier.subscribes)
        subs.settings_changed({**on, "account.1.subscribe_mwi": False})
        await until(lambda: not subs.subscriptions and len(notifier.subscribes) > n)
        assert notifier.subscribes[n].expires == 0
        # On again, with another expiry: a new dialog.
        subs.settings_changed({**on, "account.1.subscribe_mwi_expires": 120})
        await until(lambda: subs.states().get(1) == "active")
        assert notifier.subscribes[-1].expires == 120 and len(notifier.dialogs) == 2
    finally:
        await subs.stop()
        notifier.close()
    assert subs.subscriptions == {}
