"""A real kamailio sends the Action URI NOTIFY, as a PBX would: ``kamcmd ... tm.t_uac_start``.

The phone runs the simulated engine (no baresip is needed to take a NOTIFY);
its account names the kamailio as its SIP server, which is all
``sip.trust_ctrl`` looks at.
"""

from __future__ import annotations

import asyncio
import re
import shutil

import pytest

from support.phone import settle, start_phone
from support.sip_lab import Kamailio, kamailio_module_dir
from support.sip_udp import SipPeer, notify
from support.needs import unavailable
from test_remote_trust import record_inputs, side_effects

HEADERS = ("From: <sip:pbx@127.0.0.1>;tag=abc123\r\nTo: <sip:phone@127.0.0.1>\r\n"
           "Event: {event}\r\nContent-Type: message/sipfrag\r\n")


@pytest.fixture(scope="module")
def kamailio(tmp_path_factory):
    for tool in ("kamailio", "kamcmd"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed (make test installs kamailio)")
    if kamailio_module_dir() is None:
        unavailable("kamailio's module directory was not found")
    k = Kamailio(tmp_path_factory.mktemp("kamailio")).start()
    yield k
    k.stop()


async def kamcmd(k: Kamailio, command: str, port: int, body: str,
                 event: str = "ACTION-URI") -> str:
    """``kamcmd -s unix:CTL tm.<command> NOTIFY sip:phone@127.0.0.1:<port> . . HEADERS BODY``."""
    proc = await asyncio.create_subprocess_exec(
        "kamcmd", "-s", f"unix:{k.workdir / 'kamailio.ctl'}", f"tm.{command}", "NOTIFY",
        f"sip:phone@127.0.0.1:{port}", ".", ".", HEADERS.format(event=event), body,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 10)
    assert proc.returncode == 0, out
    return out.decode()


def code_of(kamcmd_output: str) -> int:
    m = re.search(r"code:\s*(\d{3})", kamcmd_output)
    assert m, kamcmd_output
    return int(m.group(1))


@pytest.fixture
async def phone(kamailio, tmp_path, receiver):
    app = await start_phone(tmp_path, receiver.base, extra=(
        "features.show_action_uri_option = 0\nsip.trust_ctrl = 1\n"
        # kamailio's t_uac_dlg answers no challenge: the NOTIFY digest off, the list open
        "features.action_uri_limit_ip = 127.0.0.0/8\ndeskphone.sip_notify_auth = 0\n"
        "account.1.sip_server.1.address = 127.0.0.1\n"
        f"account.1.sip_server.1.port = {kamailio.port}\n"))
    await receiver.wait("registered")
    await settle(app)
    yield app
    await app.stop()


async def test_kamailio_notify_turns_dnd_on_and_a_stranger_gets_403(kamailio, phone, receiver):
    port = phone.sip_notify.port
    assert phone.settings["sip.trust_ctrl"] is True
    await kamcmd(kamailio, "t_uac_start", port, "key=DNDOn")
    hit = await receiver.wait("dnd_on")
    assert hit["mac"] == "001565abcdef"
    await settle(phone)
    assert phone.settings["features.dnd.enable"] is True
    assert phone.sip_notify.stats["200"] == 1

    # The same NOTIFY, hand-written, from a host that is not the registrar.
    await receiver.quiet(0.1)
    before = side_effects(phone, receiver)
    posted = record_inputs(phone)
    stranger = await SipPeer.open("127.0.0.2")
    try:
        answer = await stranger.ask(notify(port, "key=DNDOff", via_host="127.0.0.1",
                                           via_port=kamailio.port), port)
    finally:
        stranger.close()
    assert answer.status == 403 and "sip.trust_ctrl" in answer["warning"]
    await receiver.quiet(0.2)
    assert posted == [] and side_effects(phone, receiver) == before
    assert phone.settings["features.dnd.enable"] is True
    assert "dnd_off" not in receiver.events()


async def test_kamailio_sees_each_answer(kamailio, phone, receiver):
    port = phone.sip_notify.port
    out = await kamcmd(kamailio, "t_uac_wait_block", port, "key=DNDOn")
    assert code_of(out) == 200 and re.search(r"text:\s*OK", out)
    await receiver.wait("dnd_on")
    assert code_of(await kamcmd(kamailio, "t_uac_wait_block", port, "key=OK", "presence")) == 489
    assert code_of(await kamcmd(kamailio, "t_uac_wait_block", port, "key=NOPE")) == 400
    # kamailio retransmits over UDP until it hears an answer; every answer was heard at once,
    # and nothing was done twice.
    await settle(phone)
    assert phone.sip_notify.stats["200"] == 1
    assert receiver.events().count("dnd_on") == 1
