"""Voicemail on the whole phone: real baresip behind its real kamailio edge, a real kamailio PBX.

The PBX is the lab's registrar with kamailio's own ``presence`` + ``presence_mwi``
(tests/support/kamailio-mwi.cfg): it challenges the phone's SUBSCRIBE to
message-summary, and NOTIFYs what a voicemail server PUBLISHes (this test
PUBLISHes, from a UDP socket of its own). Unsolicited NOTIFYs go from the
registrar to the contact the phone registered (``kamcmd tm.t_uac_wait_block``),
as Asterisk's and kamailio's do. Carol (a baresip far end answering by herself)
stands for the voicemail box that MSG calls.
"""

from __future__ import annotations

import base64
import secrets
import time
from pathlib import Path

import aiohttp
import pytest

from deskphone.core import inputs as ins
from support.sip_lab import (kamailio_module_dir, lab_missing, notify_contact,
                             registered_contacts, start_lab, start_sip_phone)
from support.sip_lab_fixtures import carol, running_lab, stop_and_check  # noqa: F401
from support.sip_udp import SipPeer
from support.waiting import until

MWI_CFG = Path(__file__).resolve().parent.parent / "support" / "kamailio-mwi.cfg"
PASSWORD = "Vm-pass-7"
ADMIN = f"static.security.user_password = admin:{PASSWORD}\n"
BASIC = {"Authorization": "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()}
SUMMARY = "application/simple-message-summary"
YES = "Messages-Waiting: yes\r\nMessage-Account: sip:203@127.0.0.1\r\nVoice-Message: 2/8 (1/0)\r\n"
NO = "Messages-Waiting: no\r\nMessage-Account: sip:203@127.0.0.1\r\nVoice-Message: 0/10 (0/0)\r\n"


def mwi_missing() -> str | None:
    why = lab_missing()
    if why is None and not Path(f"{kamailio_module_dir()}/presence_mwi.so").exists():
        why = "kamailio's presence_mwi is not installed (make test installs " \
              "kamailio-presence-modules)"
    return why


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    yield from running_lab(tmp_path_factory, (("Carol", "203", "auto"),), mwi_missing,
                           lambda root, far_ends: start_lab(root, far_ends, MWI_CFG), "mwilab")


@pytest.fixture
async def phone(lab, tmp_path, receiver):
    started = []

    async def start(extra: str = "", name: str = "p"):
        user = lab.next_user()
        app = await start_sip_phone(tmp_path / name, receiver.base, lab, user,
                                    extra=ADMIN + extra)
        app.sip_user = user
        started.append(app)
        await until(lambda: app.registrations.get(1) == "registered", timeout=15,
                    what=lambda: f"registration: {dict(app.registrations)}")
        return app

    yield start
    for app in started:
        await stop_and_check(app)


def lamp(app) -> str:
    return app.leds.state.get("mwi", "off")


def count_line(app) -> str:
    return app.screen.lines[2]


async def publish(lab, user: str, body: str, etag: str | None = None) -> str:
    """A voicemail server's PUBLISH of ``user``'s mailbox to the presence server; its SIP-ETag."""
    peer = await SipPeer.open()
    try:
        data = body.encode()
        lines = [f"PUBLISH sip:{user}@127.0.0.1:{lab.port} SIP/2.0",
                 f"Via: SIP/2.0/UDP 127.0.0.1:{peer.port};branch=z9hG4bK{secrets.token_hex(6)}",
                 f"From: <sip:vm@127.0.0.1>;tag={secrets.token_hex(4)}",
                 f"To: <sip:{user}@127.0.0.1>", f"Call-ID: pub-{secrets.token_hex(6)}",
                 "CSeq: 1 PUBLISH", "Max-Forwards: 70", "Event: message-summary",
                 "Expires: 3600", f"Content-Type: {SUMMARY}",
                 *([f"SIP-If-Match: {etag}"] if etag else []),
                 f"Content-Length: {len(data)}", "", ""]
        peer.send("\r\n".join(lines).encode() + data, lab.port)
        answer = await peer.answer(timeout=5.0)
        assert answer.status == 200, answer.raw
        return answer["sip-etag"]
    finally:
        peer.close()


async def test_an_unsolicited_notify_to_the_contact_lights_the_lamp_and_no_clears_it(lab, phone):
    app = await phone()
    [contact] = await registered_contacts(lab, app.sip_user)
    assert lamp(app) == "off" and count_line(app) == ""
    began = time.monotonic()
    status, out = await notify_contact(lab, contact, "message-summary", YES, ctype=SUMMARY)
    assert status == 200, out
    answered = time.monotonic() - began        # kamcmd's own start-up included
    await until(lambda: lamp(app) == "slow" and count_line(app) == "2 new voicemails",
                what=lambda: f"lamp {lamp(app)}, line {count_line(app)!r}")
    print(f"\nunsolicited NOTIFY: 200 after {answered * 1000:.0f} ms, lamp lit after "
          f"{(time.monotonic() - began) * 1000:.0f} ms (kamcmd included)")
    assert app.leds.state["power"] == "slow"            # Yealink's power LED flashes too
    box = app.voicemail[1]
    assert (box.waiting, box.new, box.old, box.urgent_new) == (True, 2, 8, 1)
    status, out = await notify_contact(lab, contact, "message-summary", NO, ctype=SUMMARY)
    assert status == 200, out
    await until(lambda: lamp(app) == "off" and count_line(app) == "",
                what=lambda: f"lamp {lamp(app)}, line {count_line(app)!r}")
    assert app.leds.state["power"] == "on" and app.voicemail[1].old == 10


async def test_msg_calls_the_voicemail_number_and_the_far_end_answers(lab, phone, carol):
    app = await phone("voice_mail.number.1 = 203\n")
    mark = carol.mark()
    app.post(ins.KeyPress("MSG"))
    await carol.wait("CALL_ESTABLISHED", after=mark, timeout=15)
    await until(lambda: app.calls and app.calls[0].state.name.lower() == "connected",
                what=lambda: f"calls {app.calls}")
    assert app.calls[0].number == "203"
    app.post(ins.KeyPress("X"))
    await carol.wait("CALL_CLOSED", after=mark, timeout=10)


async def test_msg_without_a_number_says_so(lab, phone):
    app = await phone()
    app.post(ins.KeyPress("MSG"))
    await until(lambda: count_line(app) == "No voicemail number set")
    assert not app.calls


async def test_a_solicited_subscription_gets_its_notifies(lab, phone):
    app = await phone("account.1.subscribe_mwi = 1\n")
    await until(lambda: app.mwi.states().get(1) == "active", timeout=15,
                what=lambda: f"subscription {app.mwi.states()}")
    sub = app.mwi.subscriptions[1][1]
    began = time.monotonic()
    etag = await publish(lab, app.sip_user, YES)
    await until(lambda: lamp(app) == "slow" and count_line(app) == "2 new voicemails",
                what=lambda: f"lamp {lamp(app)}, line {count_line(app)!r}, {sub.stats}")
    print(f"\nPUBLISH to presence_mwi -> NOTIFY -> lamp lit: "
          f"{(time.monotonic() - began) * 1000:.0f} ms")
    await publish(lab, app.sip_user, NO, etag)
    await until(lambda: lamp(app) == "off" and count_line(app) == "",
                what=lambda: f"lamp {lamp(app)}, line {count_line(app)!r}, {sub.stats}")
    assert sub.stats["notify"] >= 2 and sub.stats["failed"] == 0


async def test_twenty_restarts_with_mwi_on_never_hang_the_engine(lab, tmp_path, receiver):
    user = lab.next_user()
    etag = await publish(lab, user, YES)           # the mailbox has messages from the start
    took = []
    async with aiohttp.ClientSession() as session:
        for n in range(20):
            began = time.monotonic()
            app = await start_sip_phone(tmp_path / "phone", receiver.base, lab, user,
                                        extra=ADMIN + "account.1.subscribe_mwi = 1\n")
            try:
                await until(lambda: app.registrations.get(1) == "registered", timeout=15,
                            what=lambda: f"run {n}: registration {dict(app.registrations)}")
                await until(lambda: lamp(app) == "slow", timeout=15,
                            what=lambda: f"run {n}: MWI {app.mwi.states()}, lamp {lamp(app)}")
                url = f"http://127.0.0.1:{app.http.port}/api/v1/status"
                async with session.get(url, headers=BASIC,
                                       timeout=aiohttp.ClientTimeout(total=5)) as resp:
                    assert resp.status == 200, await resp.text()
                    await resp.json()
                assert app.engine_up
                took.append(time.monotonic() - began)
            finally:
                await stop_and_check(app)
    await publish(lab, user, NO, etag)
    print(f"\n20 restarts with MWI on: up, registered and lamp lit in "
          f"{min(took):.2f}..{max(took):.2f} s (mean {sum(took) / len(took):.2f} s)")
    assert len(took) == 20
