"""Action URI over SIP NOTIFY, against the whole phone (simulated board and PBX), over real UDP.

The NOTIFYs are hand-written datagrams from real sockets on 127.0.0.x; what a
NOTIFY did is read where it shows: the settings, the screen, the inputs the
phone got and the Action URL requests a real receiver got. (kamailio sending
them: test_sip_notify_kamailio.py.)
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from deskphone.core import lifecycle
from support.phone import settle, start_phone
from support.sip_udp import SipPeer, notify
from test_action_uri import request
from test_remote_trust import record_inputs, side_effects

# The sender trusted (the list applies to NOTIFY too), no digest (tests/adversarial has it).
OPEN = "features.action_uri_limit_ip = 127.0.0.0/8\ndeskphone.sip_notify_auth = 0\n"
ACT_AT_ONCE = OPEN + "features.show_action_uri_option = 0\n"
TRUST_CTRL = "sip.trust_ctrl = 1\naccount.1.sip_server.1.address = 127.0.0.1\n"


async def phone_with(tmp_path, receiver, extra: str = ACT_AT_ONCE):
    app = await start_phone(tmp_path, receiver.base, extra=extra)
    await receiver.wait("registered")
    await settle(app)
    return app


@pytest.fixture
async def pbx():
    peer = await SipPeer.open("127.0.0.1")
    yield peer
    peer.close()


@pytest.fixture
async def stranger():
    """Another host, as far as the phone can tell: a socket on 127.0.0.2."""
    peer = await SipPeer.open("127.0.0.2")
    yield peer
    peer.close()


async def test_notify_dnd_on_acts_answers_200_and_fires_open_dnd(tmp_path, receiver, pbx):
    app = await phone_with(tmp_path, receiver)
    try:
        assert app.settings["features.action_uri_limit_ip"] == "127.0.0.0/8"  # NOTIFY's too
        raw = notify(app.sip_notify.port, "key=DNDOn", via_port=pbx.port, via_params=";rport",
                     call_id="dnd-1@pbx")
        answer = await pbx.ask(raw, app.sip_notify.port)
        assert (answer.status, answer.reason) == (200, "OK")
        # Via, From, To (+ our tag), Call-ID, CSeq copied; rport filled in (RFC 3581).
        assert answer["via"] == (f"SIP/2.0/UDP 127.0.0.1:{pbx.port};branch=z9hG4bK"
                                 + raw.split(b"branch=z9hG4bK")[1].split(b";")[0].decode()
                                 + f";rport={pbx.port};received=127.0.0.1")
        assert answer["from"].startswith("<sip:pbx@127.0.0.1>;tag=pbx")
        assert answer["to"].startswith("<sip:phone@127.0.0.1>;tag=")
        assert len(answer["to"].split(";tag=")[1]) >= 8
        assert answer["call-id"] == "dnd-1@pbx" and answer["cseq"] == "1 NOTIFY"
        assert answer.headers[:5] == [(n, answer[n]) for n in ("via", "from", "to", "call-id",
                                                               "cseq")]
        hit = await receiver.wait("dnd_on")
        assert hit["mac"] == "001565abcdef"
        await settle(app)
        assert app.settings["features.dnd.enable"] is True
        assert app.display.screen.kind == "idle"
    finally:
        await app.stop()


async def test_every_servlet_form_works_in_a_body(tmp_path, receiver, pbx):
    app = await phone_with(tmp_path, receiver)
    try:
        posted = record_inputs(app)
        port = app.sip_notify.port
        for body in ("key=number=201", "number=202&outgoing_uri=100@pbx.test",
                     "Key=AlwaysFwdOn=300\r\n", "key=F1;F3\r\nkey=OK"):
            answer = await pbx.ask(notify(port, body, ctype="text/plain"), port)
            assert answer.status == 200, (body, answer.raw)
        await settle(app)
        names = [type(i).__name__ for i in posted]
        assert names == ["Dial", "Dial", "SetForward", "KeyPress", "KeyPress", "KeyPress"]
        assert posted[1].account == 1 and posted[2].target == "300"
        await receiver.wait("always_fwd_on")
    finally:
        await app.stop()


async def test_retransmission_is_answered_from_the_cache_and_not_done_twice(tmp_path, receiver,
                                                                           pbx):
    app = await phone_with(tmp_path, receiver)
    try:
        port = app.sip_notify.port
        posted = record_inputs(app)
        raw = notify(port, "key=5", via_port=pbx.port)
        first = await pbx.ask(raw, port)
        again = await pbx.ask(raw, port)                 # the PBX did not hear us: same request
        assert first.status == 200 and again.raw == first.raw      # same To-tag, byte for byte
        await settle(app)
        assert [type(i).__name__ for i in posted] == ["KeyPress"]
        assert app.display.screen.kind == "dialing" and app.display.screen.lines[0] == "5"
        # A new transaction of the same dialog (next CSeq, new branch) is a new request.
        call_id = first["call-id"]
        nxt = await pbx.ask(notify(port, "key=5", call_id=call_id, cseq=2), port)
        assert nxt.status == 200 and nxt["to"] != first["to"]
        await settle(app)
        assert len(posted) == 2
        assert app.display.screen.lines[0] == "55"
        # A refused request is cached too: its retransmission gets the same 415.
        bad = notify(port, "key=5", ctype="application/json")
        refused = await pbx.ask(bad, port)
        assert refused.status == 415 and (await pbx.ask(bad, port)).raw == refused.raw
        assert len(posted) == 2
        assert app.sip_notify.stats["retransmission"] == 2
    finally:
        await app.stop()


async def test_wrong_event_method_or_message_gets_its_answer_and_nothing_happens(
        tmp_path, receiver, pbx):
    app = await phone_with(tmp_path, receiver)
    try:
        port = app.sip_notify.port
        await receiver.quiet(0.1)
        before = side_effects(app, receiver)
        posted = record_inputs(app)
        cases = [
            (notify(port, event="presence"), 489, "presence"),
            # voicemail is taken from an account's server only (net/mwi.py): 403 to others
            (notify(port, event="message-summary;id=1"), 403, "SIP server only"),
            (notify(port, event=None), 400, "no Event header"),
            (notify(port, method="OPTIONS"), 405, "only NOTIFY"),
            (notify(port, method="INVITE"), 405, "only NOTIFY"),
            (notify(port, method="MESSAGE", event=None), 405, "only NOTIFY"),
            (notify(port, "key=BOGUS"), 400, "unknown key value 'BOGUS'"),
            (notify(port, "key=L9"), 400, "no line key L9"),
            (notify(port, "key=OK;BOGUS"), 400, "unknown key value"),
            (notify(port, "hello"), 400, "no key="),
            (notify(port, ""), 400, "no key="),
            (notify(port, ctype="application/json"), 415, "message/sipfrag"),
            (notify(port, ctype=None), 415, "got none"),
            (notify(port, "key=DNDOn", length=99), 400, "Content-Length 99"),
            (notify(port, "key=DNDOn", length=-1), 400, "bad Content-Length"),
            (notify(port).replace(b"\r\n\r\n", b"\r\n"), 400, "no blank line"),
            (notify(port, "k\xe9y=OK"), 400, "no key="),
            (notify(port).replace(b"key=DNDOn", b"key=\xff\xfe\xff\xfe\xff"), 400, "not UTF-8"),
            (notify(port).replace(b"Max-Forwards: 70", b"no colon here"), 400,
             "not a header line"),
        ]
        for raw, status, why in cases:
            answer = await pbx.ask(raw, port)
            assert answer.status == status, (raw, answer.raw)
            assert why in answer["warning"], answer["warning"]
            assert answer["warning"].startswith('399 deskphone "')
            if status == 405:
                assert answer["allow"] == "NOTIFY"
            if status == 489:
                assert answer["allow-events"] == "ACTION-URI"
            if status == 415:
                assert answer["accept"] == "message/sipfrag"
        await receiver.quiet(0.1)
        assert posted == []
        assert side_effects(app, receiver) == before
        assert app.settings["features.dnd.enable"] is False
    finally:
        await app.stop()


async def test_no_answer_to_responses_acks_and_noise(tmp_path, receiver, pbx):
    app = await phone_with(tmp_path, receiver)
    try:
        port = app.sip_notify.port
        posted = record_inputs(app)
        quiet = [
            b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\n"
            b"Call-ID: a\r\nCSeq: 1 NOTIFY\r\nContent-Length: 0\r\n\r\n",
            notify(port, method="ACK", event=None),
            notify(port, method="ACK").replace(b"Call-ID", b"X"),     # a bad ACK: still silence
            b"\r\n\r\n", b"\x00" * 40, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            b"NOTIFY\r\n\r\n", b"\xff\xfe NOTIFY sip:x SIP/2.0\r\n\r\n",
            # No sound Via/From/To/Call-ID/CSeq: an answer could only reflect (issue 15).
            notify(port).replace(b"CSeq: 1 NOTIFY", b"CSeq: 1 INFO"),
            notify(port).replace(b"CSeq: 1 NOTIFY", b"CSeq: x NOTIFY"),
            notify(port).replace(b"Call-ID", b"X-Call-ID"),
            notify(port).replace(b"\r\nTo:", b"\r\nX-To:"),
        ]
        for raw in quiet:
            pbx.send(raw, port)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as empty:   # asyncio sends no b""
            empty.sendto(b"", ("127.0.0.1", port))
        await pbx.silence(0.2)
        # The listener is still there and answers the next real request.
        assert (await pbx.ask(notify(port, "key=VOLUME_UP"), port)).status == 200
        await settle(app)
        assert len(posted) == 1
        assert app.sip_notify.stats["dropped"] == len(quiet) + 1
    finally:
        await app.stop()


async def test_action_uri_disabled_answers_403(tmp_path, receiver, pbx):
    app = await phone_with(tmp_path, receiver, ACT_AT_ONCE + "features.action_uri.enable = 0\n")
    try:
        posted = record_inputs(app)
        answer = await pbx.ask(notify(app.sip_notify.port, "key=DNDOn"), app.sip_notify.port)
        assert answer.status == 403 and "features.action_uri.enable = 0" in answer["warning"]
        await settle(app)
        assert posted == [] and app.settings["features.dnd.enable"] is False
    finally:
        await app.stop()


async def test_prompt_flow_over_notify(tmp_path, receiver, pbx, monkeypatch):
    # A second source asks right after the first was answered: no pause after a prompt
    # here (that pause, against a double tap, is tests/adversarial's business).
    monkeypatch.setattr(lifecycle, "PROMPT_GAP", 0.0)
    app = await phone_with(tmp_path, receiver, OPEN)    # the prompt is on (the default)
    try:
        port = app.sip_notify.port
        answer = await pbx.ask(notify(port, "key=DNDOn"), port)
        assert answer.status == 403 and "Remote control forbidden" in answer["warning"]
        await settle(app)
        screen = app.display.screen
        assert screen.kind == "prompt"
        assert screen.lines[:2] == ("Allow Remote Control?", "udp:127.0.0.1")
        for _ in range(3):                                 # meanwhile: 403, still one prompt
            assert (await pbx.ask(notify(port, "key=DNDOn"), port)).status == 403
        await settle(app)
        assert app.phone.prompts == ["udp:127.0.0.1"]
        assert app.settings["features.dnd.enable"] is False
        app.keypad.press("OK")                           # the person at the phone allows it
        await settle(app)
        assert app.display.screen.kind == "idle"
        assert app.settings["deskphone.trust.udp:127.0.0.1"] == "allow"
        assert (await pbx.ask(notify(port, "key=DNDOn"), port)).status == 200
        await receiver.wait("dnd_on")
        await settle(app)
        assert app.settings["features.dnd.enable"] is True
        # A source denied on the prompt: 403, and never asked again.
        other = await SipPeer.open("127.0.0.3")
        try:
            assert (await other.ask(notify(port, "key=DNDOff"), port)).status == 403
            await settle(app)
            assert app.display.screen.lines[:2] == ("Allow Remote Control?", "udp:127.0.0.3")
            # The allowed source pressing OK remotely does not let the other one in.
            assert (await pbx.ask(notify(port, "key=OK"), port)).status == 200
            await settle(app)
            assert app.display.screen.kind == "prompt"
            assert "deskphone.trust.udp:127.0.0.3" not in app.settings
            app.keypad.press("X")
            await settle(app)
            answer = await other.ask(notify(port, "key=DNDOff"), port)
            assert answer.status == 403
            await settle(app)
            assert app.phone.prompts == [] and app.display.screen.kind != "prompt"
            assert app.settings["features.dnd.enable"] is True
        finally:
            other.close()
    finally:
        await app.stop()


async def test_trust_ctrl_accepts_only_the_sip_server(tmp_path, receiver, pbx, stranger):
    app = await phone_with(tmp_path, receiver, ACT_AT_ONCE + TRUST_CTRL)
    try:
        port = app.sip_notify.port
        await receiver.quiet(0.1)
        before = side_effects(app, receiver)
        posted = record_inputs(app)
        for body in ("key=DNDOn", "key=OFFHOOK", "key=Reboot", "number=201"):
            answer = await stranger.ask(notify(port, body, via_host="127.0.0.1"), port)
            assert answer.status == 403, answer.raw
            assert "sip.trust_ctrl = 1" in answer["warning"]
            assert answer["via"].endswith(";received=127.0.0.2")     # not who it claims to be
        await receiver.quiet(0.1)
        assert posted == [] and side_effects(app, receiver) == before
        # The registrar itself may.
        assert (await pbx.ask(notify(port, "key=DNDOn"), port)).status == 200
        await receiver.wait("dnd_on")
    finally:
        await app.stop()


async def test_trust_ctrl_resolves_names_and_takes_the_outbound_proxy(tmp_path, receiver, pbx):
    extra = (ACT_AT_ONCE + "sip.trust_ctrl = 1\naccount.1.sip_server.1.address = localhost\n"
             "account.1.outbound_proxy_enable = 1\naccount.1.outbound_host = 127.0.0.4\n")
    app = await phone_with(tmp_path, receiver, extra)
    proxy, stranger = await SipPeer.open("127.0.0.4"), await SipPeer.open("127.0.0.2")
    try:
        port = app.sip_notify.port
        assert app.sip_notify.servers.cached(("localhost",)) is None     # not looked up yet
        assert (await pbx.ask(notify(port, "key=DNDOn"), port)).status == 200   # localhost
        assert "127.0.0.1" in app.sip_notify.servers.cached(("localhost",))
        assert (await proxy.ask(notify(port, "key=DNDOff"), port)).status == 200
        assert (await stranger.ask(notify(port, "key=DNDOn"), port)).status == 403
        await receiver.wait("dnd_off")
        await settle(app)
        assert app.settings["features.dnd.enable"] is False
    finally:
        proxy.close()
        stranger.close()
        await app.stop()


async def test_retransmissions_while_the_server_name_resolves_are_absorbed(
        tmp_path, receiver, pbx, monkeypatch):
    app = await phone_with(tmp_path, receiver, ACT_AT_ONCE + "sip.trust_ctrl = 1\n"
                           "account.1.sip_server.1.address = localhost\n")
    try:
        loop = asyncio.get_running_loop()
        real = loop.getaddrinfo

        async def slow(*args, **kw):                     # a DNS server taking its time
            await asyncio.sleep(0.3)
            return await real(*args, **kw)

        monkeypatch.setattr(loop, "getaddrinfo", slow)
        port = app.sip_notify.port
        posted = record_inputs(app)
        raw = notify(port, "key=5")
        pbx.send(raw, port)
        await asyncio.sleep(0.1)
        pbx.send(raw, port)                              # retransmitted while we look it up
        first = await pbx.answer()
        assert first.status == 200
        await pbx.silence(0.1)                           # one answer for the two
        assert (await pbx.ask(raw, port)).raw == first.raw
        await settle(app)
        assert [type(i).__name__ for i in posted] == ["KeyPress"]
        assert app.sip_notify.stats["retransmission"] == 2
    finally:
        await app.stop()


async def test_a_taken_port_costs_a_log_line_not_the_phone(tmp_path, receiver, caplog):
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("127.0.0.1", 0))
    taken = holder.getsockname()[1]
    try:
        app = await start_phone(tmp_path, receiver.base)
        app.sip_notify_port = taken                     # as if deskphone.sip_notify_port said so
        await app.stop()
        await app.start()
        try:
            await receiver.wait("registered")
            assert app.sip_notify.port is None
            assert app.status != "Starting"
            status, _, _ = await request(app, "/servlet?key=OK")     # the rest of it works
            assert status == 403
        finally:
            await app.stop()
    finally:
        holder.close()
    assert any(f"SIP NOTIFY (Action URI) not available on 127.0.0.1:{taken}/udp" in r.message
               for r in caplog.records)


async def test_the_configured_port_is_used_and_freed_at_stop(tmp_path, receiver):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    from deskphone.app import PhoneApp
    from deskphone.config.board import load_board
    app = await start_phone(tmp_path, receiver.base)
    board = app.board
    await app.stop()
    app = PhoneApp(load_board(board.path), tmp_path / "config", tmp_path / "state",
                   bind="127.0.0.1", http_port=0, https_port=0)
    cfg = tmp_path / "config" / "y000000000000.cfg"
    cfg.write_text(cfg.read_text() + f"deskphone.sip_notify_port = {port}\n"
                   + ACT_AT_ONCE)
    await app.start()
    peer = await SipPeer.open()
    try:
        assert app.sip_notify.port == port
        assert (await peer.ask(notify(port, "key=DNDOn"), port)).status == 200
    finally:
        peer.close()
        await app.stop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as again:
        again.bind(("127.0.0.1", port))                  # free again: the listener is gone
