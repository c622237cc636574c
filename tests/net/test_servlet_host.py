"""The servlet and the web pages against a fake PhoneHost, over a real aiohttp server on 127.0.0.1.

No whole phone: a real core and a real settings writer behind ``FakeHost``.
Each request's answer (status, text) and what it posted to the phone are
checked, for trusted, untrusted, undecided and denied sources.
"""

from __future__ import annotations

import base64
import io
import re

import aiohttp
import pytest
from aiohttp import web
from PIL import Image

from deskphone.core import inputs as ins
from deskphone.core.features import FEATURES
from deskphone.host import PhoneHost
from deskphone.net.web import PhoneWeb
from fake_host import FakeHost

PASSWORD = "s3cret-pw"
TRUSTED = {"features.action_uri_limit_ip": "127.0.0.1"}
ALLOWED = {**TRUSTED, "deskphone.trust.127.0.0.1": "allow"}
def COOKIES() -> aiohttp.CookieJar:
    return aiohttp.CookieJar(unsafe=True)      # the server is an IP address


ADMIN = {"static.security.user_password": f"admin:{PASSWORD}"}


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class Served:
    """A FakeHost behind the phone's web app (servlet + pages) on 127.0.0.1, port 0."""

    def __init__(self, host: FakeHost, runner: web.AppRunner, port: int, web_: PhoneWeb) -> None:
        self.host, self.runner, self.port, self.web = host, runner, port, web_

    async def get(self, path: str, **kw) -> tuple[int, str]:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{self.port}{path}", **kw) as resp:
                return resp.status, await resp.text(errors="replace")


@pytest.fixture
async def serve(tmp_path):
    runners: list[web.AppRunner] = []

    async def start(config: dict) -> Served:
        host = FakeHost(tmp_path / "state", config)
        phone_web = PhoneWeb(host)
        app = web.Application()
        phone_web.servlet.install(app)
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return Served(host, runner, runner.addresses[0][1], phone_web)

    yield start
    for runner in runners:
        await runner.cleanup()


def test_fake_host_has_every_member_of_the_port(tmp_path):
    members = {name for name in vars(PhoneHost) if not name.startswith("_")}
    host = FakeHost(tmp_path)
    assert members >= {"post", "settings", "writer", "frame", "registrations"}
    missing = [name for name in members if not hasattr(host, name)]
    assert missing == []


@pytest.mark.parametrize("config, status, text, posted", [
    # Trusted and allowed: the key is done.
    (ALLOWED, 200, "OK", [ins.SetDnd(True)]),
    ({**TRUSTED, "features.show_action_uri_option": False}, 200, "OK", [ins.SetDnd(True)]),
    # Untrusted: 403, nothing posted.
    ({}, 403, "Remote control forbidden: this address is not a trusted source", []),
    ({"features.action_uri_limit_ip": "10.0.0.1"}, 403, "not a trusted source", []),
    # Switched off.
    ({**ALLOWED, "features.action_uri.enable": False}, 403, "Action URI is disabled", []),
    # Denied on the prompt once.
    ({**TRUSTED, "deskphone.trust.127.0.0.1": "deny"}, 403, "Remote control forbidden", []),
    # Trusted, no decision yet: 403 and the phone asks.
    (TRUSTED, 403, "Remote control forbidden", [ins.RemoteControlAsk("127.0.0.1")]),
    # Credentials required.
    ({**ALLOWED, **ADMIN, "deskphone.action_uri_require_auth": True}, 401,
     "Unauthorized: credentials required", []),
    ({**ALLOWED, "deskphone.action_uri_require_auth": True}, 401,
     "credentials required but no admin password is set", []),
])
async def test_a_key_from_each_kind_of_source(serve, config, status, text, posted):
    served = await serve(config)
    got_status, got_text = await served.get("/servlet?key=DNDOn")
    assert got_status == status and text in got_text
    assert served.host.posted == posted
    assert served.host.settings["features.dnd.enable"] is (posted == [ins.SetDnd(True)])
    if posted and isinstance(posted[0], ins.RemoteControlAsk):
        assert served.host.screen.kind == "prompt"


async def test_the_prompts_answer_is_kept_by_the_writer_and_opens_the_door(serve):
    served = await serve(TRUSTED)
    assert (await served.get("/servlet?key=DNDOn"))[0] == 403
    served.host.press("OK")                     # "Allow" at the phone
    assert served.host.store.snapshot()["deskphone.trust.127.0.0.1"] == "allow"
    served.host.posted.clear()
    assert await served.get("/servlet?key=DNDOn") == (200, "OK\n")
    assert served.host.posted == [ins.SetDnd(True)]


async def test_credentials_right_wrong_and_the_lockout(serve):
    served = await serve({**ALLOWED, **ADMIN, "deskphone.action_uri_require_auth": True})
    assert await served.get("/servlet?key=DNDOn", headers=basic("admin", PASSWORD)) \
        == (200, "OK\n")
    for _ in range(3):
        status, text = await served.get("/servlet?key=DNDOff", headers=basic("admin", "no"))
        assert (status, text) == (401, "Unauthorized: wrong user name or password\n")
    status, text = await served.get("/servlet?key=DNDOff", headers=basic("admin", PASSWORD))
    assert status == 401 and "locked out after 3 wrong passwords" in text
    # The login form's fields count as credentials too (and are locked out the same).
    status, _ = await served.get(f"/servlet?p=login&username=admin&pwd={PASSWORD}&key=X")
    assert status == 401
    assert served.host.posted == [ins.SetDnd(True)]


async def test_a_bad_value_is_400_and_nothing_is_posted(serve):
    served = await serve(ALLOWED)
    status, text = await served.get("/servlet?key=OK;BOGUS")
    assert status == 400 and text.startswith("Bad request: unknown key value 'BOGUS'")
    assert served.host.posted == []


async def test_phonecfg_reads_the_host_and_the_feature_table(serve):
    served = await serve({**ALLOWED, "forward.busy.enable": True, "forward.busy.target": "777",
                          "account.1.enable": True, "account.1.user_name": "100",
                          "account.1.sip_server.1.address": "pbx.test"})
    status, text = await served.get("/servlet?phonecfg=get&accounts=1&dnd=1&fw=1")
    assert status == 200
    lines = text.splitlines()
    assert lines[:3] == ["Firmware=9.9.9", "Model=deskphone", "MAC=001565abcdef"]
    assert lines[3].startswith("Account1|") and "|Registering|" in lines[3]
    assert lines[4:] == ["DND=0", "AlwaysFwd=0", "AlwaysFwdTarget=", "BusyFwd=1",
                         "BusyFwdTarget=777", "NoAnswFwd=0", "NoAnswFwdTarget=",
                         f"NoAnswFwdRings={served.host.settings['forward.no_answer.timeout']}"]
    assert served.host.posted == []


async def test_screencapture_is_the_hosts_frame_scaled(serve):
    served = await serve(ALLOWED)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{served.port}/screencapture") as resp:
            assert resp.status == 200 and resp.content_type == "image/png"
            image = Image.open(io.BytesIO(await resp.read()))
    frame = served.host.frame()
    assert image.size == (frame.width * 4, frame.height * 4)
    small = image.resize(frame.size, Image.Resampling.NEAREST).convert("L")
    assert small.tobytes() == frame.convert("L").tobytes()


async def login(served: Served, session: aiohttp.ClientSession) -> str:
    """Log in to the web pages; the CSRF token of the Remote Control page."""
    base = f"http://127.0.0.1:{served.port}"
    async with session.post(f"{base}/servlet?p=login&q=login",
                            data={"username": "admin", "pwd": PASSWORD, "jumpto": ""}) as resp:
        assert resp.status == 200
    async with session.get(f"{base}/servlet?p=features-remotecontrol&q=load") as resp:
        html = await resp.text()
    match = re.search(r'name=csrf value="([^"]+)"', html)
    assert match, html
    return match.group(1)


async def test_the_web_page_forgets_a_decision_through_the_writer(serve):
    served = await serve({**TRUSTED, **ADMIN})
    host = served.host
    host.writer.persist("deskphone.trust.127.0.0.1", "deny")
    reloads = []
    host.set_files({**ADMIN, "features.action_uri_limit_ip": "127.0.0.0/8"})
    forget = host.writer.forget

    async def counted(keys):
        reloads.append(list(keys))
        return await forget(keys)
    host.writer.forget = counted              # type: ignore[method-assign]
    async with aiohttp.ClientSession(cookie_jar=COOKIES()) as session:
        token = await login(served, session)
        async with session.post(
                f"http://127.0.0.1:{served.port}/servlet?p=features-remotecontrol&q=forget",
                data={"csrf": token, "source": "127.0.0.1"}, allow_redirects=False) as resp:
            assert resp.status == 303
    assert reloads == [["deskphone.trust.127.0.0.1"]]
    assert "deskphone.trust.127.0.0.1" not in host.store.snapshot()
    assert "deskphone.trust.127.0.0.1" not in host.settings
    # forget reloaded the files: the edited list applies now.
    assert host.settings["features.action_uri_limit_ip"] == "127.0.0.0/8"
    assert (await served.get("/servlet?key=DNDOn"))[0] == 403
    assert host.posted == [ins.RemoteControlAsk("127.0.0.1")]


async def test_the_status_page_lists_the_feature_table(serve):
    served = await serve({**ADMIN, "forward.always.enable": True,
                          "forward.always.target": "555"})
    async with aiohttp.ClientSession(cookie_jar=COOKIES()) as session:
        await login(served, session)
        async with session.get(
                f"http://127.0.0.1:{served.port}/servlet?p=status&q=load") as resp:
            html = await resp.text()
    table = html.split("<table id=features>")[1].split("</table>")[0]
    assert re.findall(r"<th>([^<]+)</th>", table) == [f.web_label for f in FEATURES]
    assert "<th>Always forward</th><td>on -&gt; 555</td>" in table
    assert "<th>Call waiting</th><td>on</td>" in table
    assert "<td id=state>Idle</td>" in html
    assert "<th>IP</th><td>127.0.0.1</td>" in html
