"""XML push by SIP NOTIFY as a PBX sends it: to the phone's registered contact, through its edge.

The lab's kamailio registrar plays the PBX (``kamcmd tm.t_uac_wait_block`` to the
contact it holds for the phone, ``Event: Yealink-xml``, the object as the body); the
whole phone runs a real baresip behind its real kamailio edge (engine/sip_edge.py),
which hands the NOTIFY to the NOTIFY listener. Each object shows as its reference
picture (tests/hw/reference/xml/, the clock and date fixed as in tests/net/test_xml_push.py).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from deskphone.hw.render import render
from support.sip_lab import notify_contact, registered_contacts, start_sip_phone
from support.sip_lab_fixtures import alice, lab, stop_and_check  # noqa: F401
from support.waiting import until

REFERENCE = Path(__file__).parent.parent / "hw" / "reference" / "xml"
PUSH = ("features.show_action_uri_option = 0\nfeatures.action_uri_limit_ip = 127.0.0.1\n"
        "deskphone.sip_notify_auth = 0\npush_xml.sip_notify = 1\npush_xml.server = 127.0.0.1\n"
        "account.1.label = Desk\n")
OBJECTS = {
    "text_screen": ("xml_text", """<?xml version="1.0" encoding="UTF-8"?>
<YealinkIPPhoneTextScreen Beep="yes" Timeout="0">
<Title>Front door</Title>
<Text>Visitor at the front door: Mr. Müller from Parcel Express</Text>
</YealinkIPPhoneTextScreen>"""),
    "text_menu": ("xml_menu", """<YealinkIPPhoneTextMenu defaultIndex="2" style="numbered" Beep="no"
 Timeout="0">
<Title>Queues</Title>
<MenuItem><Prompt>Sales</Prompt><URI>http://127.0.0.1:1/sales.xml</URI></MenuItem>
<MenuItem><Prompt>Support</Prompt><URI>http://127.0.0.1:1/support.xml</URI></MenuItem>
<MenuItem><Prompt>Billing</Prompt><URI>Dial:7003</URI></MenuItem>
<MenuItem><Prompt>Logout</Prompt><URI>http://127.0.0.1:1/out.xml</URI></MenuItem>
</YealinkIPPhoneTextMenu>"""),
    "status": ("idle", """<?xml version='1.0' encoding='ISO-8859-1' ?>
<YealinkIPPhoneStatus Beep="no" Timeout="15" SessionID="park">
<Message Size="double">Lot 1: Alice 0:01:05</Message>
<Message Size="double">Lot 2: Empty</Message></YealinkIPPhoneStatus>"""),
}


@pytest.mark.parametrize("name", sorted(OBJECTS))
async def test_an_object_notified_to_the_contact_shows_its_reference_picture(
        lab, tmp_path, receiver, name):
    kind, xml = OBJECTS[name]
    user = lab.next_user()
    app = await start_sip_phone(tmp_path, receiver.base, lab, user, extra=PUSH)
    try:
        await receiver.wait("registered", timeout=15)
        [contact] = await registered_contacts(lab, user)
        status, out = await notify_contact(lab, contact, "Yealink-xml", xml,
                                           ctype="application/xml")
        assert status == 200, out
        await until(lambda: app.display.screen.kind == kind and (
            kind != "idle" or app.display.screen.lines[1].startswith("Lot")))
        for height in (64, 32):
            screen = replace(app.display.screen, corner="09:41")
            if screen.kind == "idle":
                screen = replace(screen, lines=("Tue 14 Jan",) + screen.lines[1:])
            image = render(screen, 128, height)
            expected = Image.open(REFERENCE / f"{name}_{height}.png").convert("1")
            diff = ImageChops.difference(image.convert("L"), expected.convert("L")).getbbox()
            assert diff is None, f"{name}_{height}: pixels differ inside {diff}"
    finally:
        await stop_and_check(app)


async def test_execute_dial_notified_to_the_contact_reaches_alice(lab, tmp_path, receiver, alice):
    user = lab.next_user()
    app = await start_sip_phone(tmp_path, receiver.base, lab, user, extra=PUSH)
    try:
        await receiver.wait("registered", timeout=15)
        [contact] = await registered_contacts(lab, user)
        mark = alice.mark()
        status, out = await notify_contact(
            lab, contact, "Yealink-xml",
            '<YealinkIPPhoneExecute Beep="no"><ExecuteItem URI="Dial:201"/>'
            '</YealinkIPPhoneExecute>',
            ctype="application/xml")
        assert status == 200, out
        ring = await alice.wait("CALL_INCOMING", after=mark)
        assert f"sip:{user}@" in ring["peeruri"]
    finally:
        await stop_and_check(app)


async def test_push_xml_sip_notify_off_the_contact_answers_403_and_nothing_shows(
        lab, tmp_path, receiver):
    user = lab.next_user()
    app = await start_sip_phone(tmp_path, receiver.base, lab, user,
                                extra=PUSH.replace("push_xml.sip_notify = 1", ""))
    try:
        await receiver.wait("registered", timeout=15)
        [contact] = await registered_contacts(lab, user)
        status, _ = await notify_contact(lab, contact, "Yealink-xml", OBJECTS["text_screen"][1],
                                         ctype="application/xml")
        assert status == 403 and app.display.screen.kind == "idle"
    finally:
        await stop_and_check(app)
