"""Each fact of yealink-facts.md, "What real phones, clients and PBXs do beyond the admin
guide": the parts "Action URI keys and requests" and "Action URL variables", one test
each, over real sockets against the whole phone (default debounce and timeouts) or, where
the effect is an engine command (DTMF), against the servlet on a fake host."""

from __future__ import annotations

import asyncio
import logging

from deskphone.core import effects as fx
from deskphone.core import inputs as ins
from deskphone.net import remote
from support.phone import settle
from support.servlet_on_host import ServletOnHost

from conftest import PASSWORD
from wire import basic, send

AUTH = (basic("admin", PASSWORD),)


async def key(app, value: str, status: int = 200) -> None:
    answer = await send(app.http.port, f"/servlet?key={value}", headers=AUTH)
    await settle(app)
    assert answer.status == status, answer.text


async def call_201(app, receiver):
    await key(app, "number=201")
    return await receiver.wait("call_established")


# --- Action URI keys and requests ----------------------------------------------------

async def test_call_waiting_on_and_off_switch_it_with_their_events(yealink, receiver):
    app = await yealink()
    await key(app, "CallWaitingOff")
    await receiver.wait("call_waiting_off")
    assert app.settings["call_waiting.enable"] is False
    await key(app, "callwaitingon")
    await receiver.wait("call_waiting_on")
    assert app.settings["call_waiting.enable"] is True


async def test_f_unhold_resumes_the_held_call(yealink, receiver):
    app = await yealink()
    est = await call_201(app, receiver)
    await key(app, "F_HOLD")
    await receiver.wait("hold", after=est.at)
    await key(app, "F_UNHOLD")
    await receiver.wait("unhold", after=est.at)
    assert not app.phone.calls[0].held


async def test_back_idle_leaves_menu_and_dialling_but_not_a_call(yealink, receiver):
    app = await yealink()
    await key(app, "OK")                                    # the menu
    assert app.display.screen.kind == "menu"
    await key(app, "BACK_IDLE")
    assert app.display.screen.kind == "idle"
    await key(app, "12")                                    # pre-dialling
    assert app.phone.dial is not None and app.phone.dial.digits == "12"
    await key(app, "BACK_IDLE")
    assert app.phone.dial is None and app.display.screen.kind == "idle"
    await call_201(app, receiver)
    await key(app, "BACK_IDLE")
    assert app.phone.calls and app.phone.calls[0].connected


async def test_swap_exchanges_the_talking_and_the_held_call_split_does_nothing(
        yealink, receiver):
    app = await yealink()
    await call_201(app, receiver)
    app.engine.incoming("300", "Caller")
    ring = await receiver.wait("incoming_call")
    await key(app, "ANSWER")                                # Alice goes on hold
    await receiver.wait("call_established", after=ring.at)
    first, second = app.phone.calls
    assert first.held and not second.held
    mark = receiver.hits[-1].at
    await key(app, "SWAP")
    hold = await receiver.wait("hold", after=mark)
    unhold = await receiver.wait("unhold", after=mark)
    assert hold["calledNumber"] == "300" and unhold["calledNumber"] == "201"
    assert not first.held and second.held and app.phone.focus == first.ref
    await key(app, "SPLIT")                                 # no conference to split
    assert not first.held and second.held


async def test_a_digit_run_and_enter_dials_also_with_a_trailing_semicolon(yealink, receiver):
    app = await yealink()
    await key(app, "201;ENTER;")
    out = await receiver.wait("outgoing_call")
    assert out["calledNumber"] == "201"


async def test_a_digit_run_in_a_call_is_dtmf_each_digit_in_turn(tmp_path):
    async with ServletOnHost(tmp_path) as servlet:
        host = servlet.host
        host._run(ins.CallIncoming("in-1@pbx", 1, "sip:300@pbx.test", "Caller"))
        host._run(ins.Answer())
        status, _ = await servlet.get("/servlet?key=1234")
        assert status == 200
        status, _ = await servlet.get("/servlet?Key=5&Duration=300")     # a press length
        assert status == 200
        dtmf = [e.digit for e in host.effects if isinstance(e, fx.EngineDtmf)]
        assert dtmf == ["1", "2", "3", "4", "5"]


async def test_outgoing_uri_account_n_in_any_case_and_no_account_means_the_default(
        yealink, receiver, caplog):
    remote._OUTGOING_LOGGED.clear()          # said once per process: start from none said
    app = await yealink("account.2.enable = 1\naccount.2.user_name = 200\n"
                        "account.2.sip_server.1.address = pbx.test\n")
    await receiver.wait("registered", after=receiver.hits[-1].at)
    for uri, user in (("Account2", "200"), ("account1", "100"), ("URI", "100"),
                      ("@pbx.test", "100"), ("URI", "100")):
        mark = receiver.hits[-1].at
        with caplog.at_level(logging.INFO, "deskphone.remote"):
            await key(app, f"number=201&outgoing_uri={uri}")
        out = await receiver.wait("outgoing_call", after=mark)
        assert out["active_user"] == user, uri
        await key(app, "X")
    said = [r.getMessage() for r in caplog.records if "names no enabled account" in
            r.getMessage()]
    assert len(said) == 2 and "'URI'" in said[0] and "'@pbx.test'" in said[1]   # once each


async def test_remote_offhook_and_onhook_are_presses_done_in_order(yealink, receiver):
    app = await yealink()
    assert app.settings["deskphone.hook.debounce_ms"] == 30       # the default debounce
    await key(app, "OFFHOOK;ONHOOK")
    off = await receiver.wait("off_hook")
    on = await receiver.wait("on_hook")
    assert off.at <= on.at and receiver.events().index("off_hook") < \
        receiver.events().index("on_hook")
    await key(app, "OFFHOOK")
    assert app.phone.hook_off            # at once, not after the debounce time
    await key(app, "ONHOOK")
    assert not app.phone.hook_off


async def test_basic_credentials_in_utf8_or_iso_8859_1(yealink, receiver):
    app = await yealink("static.security.user_password = admin:Pässwörd\n"
                        "deskphone.action_uri_require_auth = 1\n")
    for encoding in ("utf-8", "iso-8859-1"):
        answer = await send(app.http.port, "/servlet?key=DNDOn",
                            headers=(basic("admin", "Pässwörd", encoding),))
        assert answer.status == 200, encoding
    answer = await send(app.http.port, "/servlet?key=DNDOn",
                        headers=(basic("admin", "Passwort", "iso-8859-1"),))
    assert answer.status == 401


# --- Action URL variables -------------------------------------------------------------

async def test_display_remote_and_caller_id_fall_back_to_the_number_remote_is_a_sip_uri(
        yealink, receiver):
    app = await yealink()
    app.engine.incoming("300", "")
    hit = await receiver.wait("incoming_call")
    assert hit["display_remote"] == "300" and hit["callerID"] == "300"
    assert hit["remote"] == "sip:300@pbx.test"


async def test_called_number_on_an_incoming_call_is_the_remote_user_part(yealink, receiver):
    app = await yealink()
    app.engine.incoming("300", "Caller")
    hit = await receiver.wait("incoming_call")
    assert hit["calledNumber"] == "300" and hit["callDirection"] == "incoming"


async def test_duration_is_the_talk_time_on_terminated(yealink, receiver):
    app = await yealink()
    est = await call_201(app, receiver)
    assert est["duration"] == "0"
    await asyncio.sleep(1.1)
    await key(app, "CALLEND")
    term = await receiver.wait("call_terminated")
    assert int(term["duration"]) >= 1 and term["callDirection"] == "outgoing"


async def test_call_id_is_a_decimal_and_asw_takes_it_or_the_sip_call_id(yealink, receiver):
    app = await yealink()
    first = app.engine.incoming("300", "Caller")
    hit = await receiver.wait("incoming_call")
    number = int(hit["call_id"])                  # receivers cast it
    assert hit["sip_call_id"] == first
    await key(app, f"ASW:{number}")
    est = await receiver.wait("call_established")
    assert est["call_id"] == str(number)          # the same number in every event of the call
    await key(app, f"HOLD:{first}")               # the SIP Call-ID works as well
    held = await receiver.wait("hold")
    await key(app, f"UNHOLD:{number}")
    await receiver.wait("unhold", after=held.at)
    await key(app, f"CANCEL:{first}")
    term = await receiver.wait("call_terminated")
    assert term["call_id"] == str(number)


async def test_a_url_without_a_scheme_gets_http(yealink, receiver):
    bare = receiver.base.removeprefix("http://")
    app = await yealink(url_for={"dnd_on": f"{bare}/dnd_on?mac=$mac"})
    await key(app, "DNDOn")
    hit = await receiver.wait("dnd_on")
    assert hit["mac"] == "001565abcdef"
