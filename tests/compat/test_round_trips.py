"""Clients that read what the phone said before (a $call_id, a status code) and act on it,
and a PBX that sends its Action URI over SIP NOTIFY."""

from __future__ import annotations

import re

from aiohttp import web

from support.phone import settle
from support.sip_udp import SipPeer, notify

from conftest import PASSWORD, REQUIRE_AUTH
from wire import basic, send


async def test_thefreighthero_internal_server(yealink, project_receiver):
    """thefreighthero/internal-server: the receiver (routes/phone.js, templates in its
    comments) takes ``/phone/incoming?active_host=..&active_user=..&remote=$remote&...
    &call_id=$call_id``, needs active_user to be a known extension (else 404), takes the
    number from ``/^sip:(\\d*)@/.exec(remote)`` and keeps call_id as a string; the client
    (src/PhoneMessenger.js, getPhoneUri) answers with ``/servlet?key=ASW:<call_id>`` with
    the key NOT uri-encoded and ``Authorization: Basic btoa(user:pass)``."""
    def parse(request: web.Request) -> dict | None:
        q = request.query
        if q.get("active_user") != "100":
            return None
        match = re.match(r"^sip:(\d*)@", q["remote"])
        return {"number": match[1] if match else q["remote"], "name": q["display_remote"],
                "call_id": q["call_id"]}

    rx = await project_receiver(parse, lambda got: web.json_response(
        {"status": "Ok", **(got or {})}, status=200 if got else 404))
    app = await yealink(url_for={"incoming_call": rx.base + "/phone/incoming?active_host="
                                 "$active_host&active_user=$active_user&ip=$ip&remote=$remote"
                                 "&local=$local&display_remote=$display_remote&display_local="
                                 "$display_local&call_id=$call_id"})
    app.engine.incoming("300", "Caller")
    [got] = await rx.next()
    assert got is not None and got["number"] == "300" and got["name"] == "Caller"
    answer = await send(app.http.port, f"/servlet?key=ASW:{got['call_id']}",
                        headers=(basic("admin", PASSWORD, "latin-1"),))
    await settle(app)
    assert answer.status == 200
    assert app.phone.calls and app.phone.calls[0].connected


async def test_buhoy_ded_yealinkadmin_visual_studio(yealink, receiver):
    """Buhoy-Ded/YealinkAdmin-Visual-Studio: Services/Core/YealinkApiClient.cs QueryAsync
    sends ``phonecfg=get&accounts=1`` with preemptive Basic over UTF-8 and reads 401 as
    "unauthorized" and 403 as "Action URI disabled" (anything else not 2xx throws);
    Services/Web/YealinkConfigManager.cs RebootAsync sends ``key=Reboot`` with a Referer
    and no credentials first, Basic on a 401, and succeeds iff 200."""
    app = await yealink("static.security.user_password = admin:Grüße-42\n" + REQUIRE_AUTH)
    cfg = await send(app.http.port, "/servlet?phonecfg=get&accounts=1",
                     headers=(basic("admin", "Grüße-42"),))
    assert cfg.status == 200 and "MAC=001565abcdef" in cfg.text
    assert (await send(app.http.port, "/servlet?phonecfg=get&accounts=1",
                       headers=(basic("admin", "Grüsse"),))).status == 401
    stranger = await send(app.http.port, "/servlet?phonecfg=get&accounts=1", source="127.0.0.2",
                          headers=(basic("admin", "Grüße-42"),))
    assert stranger.status == 403                     # not on the list: "Action URI disabled"
    referer = ("Referer", f"https://127.0.0.1/servlet?m=mod_data&p=settings-upgrade&q=load")
    first = await send(app.http.port, "/servlet?key=Reboot", headers=(referer,))
    assert first.status == 401
    again = await send(app.http.port, "/servlet?key=Reboot",
                       headers=(referer, basic("admin", "Grüße-42")))
    await settle(app)
    assert again.status == 200 and app.restart_requested is False


async def test_mikopbx_core_pjsip_notify(yealink, receiver):
    """mikopbx/Core, src/Core/Asterisk/Configs/PjSipNotifyConf.php: the pjsip_notify.conf
    section ``[yealink-action-ok]`` sends ``Event: ACTION-URI``, ``Content-Type:
    message/sipfrag`` and the body ``key=SPEAKER`` followed by an empty Content line
    (one more CRLF), to press the speaker key of the phone. (Asterisk answers a digest
    challenge only with outbound auth configured; this PBX is let in by address.)"""
    app = await yealink("deskphone.sip_notify_auth = 0\n")
    peer = await SipPeer.open("127.0.0.1")
    try:
        answer = await peer.ask(notify(app.sip_notify.port, "key=SPEAKER\r\n\r\n",
                                       via_port=peer.port), app.sip_notify.port)
        assert answer.status == 200
        await receiver.wait("handfree")
        await settle(app)
        assert app.phone.audio == "speaker"
    finally:
        peer.close()
