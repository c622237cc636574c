"""Yealink XML push over real sockets: POST /servlet?push=xml and SIP NOTIFY Event: Yealink-xml.

A FakeHost (a real core and settings writer) behind the real servlet on 127.0.0.1 and the
real NOTIFY listener on a UDP port of 127.0.0.1. Each object is pushed both ways in the
shapes pushers send it and the screen is compared with its reference picture at 128x64
and 128x32 (tests/hw/reference/xml/; the clock and date are fixed before drawing so the
pictures do not depend on the hour). Regenerate as tests/hw/test_render_reference.py says.

Request shapes, each from a public pusher:
- Yealink's XML browser sample scripts (PHP ``push2phone``): ``xml=<object>`` written
  unencoded after ``Content-Type: text/xml``, a ``Referer`` of the push server.
- A FreePBX parked-calls display (Python requests over the Asterisk AMI): the raw
  object as the body, ``Content-Type: text/xml``, ``YealinkIPPhoneStatus Timeout="15"``.
- A mass-notification module (Python requests, ``HTTPDigestAuth``): ``xml=`` and
  ``Content-Type: text/xml; charset=utf-8``, Digest credentials.
- curl ``--data-urlencode xml@file``: a form field, percent-encoded.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web
from PIL import Image, ImageChops

from deskphone.core import effects as fx
from deskphone.core import inputs as ins
from deskphone.core.xml_objects import FetchXml, PushXml, XmlLed
from deskphone.hw.render import render
from deskphone.net.sip_notify import SipNotifyListener
from deskphone.net.web import PhoneWeb
from deskphone.net.xml_push import MAX_XML, XmlFetcher
from fake_host import FakeHost
from support.http_server import LocalHttpServer
from support.sip_udp import SipPeer, notify
from support.waiting import until

REFERENCE = Path(__file__).parent.parent / "hw" / "reference" / "xml"
REGENERATE = os.environ.get("DESKPHONE_REGENERATE_REFERENCE") == "1"
PUSHER = {"push_xml.server": "127.0.0.1", "features.show_action_uri_option": False,
          "push_xml.sip_notify": True, "features.action_uri_limit_ip": "127.0.0.1",
          "deskphone.sip_notify_auth": False, "account.1.enable": True,
          "account.1.label": "Desk", "account.1.user_name": "100",
          "account.1.sip_server.1.address": "127.0.0.1"}

OBJECTS = {
    "text_screen": """<?xml version="1.0" encoding="UTF-8"?>
<YealinkIPPhoneTextScreen Beep="yes" Timeout="0">
<Title>Front door</Title>
<Text>Visitor at the front door: Mr. Müller from Parcel Express</Text>
</YealinkIPPhoneTextScreen>""",
    "text_menu": """<YealinkIPPhoneTextMenu defaultIndex="2" style="numbered" Beep="no"
 Timeout="0">
<Title>Queues</Title>
<MenuItem><Prompt>Sales</Prompt><URI>http://127.0.0.1:1/sales.xml</URI></MenuItem>
<MenuItem><Prompt>Support</Prompt><URI>http://127.0.0.1:1/support.xml</URI></MenuItem>
<MenuItem><Prompt>Billing</Prompt><URI>Dial:7003</URI></MenuItem>
<MenuItem><Prompt>Logout</Prompt><URI>http://127.0.0.1:1/out.xml</URI></MenuItem>
</YealinkIPPhoneTextMenu>""",
    "status": """<?xml version='1.0' encoding='ISO-8859-1' ?><YealinkIPPhoneStatus Beep="no"
 Timeout="15" SessionID="park"><Message Size="double">Lot 1: Alice 0:01:05</Message>
<Message Size="double">Lot 2: Empty</Message></YealinkIPPhoneStatus>""",
    "execute_dial": """<YealinkIPPhoneExecute Beep="no">
<ExecuteItem URI="Dial:201"/></YealinkIPPhoneExecute>""",
}


def picture(host: FakeHost, height: int) -> Image.Image:
    screen = replace(host.screen, corner="09:41")
    if screen.kind == "idle":
        screen = replace(screen, lines=("Tue 14 Jan",) + screen.lines[1:])
    return render(screen, 128, height)


def matches_reference(host: FakeHost, name: str) -> None:
    for height in (64, 32):
        image = picture(host, height)
        path = REFERENCE / f"{name}_{height}.png"
        if REGENERATE:
            REFERENCE.mkdir(parents=True, exist_ok=True)
            image.save(path, optimize=True)
            continue
        assert path.exists(), f"no reference picture {path.name}"
        expected = Image.open(path).convert("1")
        diff = ImageChops.difference(image.convert("L"), expected.convert("L")).getbbox()
        assert diff is None, f"{path.name}: pixels differ inside {diff}"
    if REGENERATE:
        pytest.fail(f"regenerated {name}_*.png: look at them, then run again without the variable")


class Phone:
    """A FakeHost with the real servlet (HTTP) and NOTIFY listener (UDP) on 127.0.0.1."""

    def __init__(self, host: FakeHost, http: LocalHttpServer, sip: SipNotifyListener) -> None:
        self.host, self.http, self.sip = host, http, sip

    async def post(self, body: bytes | str, ctype: str = "text/xml", path: str = "push=xml",
                   **kw) -> tuple[int, str]:
        async with aiohttp.ClientSession(**kw.pop("session", {})) as session:
            async with session.post(f"{self.http.url}/servlet?{path}", data=body,
                                    headers={"Content-Type": ctype,
                                             "Referer": "http://127.0.0.1/"}, **kw) as resp:
                return resp.status, await resp.text()

    async def notify(self, body: str) -> tuple[int, str]:
        peer = await SipPeer.open("127.0.0.1")
        try:
            answer = await peer.ask(notify(self.sip.port, body, event="Yealink-xml",
                                           ctype="application/xml", via_port=peer.port),
                                    self.sip.port)
        finally:
            peer.close()
        return answer.status, (answer.all("warning") or [""])[0]


@pytest.fixture
async def phone(tmp_path):
    made: list[Phone] = []

    async def start(config: dict | None = None) -> Phone:
        host = FakeHost(tmp_path / f"state{len(made)}", {**PUSHER, **(config or {})})
        host.post(ins.RegState(1, "registered"))
        host.posted.clear()
        app = web.Application()
        PhoneWeb(host).servlet.install(app)
        http = await LocalHttpServer(app).start()
        sip = SipNotifyListener(host, "127.0.0.1", 0)
        assert await sip.start()
        made.append(Phone(host, http, sip))
        return made[-1]

    yield start
    for p in made:
        await p.http.stop()
        await p.sip.stop()


@pytest.mark.parametrize("name", sorted(OBJECTS))
@pytest.mark.parametrize("door", ["http", "notify"])
async def test_each_object_pushed_shows_its_reference_picture(phone, name, door):
    p = await phone()
    xml = OBJECTS[name]
    if door == "http":
        # Yealink's sample: xml= unencoded in a text/xml body.
        status, text = await p.post(f"xml={xml}".encode())
    else:
        status, text = await p.notify(xml)
    assert status == 200, text
    kinds = {"text_screen": "xml_text", "text_menu": "xml_menu", "status": "idle",
             "execute_dial": "ringback"}
    assert p.host.screen.kind == kinds[name]
    matches_reference(p.host, name)


async def test_a_raw_body_and_a_form_field_push_the_same_object(phone):
    p = await phone()
    assert (await p.post(OBJECTS["status"]))[0] == 200        # FreePBX parked calls: raw body
    first = p.host.screen
    assert first.lines[1:] == ("Lot 1: Alice 0:01:05", "Lot 2: Empty")
    q = await phone()
    status, _ = await q.post("xml=" + quote(OBJECTS["status"]),
                             ctype="application/x-www-form-urlencoded")
    assert status == 200 and q.host.screen.lines == first.lines


async def test_a_ringing_call_takes_the_screen_and_the_pushed_screen_comes_back(phone):
    p = await phone()
    assert (await p.post(OBJECTS["text_screen"]))[0] == 200
    p.host.post(ins.CallIncoming("in-1", 1, "sip:201@127.0.0.1", "Alice"))
    assert p.host.screen.kind == "ringing"
    p.host.post(ins.CallClosed("in-1", "canceled"))
    assert p.host.screen.kind == "xml_text" and p.host.screen.title == "Front door"


@pytest.mark.parametrize("config", [{"push_xml.server": "10.0.0.1"},
                                    {"push_xml.server": "", "features.action_uri_limit_ip": ""}])
async def test_an_untrusted_source_gets_403_and_nothing_shows(phone, config):
    p = await phone(config)
    status, text = await p.post(OBJECTS["text_screen"])
    assert status == 403 and "not a trusted source" in text
    assert p.host.screen.kind == "idle" and p.host.posted == []


async def test_over_notify_push_xml_sip_notify_off_or_another_server_is_403(phone):
    p = await phone({"push_xml.sip_notify": False})
    status, why = await p.notify(OBJECTS["text_screen"])
    assert status == 403 and "push_xml.sip_notify" in why and p.host.screen.kind == "idle"
    q = await phone({"push_xml.server": "10.0.0.1"})
    status, why = await q.notify(OBJECTS["text_screen"])
    assert status == 403 and "push_xml.server" in why and q.host.posted == []


@pytest.mark.parametrize("body, status, says", [
    ("<YealinkIPPhoneTextScreen><Title>x</Title>", 400, "not well-formed"),
    ("<YealinkIPPhoneImageScreen><Image>x</Image></YealinkIPPhoneImageScreen>", 400,
     "not a Yealink XML object this phone takes"),
    ("<YealinkIPPhoneTextMenu><Title>x</Title></YealinkIPPhoneTextMenu>", 400,
     "without a MenuItem"),
    ("<YealinkIPPhoneTextScreen Timeout='soon'><Text>x</Text></YealinkIPPhoneTextScreen>", 400,
     "Timeout must be"),
    ("<YealinkIPPhoneExecute><ExecuteItem URI='Reboot:now'/></YealinkIPPhoneExecute>", 400,
     "expected Key:, Dial:, Led: or Wav.Play:"),
    # The billion laughs: refused at the DOCTYPE, nothing expanded.
    ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
     '"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><YealinkIPPhoneTextScreen><Text>&lol2;'
     '</Text></YealinkIPPhoneTextScreen>', 400, "DTDs and entity declarations"),
    # An external entity (XXE): refused the same way, no file read.
    ('<!DOCTYPE x [<!ENTITY f SYSTEM "file:///etc/passwd">]><YealinkIPPhoneTextScreen>'
     '<Text>&f;</Text></YealinkIPPhoneTextScreen>', 400, "DTDs and entity declarations"),
    ("<YealinkIPPhoneTextScreen><Text>" + "x" * MAX_XML + "</Text></YealinkIPPhoneTextScreen>",
     413, "larger than 10000 bytes"),
])
async def test_a_bad_object_gets_a_clear_4xx_and_nothing_shows(phone, body, status, says):
    p = await phone()
    got, text = await p.post(body)
    assert got == status and says in text
    assert p.host.screen.kind == "idle" and p.host.posted == []
    got, why = await p.notify(body)
    assert got == status and says in why and p.host.posted == []


async def test_push_credentials_are_required_when_set_basic_and_digest(phone):
    p = await phone({"push_xml.username": "pusher", "push_xml.password": "Push-pw-1"})
    status, _ = await p.post(OBJECTS["text_screen"])
    assert status == 401 and p.host.posted == []
    status, _ = await p.post(OBJECTS["text_screen"], auth=aiohttp.BasicAuth("pusher", "wrong"))
    assert status == 401 and p.host.posted == []
    status, _ = await p.post(OBJECTS["text_screen"],
                             auth=aiohttp.BasicAuth("pusher", "Push-pw-1"))
    assert status == 200 and p.host.screen.kind == "xml_text"
    # The mass-notification module's shape: requests' HTTPDigestAuth, xml= in text/xml.
    q = await phone({"push_xml.username": "pusher", "push_xml.password": "Push-pw-1"})
    digest = aiohttp.DigestAuthMiddleware("pusher", "Push-pw-1")
    status, text = await q.post(f"xml={OBJECTS['status']}", ctype="text/xml; charset=utf-8",
                                session={"middlewares": (digest,)})
    assert status == 200, text
    assert q.host.screen.lines[1] == "Lot 1: Alice 0:01:05"


async def test_menu_keys_choose_and_ok_fetches_the_items_uri(phone):
    served = []

    async def support(request: web.Request) -> web.Response:
        served.append(request.path)
        return web.Response(text="<YealinkIPPhoneTextScreen><Title>Support</Title>"
                                 "<Text>3 calls waiting</Text></YealinkIPPhoneTextScreen>",
                            content_type="text/xml")

    app = web.Application()
    app.router.add_get("/support.xml", support)
    async with LocalHttpServer(app) as server:
        p = await phone()
        fetcher = XmlFetcher(p.host)
        p.host.on_effect(lambda e: fetcher.execute(e) if isinstance(e, FetchXml) else None)
        menu = OBJECTS["text_menu"].replace("http://127.0.0.1:1", server.url)
        assert (await p.post(menu))[0] == 200
        assert p.host.screen.selected == 1                 # defaultIndex="2"
        p.host.press("DOWN")
        p.host.press("UP")
        p.host.press("OK")
        await until(lambda: p.host.screen.title == "Support")
        assert served == ["/support.xml"] and p.host.screen.lines[0] == "3 calls waiting"
        await fetcher.close()


async def test_a_menu_item_dial_uri_dials_and_x_leaves(phone):
    p = await phone()
    assert (await p.post(OBJECTS["text_menu"]))[0] == 200
    p.host.press("3")                                      # the third item: Dial:7003
    assert [e.number for e in p.host.effects if isinstance(e, fx.EngineDial)] == ["7003"]
    assert (await p.post(OBJECTS["text_menu"]))[0] == 200
    p.host.press("X")
    assert p.host.screen.kind == "ringback"                # back under: the call it dialled


async def test_execute_keys_and_leds_become_inputs(phone):
    p = await phone()
    status, _ = await p.post("<YealinkIPPhoneExecute><ExecuteItem URI='Key:F4'/>"
                             "<ExecuteItem URI='Led:LINE1_GREEN=slowflash'/>"
                             "<ExecuteItem URI='Wav.Play:http://127.0.0.1:1/bell.wav'/>"
                             "</YealinkIPPhoneExecute>")
    assert status == 200
    assert p.host.posted == [ins.KeyPress("F4", remote=True), XmlLed("line1", "slow")]
    assert p.host.screen.kind == "menu" and fx.SetLed("line1", "slow") in p.host.effects


async def test_a_text_screen_times_out_and_a_status_session_clears(phone):
    p = await phone()
    assert (await p.post(OBJECTS["text_screen"].replace('Timeout="0"', 'Timeout="5"')))[0] == 200
    assert fx.StartTimer("xml", 5.0) in p.host.effects
    p.host.post(ins.TimerFired("xml"))
    assert p.host.screen.kind == "idle"
    assert (await p.post(OBJECTS["status"]))[0] == 200
    assert (await p.post('<YealinkIPPhoneStatus SessionID="park"><Message/>'
                         '</YealinkIPPhoneStatus>'))[0] == 200
    assert p.host.screen.lines[1:] == ("", "")
    assert isinstance(p.host.posted[-1], PushXml)


async def test_pushes_at_once_are_each_answered(phone):
    p = await phone()
    results = await asyncio.gather(*(p.post(OBJECTS["status"]) for _ in range(20)))
    assert {status for status, _ in results} == {200}
