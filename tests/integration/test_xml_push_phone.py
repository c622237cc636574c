"""XML push to the whole phone (sim board): through its HTTP listener's guard, onto the screen
and the /sim page, where an integrator tries an XML app without hardware.

The shape is a FreePBX parked-calls pusher's (Python requests: the raw object as the body,
Content-Type: text/xml) and Yealink's own sample (xml= unencoded in a text/xml body).
"""

from __future__ import annotations

import aiohttp
import pytest

from support.phone import start_phone
from support.waiting import until

TEXT = ('<YealinkIPPhoneTextScreen Beep="no"><Title>Doorbell</Title>'
        '<Text>Someone at the door</Text></YealinkIPPhoneTextScreen>')


async def push(app, body: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"http://127.0.0.1:{app.http.port}/servlet?push=xml",
                                data=body, headers={"Content-Type": "text/xml"}) as resp:
            return resp.status, await resp.text()


@pytest.mark.parametrize("extra, status", [
    # push_xml.server alone lets the pusher in, the Action URI list being blank.
    ("push_xml.server = 127.0.0.1\nfeatures.show_action_uri_option = 0\n", 200),
    # The Action URI list does not let in a pusher push_xml.server does not name.
    ("push_xml.server = 10.0.0.1\nfeatures.action_uri_limit_ip = 127.0.0.1\n"
     "features.show_action_uri_option = 0\n", 403),
    # Neither set: nobody.
    ("", 403),
])
async def test_push_xml_server_decides_at_the_listeners_guard(tmp_path, receiver, extra,
                                                              status):
    app = await start_phone(tmp_path, receiver.base, extra=extra)
    try:
        await receiver.wait("registered")
        got, text = await push(app, f"xml={TEXT}")
        assert got == status, text
        if status == 200:
            await until(lambda: app.display.screen.kind == "xml_text")
            assert app.display.screen.lines[0] == "Someone at the door"
            # The /sim page's state is the OLED's: the pushed screen shows there too.
            async with aiohttp.ClientSession() as session:
                async with session.ws_connect(
                        f"http://127.0.0.1:{app.http.port}/sim/ws",
                        headers={"Origin": f"http://127.0.0.1:{app.http.port}"}) as ws:
                    state = await ws.receive_json()
            assert state["title"] == "Doorbell" and state["lines"][0] == "Someone at the door"
        else:
            assert app.display.screen.kind == "idle"
    finally:
        await app.stop()
