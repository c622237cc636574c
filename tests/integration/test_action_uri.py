"""Action URI over real HTTP on 127.0.0.1: every key value, every client form, the phonecfg
answer and the screen capture, against the whole phone on the simulated board.

Each key test sends the request a Yealink client would send and checks what the
phone did (screen, LEDs, settings, the simulated PBX) and the Action URL event it
fired, as the real receiver got it.
"""

from __future__ import annotations

import asyncio
import base64
import io

import aiohttp
import pytest
import yarl
from PIL import Image

from deskphone.hw.render import render
from support.phone import settle, start_phone
from support.waiting import until

PASSWORD = "Sesame-42"
REMOTE = f"""\
features.action_uri_limit_ip = 127.0.0.1
features.show_action_uri_option = 0
static.security.user_password = admin:{PASSWORD}
"""


@pytest.fixture
async def remote(tmp_path, receiver):
    app = await start_phone(tmp_path, receiver.base, extra=REMOTE)
    await receiver.wait("registered")
    yield app
    await app.stop()


async def request(app, path_qs: str, method: str = "GET", *, port: int | None = None,
                  scheme: str = "http", **kw) -> tuple[int, str, aiohttp.ClientResponse]:
    """Send ``path_qs`` exactly as written (no re-encoding); wait until the phone handled it."""
    port = port or app.http.port
    url = yarl.URL(f"{scheme}://127.0.0.1:{port}{path_qs}", encoded=True)
    async with aiohttp.ClientSession() as session:
        async with session.request(method, url, allow_redirects=False, ssl=False, **kw) as resp:
            body = await resp.read()
    await settle(app)
    text = body.decode("utf-8", "replace") if not resp.content_type.startswith("image/") else ""
    return resp.status, text, resp


async def key(app, value: str) -> None:
    status, text, _ = await request(app, f"/servlet?key={value}")
    assert status == 200, text
    assert text == "OK\n"


def basic(user: str, password: str) -> dict[str, str]:
    """An ``Authorization: Basic`` header, as ``http://user:pass@phone/`` clients send it."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


COVERED: set[str] = set()


def covers(*values: str):
    def mark(fn):
        COVERED.update(values)
        return fn
    return mark


async def connected(app, receiver, number: str = "201"):
    await key(app, f"number={number}")
    out = await receiver.wait("outgoing_call")
    est = await receiver.wait("call_established")
    return out, est


async def ringing(app, receiver, number: str = "300"):
    call_id = app.engine.incoming(number, "Caller")
    await receiver.wait("incoming_call")
    return call_id


# --------------------------------------------------------------- the keys

@covers("OK", "ENTER")
@pytest.mark.parametrize("value", ["OK", "ENTER"])
async def test_ok_and_enter_open_the_menu_when_idle_and_answer_a_ringing_call(
        remote, receiver, value):
    await key(remote, value)
    assert remote.display.screen.kind == "menu"
    await key(remote, "X")
    call_id = await ringing(remote, receiver)
    await key(remote, value)
    hit = await receiver.wait("call_established")
    assert hit["sip_call_id"] == call_id


@covers("SPEAKER")
async def test_speaker(remote, receiver):
    await key(remote, "SPEAKER")
    await receiver.wait("handfree")
    assert remote.leds.state["speaker"] == "on"
    assert remote.display.screen.kind == "dialing"


@covers("HEADSET")
async def test_headset(remote, receiver):
    await key(remote, "HEADSET")
    await receiver.wait("headset")
    assert remote.leds.state["headset"] == "on"


@covers("F_TRANSFER")
async def test_f_transfer(remote, receiver):
    _, est = await connected(remote, receiver)
    await key(remote, "F_TRANSFER")
    hit = await receiver.wait("transfer_call")
    assert hit["sip_call_id"] == est["sip_call_id"]
    assert remote.display.screen.title == "Transfer to"


@covers("VOLUME_UP", "VOLUME_DOWN")
async def test_volume(remote):
    before = remote.phone.volume
    await key(remote, "VOLUME_UP")
    assert remote.phone.volume == before + 1
    assert remote.display.screen.bar == before + 1
    await key(remote, "VOLUME_DOWN;VOLUME_DOWN")
    assert remote.phone.volume == before - 1


@covers("MUTE")
async def test_mute_in_a_call(remote, receiver):
    _, est = await connected(remote, receiver)
    await key(remote, "MUTE")
    hit = await receiver.wait("mute")
    assert hit["sip_call_id"] == est["sip_call_id"]
    assert remote.leds.state["mute"] == "on"


async def test_mute_while_idle_answers_200_and_does_nothing(remote, receiver):
    await receiver.quiet(0.1)
    hits, screen = len(receiver.hits), remote.display.screen
    await key(remote, "MUTE")
    await receiver.quiet(0.1)
    assert len(receiver.hits) == hits
    assert remote.display.screen.lines == screen.lines and remote.leds.state["mute"] == "off"


@covers("F_HOLD", "HOLD", "UNHOLD")
async def test_hold_keys(remote, receiver):
    _, est = await connected(remote, receiver)
    await key(remote, "F_HOLD")                   # the Hold key: a toggle
    await receiver.wait("hold")
    assert remote.engine.calls[est["sip_call_id"]].state == "held"
    await key(remote, "UNHOLD")
    await receiver.wait("unhold")
    await key(remote, "HOLD")
    hits = [h for h in receiver.hits if h.event == "hold"]
    await receiver.quiet(0.05)
    assert len([h for h in receiver.hits if h.event == "hold"]) == len(hits) == 2
    await key(remote, "HOLD")                     # already held: nothing more
    await receiver.quiet(0.05)
    assert len([h for h in receiver.hits if h.event == "hold"]) == 2


@covers("F_CONFERENCE")
async def test_conference(remote, receiver):
    await connected(remote, receiver)
    await key(remote, "F_CONFERENCE")
    assert remote.display.screen.lines[2] == "No conference"


@covers("X")
async def test_x_rejects_a_ringing_call(remote, receiver):
    call_id = await ringing(remote, receiver)
    await key(remote, "X")
    hit = await receiver.wait("reject_incoming_call")
    assert hit["sip_call_id"] == call_id


@covers(*"0123456789*")
async def test_digits_and_star(remote):
    await key(remote, "0;1;2;3;4;5;6;7;8;9;*")
    assert remote.display.screen.kind == "dialing"
    assert remote.display.screen.lines[0] == "0123456789*"


@covers("POUND", "%23")
@pytest.mark.parametrize("pound", ["POUND", "%23"])
async def test_pound_sends_the_number(remote, receiver, pound):
    await key(remote, f"2;0;1;{pound}")
    hit = await receiver.wait("outgoing_call")
    assert hit["calledNumber"] == "201"


@covers("L1", "L2")
async def test_line_keys(remote, receiver):
    await key(remote, "L1")
    assert remote.display.screen.kind == "dialing"
    assert remote.display.screen.title == "Desk"
    await key(remote, "X")
    call_id = await ringing(remote, receiver)
    await key(remote, "L2")                       # a ringing call is answered from any line key
    hit = await receiver.wait("call_established")
    assert hit["sip_call_id"] == call_id


async def test_a_line_key_beyond_the_board_is_a_bad_request(remote):
    status, text, _ = await request(remote, "/servlet?key=L3")
    assert status == 400
    assert text == "Bad request: no line key L3 on this phone (it has L1..L2)\n"


@covers("F1", "F2", "F3", "F4")
async def test_soft_keys_act_as_labelled_on_the_screen(remote, receiver):
    await key(remote, "F1")                       # idle: DND
    await receiver.wait("dnd_on")
    await key(remote, "F2")                       # idle: Calls (History)
    assert remote.display.screen.kind == "history"
    await key(remote, "X")
    await key(remote, "F3")                       # idle: Redial, nothing dialled yet
    assert remote.display.screen.kind == "idle"
    await key(remote, "F4")                       # idle: Menu
    assert remote.display.screen.kind == "menu"


@covers("MSG")
async def test_msg(remote):
    await key(remote, "MSG")
    # No voice_mail.number.1 set: MSG says so (core.voicemail; with one it dials it)
    assert remote.display.screen.lines[2] == "No voicemail number set"


@covers("RD")
async def test_redial(remote, receiver):
    await key(remote, "number=202")               # busy
    first = await receiver.wait("remote_busy")
    await settle(remote)
    await key(remote, "RD")                       # the placed list, as on a Yealink
    assert remote.display.screen.kind == "calllog"
    await key(remote, "RD")                       # RD again: its latest, dialled
    hit = await receiver.wait("outgoing_call", after=first.at + 1e-6)
    assert hit["calledNumber"] == "202"


@covers("UP", "DOWN", "LEFT", "RIGHT")
async def test_navigation(remote):
    await key(remote, "OK;DOWN;DOWN")
    assert remote.phone.menu.index == 2
    await key(remote, "UP")
    assert remote.phone.menu.index == 1
    await key(remote, "X;1;2;3;LEFT")
    assert remote.display.screen.lines[0] == "12"
    await key(remote, "RIGHT")                    # nothing to do: 200, nothing changes
    assert remote.display.screen.lines[0] == "12"


@covers("Reboot")
async def test_reboot_restarts_the_daemon(remote):
    await key(remote, "Reboot")
    await asyncio.wait_for(remote.wait(), 2)
    assert remote.restart_requested is False


@covers("Reset")
async def test_reset_clears_the_runtime_state_then_restarts(tmp_path, receiver):
    app = await start_phone(tmp_path, receiver.base, extra=REMOTE)
    await receiver.wait("registered")
    await key(app, "DNDOn")
    await receiver.wait("dnd_on")
    assert await app.store.flush()
    assert "features.dnd.enable" in (tmp_path / "state" / "state.cfg").read_text()
    await key(app, "Reset")
    await asyncio.wait_for(app.wait(), 2)
    assert app.restart_requested is True
    await app.stop()
    assert "features.dnd.enable" not in (tmp_path / "state" / "state.cfg").read_text()
    again = await start_phone(tmp_path, receiver.base, extra=REMOTE)
    try:
        assert again.settings["features.dnd.enable"] is False
    finally:
        await again.stop()


@covers("AutoP")
async def test_autop_runs_auto_provisioning(remote):
    await key(remote, "AutoP")
    # No server configured: it fails at once.
    await until(lambda: "Provisioning failed" in remote.display.screen.lines, 1.0,
                "the provisioning failure on the screen")
    assert "Provisioning failed" in remote.display.screen.lines


@covers("DNDOn", "DNDOff")
async def test_dnd(remote, receiver):
    await key(remote, "DNDOn")
    await receiver.wait("dnd_on")
    assert remote.settings["features.dnd.enable"] is True
    assert remote.leds.state["dnd"] == "on"
    await key(remote, "DNDOff")
    await receiver.wait("dnd_off")
    assert remote.settings["features.dnd.enable"] is False


@covers("number=..&outgoing_uri=..")
@pytest.mark.parametrize("query", [
    "key=number=201&outgoing_uri=100@pbx.test",
    "key=number=201&outgoing_uri=sip:100@pbx.test",
    "key=number=201&outgoing_uri=100",
    "key=number=201&outgoing_uri=1",
    "number=201&outgoing_uri=100@pbx.test",       # without key=, as clients send it
    "number=201",
])
async def test_number_places_a_call(remote, receiver, query):
    status, text, _ = await request(remote, f"/servlet?{query}")
    assert status == 200, text
    hit = await receiver.wait("outgoing_call")
    assert hit["calledNumber"] == "201"
    assert hit["active_url"] == "sip:100@pbx.test"
    await receiver.wait("call_established")


async def test_number_from_an_unknown_account_dials_from_the_default_account(remote, receiver):
    """As the firmware does (yealink-facts.md): an outgoing_uri naming no enabled account
    is not a 400; the call goes out from the default account."""
    status, text, _ = await request(remote, "/servlet?key=number=201&outgoing_uri=999@nowhere")
    assert status == 200
    hit = await receiver.wait("outgoing_call")
    assert hit["active_user"] == "100" and hit["calledNumber"] == "201"


@covers("OFFHOOK", "ONHOOK")
async def test_hook(remote, receiver):
    await key(remote, "OFFHOOK")
    await receiver.wait("off_hook")
    assert remote.display.screen.kind == "dialing"
    await key(remote, "ONHOOK")
    await receiver.wait("on_hook")
    assert remote.display.screen.kind == "idle"


@covers("ANSWER", "ASW")
@pytest.mark.parametrize("value", ["ANSWER", "ASW"])
async def test_answer(remote, receiver, value):
    call_id = await ringing(remote, receiver)
    await key(remote, value)
    hit = await receiver.wait("call_established")
    assert hit["sip_call_id"] == call_id
    assert remote.engine.calls[call_id].state == "connected"


@covers("ASW:<call-id>", "CANCEL:<call-id>")
async def test_answer_and_cancel_by_call_id(remote, receiver):
    first = await ringing(remote, receiver, "300")
    second = remote.engine.incoming("301", "Second")
    await settle(remote)
    await key(remote, f"CANCEL:{second}")
    hit = await receiver.wait("reject_incoming_call")
    assert hit["sip_call_id"] == second
    await key(remote, f"ASW:{first}")
    hit = await receiver.wait("call_established")
    assert hit["sip_call_id"] == first


@covers("HOLD:<call-id>", "UNHOLD:<call-id>")
async def test_hold_by_call_id(remote, receiver):
    _, est = await connected(remote, receiver)
    await key(remote, f"HOLD:{est['sip_call_id']}")
    hit = await receiver.wait("hold")
    assert hit["sip_call_id"] == est["sip_call_id"]
    await key(remote, f"UNHOLD:{est['sip_call_id']}")
    await receiver.wait("unhold")


@covers("CANCEL")
async def test_cancel_ends_an_outgoing_call_before_it_is_answered(remote, receiver):
    await key(remote, "number=203")               # rings forever
    out = await receiver.wait("outgoing_call")
    await key(remote, "CANCEL")
    hit = await receiver.wait("cancel_callout")
    assert hit["sip_call_id"] == out["sip_call_id"]


@covers("ATrans=xxx")
async def test_attended_transfer(remote, receiver):
    _, est = await connected(remote, receiver)
    await key(remote, "ATrans=205")
    await receiver.wait("transfer_call")
    hit = await receiver.wait("attended_transfer_call")
    assert hit["sip_call_id"] == est["sip_call_id"]
    await receiver.wait("transfer_finished")


@covers("BTrans=xxx")
async def test_blind_transfer(remote, receiver):
    _, est = await connected(remote, receiver)
    await key(remote, "BTrans=203")
    hit = await receiver.wait("blind_transfer_call")
    assert hit["sip_call_id"] == est["sip_call_id"]
    await receiver.wait("transfer_finished")


@covers("CALLEND", "CallEnd")
@pytest.mark.parametrize("value", ["CALLEND", "CallEnd"])
async def test_callend(remote, receiver, value):
    _, est = await connected(remote, receiver)
    await key(remote, value)
    hit = await receiver.wait("call_terminated")
    assert hit["sip_call_id"] == est["sip_call_id"]
    assert est["sip_call_id"] not in remote.engine.calls


@covers("AlwaysFwdOn=target", "AlwaysFwdOff", "BusyFwdOn=target", "BusyFwdOff",
        "NoAnswFwdOn=target=n", "NoAnswFwdOff")
@pytest.mark.parametrize("value, kind, event", [
    ("AlwaysFwdOn=555", "always", "always_fwd"),
    ("BusyFwdOn=556", "busy", "busy_fwd"),
    ("NoAnswFwdOn=557=4", "no_answer", "no_answer_fwd"),
])
async def test_forwards(remote, receiver, value, kind, event):
    await key(remote, value)
    await receiver.wait(f"{event}_on")
    assert remote.settings[f"forward.{kind}.enable"] is True
    assert remote.settings[f"forward.{kind}.target"] == value.split("=")[1]
    if kind == "no_answer":
        assert remote.settings["forward.no_answer.timeout"] == 4
    off = {"always": "AlwaysFwdOff", "busy": "BusyFwdOff", "no_answer": "NoAnswFwdOff"}[kind]
    await key(remote, off)
    await receiver.wait(f"{event}_off")
    assert remote.settings[f"forward.{kind}.enable"] is False


SEED_AND_DOCUMENTED = {
    "OK", "ENTER", "SPEAKER", "F_TRANSFER", "VOLUME_UP", "VOLUME_DOWN", "MUTE", "F_HOLD",
    "F_CONFERENCE", "X", *"0123456789*", "POUND", "%23", "L1", "L2", "F1", "F2", "F3", "F4",
    "MSG", "HEADSET", "RD", "UP", "DOWN", "LEFT", "RIGHT", "Reboot", "AutoP", "DNDOn",
    "DNDOff", "number=..&outgoing_uri=..", "OFFHOOK", "ONHOOK", "ANSWER", "Reset",
    "ATrans=xxx", "BTrans=xxx", "CALLEND", "HOLD", "UNHOLD", "ASW", "CANCEL",
    "ASW:<call-id>", "CANCEL:<call-id>", "HOLD:<call-id>", "UNHOLD:<call-id>",
    "AlwaysFwdOn=target", "BusyFwdOn=target", "NoAnswFwdOn=target=n", "AlwaysFwdOff",
    "BusyFwdOff", "NoAnswFwdOff", "CallEnd",
}


def test_every_key_value_has_a_test():
    assert SEED_AND_DOCUMENTED - COVERED == set()


# ------------------------------------------------------------ client forms

@pytest.mark.parametrize("path", ["/servlet", "/cgi-bin/ConfigManApp.com",
                                  "/cgi-bin/cgiServer.exx"])
async def test_legacy_paths(remote, receiver, path):
    status, _, _ = await request(remote, f"{path}?key=DNDOn")
    assert status == 200
    await receiver.wait("dnd_on")


@pytest.mark.parametrize("name", ["Key", "KEY", "kEy"])
async def test_key_name_in_any_case(remote, receiver, name):
    status, _, _ = await request(remote, f"/servlet?{name}=DNDOn")
    assert status == 200
    await receiver.wait("dnd_on")


async def test_post_with_the_query_in_the_url(remote, receiver):
    status, _, _ = await request(remote, "/servlet?key=DNDOn", "POST")
    assert status == 200
    await receiver.wait("dnd_on")


async def test_post_with_a_form_body(remote, receiver):
    status, _, _ = await request(remote, "/servlet", "POST", data={"key": "DNDOn"})
    assert status == 200
    await receiver.wait("dnd_on")


async def test_an_oversized_post_is_refused_and_does_nothing(remote, receiver):
    status, text, _ = await request(remote, "/servlet", "POST",
                                    data="key=DNDOn&pad=" + "x" * 200_000,
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 413 and "larger than" in text
    await receiver.quiet(0.1)
    assert "dnd_on" not in receiver.events()


@pytest.mark.parametrize("sep", [";", "%3B", "%3b"])
async def test_several_keys_in_order(remote, receiver, sep):
    await key(remote, sep.join(["2", "0", "1", "OK"]))
    hit = await receiver.wait("outgoing_call")
    assert hit["calledNumber"] == "201"


async def test_a_bad_value_in_a_sequence_does_nothing_at_all(remote, receiver):
    status, text, _ = await request(remote, "/servlet?key=DNDOn;OFFHOOK;NOPE")
    assert (status, text) == (400, "Bad request: unknown key value 'NOPE'\n")
    await receiver.quiet(0.1)
    assert "dnd_on" not in receiver.events() and "off_hook" not in receiver.events()


async def test_plus_in_a_number_stays_a_plus(remote, receiver):
    await key(remote, "number=+201")
    hit = await receiver.wait("outgoing_call")
    assert hit["calledNumber"] == "+201"


async def test_no_key_is_a_bad_request(remote):
    status, text, _ = await request(remote, "/cgi-bin/ConfigManApp.com?foo=bar")
    assert status == 400 and "no key=" in text


# ---------------------------------------------------------------- phonecfg

@pytest.mark.parametrize("query", [
    "phonecfg=get[&accounts=1][&dnd=1][&fw=1]",               # brackets sent literally
    "phonecfg=get%5B&accounts=1%5D%5B&dnd=1%5D%5B&fw=1%5D",   # ... or encoded
    "phonecfg=get&accounts=1&dnd=1&fw=1",
])
async def test_phonecfg(remote, receiver, query):
    await key(remote, "AlwaysFwdOn=555")
    await receiver.wait("always_fwd_on")
    status, text, resp = await request(remote, f"/servlet?{query}")
    assert status == 200 and resp.content_type == "text/plain"
    assert text.splitlines() == [
        "Firmware=0.1.0", "Model=deskphone", "MAC=001565abcdef",
        "Account1|Desk|100|Desk Phone|Registered|100@pbx.test|pbx.test|UDP",
        "DND=0",
        "AlwaysFwd=1", "AlwaysFwdTarget=555", "BusyFwd=0", "BusyFwdTarget=",
        "NoAnswFwd=0", "NoAnswFwdTarget=", "NoAnswFwdRings=2",
    ]
    # What clients do with it: the outgoing URI field dials from that account.
    fields = next(line for line in text.splitlines() if line.startswith("Account")).split("|")
    assert fields[1] == "Desk" and fields[2] == "100" and fields[3] == "Desk Phone"
    status, _, _ = await request(remote, f"/servlet?key=number=201&outgoing_uri={fields[5]}")
    assert status == 200


async def test_phonecfg_only_what_is_asked(remote):
    status, text, _ = await request(remote, "/servlet?phonecfg=get[&accounts=0][&dnd=1]")
    assert status == 200
    assert text == "Firmware=0.1.0\nModel=deskphone\nMAC=001565abcdef\nDND=0\n"


@pytest.mark.parametrize("query, reason", [
    ("phonecfg=set", "phonecfg takes only 'get'"),
    ("phonecfg=get&accounts=2", "accounts must be 0 or 1"),
])
async def test_phonecfg_bad_requests(remote, query, reason):
    status, text, _ = await request(remote, f"/servlet?{query}")
    assert status == 400 and reason in text


# ------------------------------------------------------------ screen capture

@pytest.mark.parametrize("path", ["/screencapture", "/screencapture/download",
                                  "/servlet?command=screenshot"])
async def test_screencapture_is_the_current_screen_pixel_for_pixel(remote, receiver, path):
    await key(remote, "DNDOn")
    await receiver.wait("dnd_on")
    await settle(remote)
    status, _, resp = await request(remote, path)
    assert status == 200 and resp.content_type == "image/png"
    async with aiohttp.ClientSession() as s:
        async with s.get(yarl.URL(f"http://127.0.0.1:{remote.http.port}{path}", encoded=True)) as r:
            png = await r.read()
    image = Image.open(io.BytesIO(png)).convert("1")
    expected = render(remote.display.screen)
    assert image.size == (expected.width * 4, expected.height * 4)
    assert image.resize(expected.size, Image.Resampling.NEAREST).tobytes() == expected.tobytes()
    assert "dnd" in remote.display.screen.icons          # the capture shows the DND icon
    disposition = resp.headers.get("Content-Disposition", "")
    assert disposition.startswith("attachment;") == path.endswith("/download")


# -------------------------------------------------------------------- HTTPS

async def test_https_serves_the_servlet_with_a_self_signed_certificate(remote, receiver,
                                                                       tmp_path):
    assert remote.http.https_port
    status, _, _ = await request(remote, "/servlet?key=DNDOn", port=remote.http.https_port,
                                 scheme="https")
    assert status == 200
    await receiver.wait("dnd_on")
    cert = (tmp_path / "state" / "tls" / "cert.pem").read_text()
    assert cert.startswith("-----BEGIN CERTIFICATE-----")
    assert oct((tmp_path / "state" / "tls" / "key.pem").stat().st_mode & 0o777) == "0o600"


async def test_wui_switches_turn_the_listeners_off(tmp_path, receiver):
    app = await start_phone(tmp_path, receiver.base,
                            extra=REMOTE + "static.wui.http_enable = 0\n")
    try:
        assert app.http.https_port
        ports = [address[1] for address in app.http._runner.addresses]
        assert ports == [app.http.https_port]       # HTTPS only: nothing plain listens
    finally:
        await app.stop()
    app = await start_phone(tmp_path, receiver.base,
                            extra=REMOTE + "static.wui.https_enable = 0\n")
    try:
        assert app.http.https_port is None
        assert [address[1] for address in app.http._runner.addresses] == [app.http.port]
        status, _, _ = await request(app, "/servlet?key=MUTE")
        assert status == 200
    finally:
        await app.stop()

