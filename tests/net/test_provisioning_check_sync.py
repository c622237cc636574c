"""``NOTIFY`` ``Event: check-sync`` at the phone's NOTIFY port: provision again (and restart).

The requests are the ones PBXs configure for Asterisk's ``sip/pjsip send notify``:
FreePBX's core module adds ``generic-reload`` (``Event=>check-sync\\;reboot=false``),
its endpoint module ``reboot-yealink`` (``Event=>check-sync\\;reboot=true``), mikopbx
writes ``[yealink-reboot]`` the same way; sent as ``pjsip send notify reboot-yealink
endpoint 100`` with ``Content-Length: 0``. A bare ``check-sync`` is what FreePBX
sends Cisco phones (``cisco-check-cfg``) and FreeSWITCH's ``check_sync`` sends. The
sender is judged as for ACTION-URI (the trusted list, the prompt).
"""

from __future__ import annotations

import pytest

from deskphone.core import inputs as ins
from deskphone.net.check_sync import wants_reboot
from deskphone.net.sip_notify import SipNotifyListener
from fake_host import FakeHost
from support.phone import start_phone
from support.prov_server import ProvServer, autop
from support.sip_udp import SipPeer, notify

OPEN = {"features.action_uri_limit_ip": "127.0.0.1", "deskphone.sip_notify_auth": False}
ALLOWED = {**OPEN, "deskphone.trust.udp:127.0.0.1": "allow"}
ASTERISK = ("Contact: <sip:asterisk@127.0.0.1:5060>\r\n"
            "User-Agent: Asterisk PBX 18.10.0~dfsg+~cs6.10.40431411-1")


def check_sync(port: int, event: str, via_port: int) -> bytes:
    return notify(port, "", event=event, ctype=None, via_port=via_port, extra=ASTERISK)


@pytest.fixture
async def pbx():
    peer = await SipPeer.open("127.0.0.1")
    yield peer
    peer.close()


@pytest.mark.parametrize("config, event, status, posted", [
    (ALLOWED, "check-sync;reboot=false", 200, [ins.RequestAutoProvision(reboot=False)]),
    (ALLOWED, "check-sync;reboot=true", 200, [ins.RequestAutoProvision(reboot=True)]),
    (ALLOWED, "check-sync", 200, [ins.RequestAutoProvision(reboot=False)]),     # FreeSWITCH
    (ALLOWED, "Check-Sync;Reboot=TRUE", 200, [ins.RequestAutoProvision(reboot=True)]),
    # Who may is ACTION-URI's rule: not on the list, nothing; undecided, the phone asks.
    ({**ALLOWED, "features.action_uri_limit_ip": "10.0.0.9"}, "check-sync", 403, []),
    (OPEN, "check-sync", 403, [ins.RemoteControlAsk("udp:127.0.0.1")]),
    ({**OPEN, "deskphone.trust.udp:127.0.0.1": "deny"}, "check-sync;reboot=true", 403, []),
])
async def test_check_sync_from_each_kind_of_sender(tmp_path, pbx, config, event, status, posted):
    listener = SipNotifyListener(FakeHost(tmp_path / "state", config), "127.0.0.1", 0)
    assert await listener.start()
    try:
        answer = await pbx.ask(check_sync(listener.port, event, pbx.port), listener.port)
        assert answer.status == status
        assert listener.host.posted == posted
    finally:
        await listener.stop()


def test_wants_reboot():
    assert wants_reboot("check-sync;reboot=true") and wants_reboot('check-sync; reboot="true"')
    assert not wants_reboot("check-sync;reboot=false") and not wants_reboot("check-sync")


MAC = "001565abcdef"


async def test_a_pbx_check_sync_reprovisions_a_whole_phone_and_reboot_restarts(tmp_path,
                                                                              receiver, pbx):
    files = {"y000000000000.cfg": "#!version:1.0.0.1\nforward.busy.target = 301\n"}
    async with ProvServer(files) as server:
        phone = await start_phone(tmp_path, receiver.base, extra=(
            f"static.auto_provision.server.url = {server.url}\n"
            "features.action_uri_limit_ip = 127.0.0.1\n"
            "features.show_action_uri_option = 0\n"
            "deskphone.sip_notify_auth = 0\n"))
        try:
            assert phone.sip_notify is not None
            port = phone.sip_notify.port
            before = phone.provisioner.last_result
            answer = await pbx.ask(check_sync(port, "check-sync;reboot=false", pbx.port), port)
            assert answer.status == 200
            assert (await autop(phone, receiver, expect_finish=True, since=before)).ok
            assert phone.settings["forward.busy.target"] == "301"
            assert not phone._stopped.is_set()               # reboot=false: running on

            server.files["y000000000000.cfg"] = "#!version:1.0.0.1\nforward.busy.target = 302\n"
            receiver.hits.clear()
            before = phone.provisioner.last_result
            answer = await pbx.ask(check_sync(port, "check-sync;reboot=true", pbx.port), port)
            assert answer.status == 200
            assert (await autop(phone, receiver, expect_finish=True, since=before)).ok
            assert phone.settings["forward.busy.target"] == "302"
            assert phone._stopped.is_set() and phone.restart_requested is False   # a reboot
        finally:
            await phone.stop()
