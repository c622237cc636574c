"""Issue 15, item 9: escape sequences in a SIP caller's name reach the console and the screen.

A caller writes its own display name. The red team's names: ESC [2J (clear the
terminal), BEL, the C1 CSI (U+009B), OSC 52 (write the terminal's clipboard),
a right-to-left override, and U+2028 (a line break for ``splitlines()``).
They enter the phone through the engines: baresip's CALL_INCOMING event (its
shape as baresip 1.0.0's ctrl_tcp sends it, /work/shared/sip-lab/README.md)
and the simulated far end, driven here over /sim's WebSocket.
"""

from __future__ import annotations

import json
import re

import aiohttp
import pytest

from deskphone.engine.baresip_events import BaresipEvents
from support.phone import settle

EVIL = "\x1b[2J\x07Eve\x9b31m\x1b]52;c;cm0gLXJmIH4=\x07 \u202e1022\u2028Line2\x85"
CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def test_baresip_names_and_uris_lose_their_controls():
    translator = BaresipEvents()
    translator.uas = {1: "sip:100@127.0.0.1"}
    out = translator.feed({"event": True, "class": "call", "type": "CALL_INCOMING",
                           "accountaor": "sip:100@127.0.0.1", "direction": "incoming",
                           "peeruri": "sip:300\x1b[5m@127.0.0.1", "peerdisplayname": EVIL,
                           "id": "evil-1", "param": ""})
    (incoming,) = out
    assert not CONTROLS.search(incoming.remote_name) and not CONTROLS.search(incoming.remote_uri)
    assert "Eve" in incoming.remote_name and "Line2" in incoming.remote_name


async def test_a_named_call_in_the_simulator_shows_no_controls(phone, receiver):
    url = f"http://127.0.0.1:{phone.http.port}/sim/ws"
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url) as ws:
            await ws.receive_json(timeout=5)
            await ws.send_str(json.dumps({"call_in": {"number": "300", "name": EVIL}}))
            await receiver.wait("incoming_call")
    await settle(phone)
    (call,) = phone.phone.calls
    assert not CONTROLS.search(call.remote_name), repr(call.remote_name)
    screen = phone.display.screen
    assert not any(CONTROLS.search(line) for line in (*screen.lines, screen.title, screen.status))
    hit = receiver.events()
    assert "incoming_call" in hit
