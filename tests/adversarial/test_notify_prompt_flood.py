"""Issue 15, item 5: "Allow Remote Control?" flooded by NOTIFYs from many sources.

The red team's 40,000 NOTIFYs from distinct sources queued 17,679 prompts; a
queued prompt came back over a call, and a double tap of OK allowed it. Here
400 sources (127.0.1.x / 127.0.2.x, real UDP sockets) ask at once.
"""

from __future__ import annotations

import asyncio

from deskphone.core import inputs as ins
from notify_listener import listen
from support.sip_udp import SipPeer, notify

OPEN = {"features.action_uri_limit_ip": "any", "deskphone.sip_notify_auth": False}


async def flood(port: int, sources: list[str]) -> None:
    peers = [await SipPeer.open(s) for s in sources]
    try:
        for peer in peers:
            peer.send(notify(port, "key=DNDOn"), port)
        await asyncio.sleep(0.3)
    finally:
        for peer in peers:
            peer.close()


async def test_a_flood_of_sources_gets_one_prompt_and_no_queue(tmp_path):
    listener = await listen(tmp_path, OPEN)
    try:
        await flood(listener.port, [f"127.0.{1 + i // 200}.{1 + i % 200}" for i in range(400)])
        host = listener.host
        assert len(host.phone.prompts) <= 1
        assert host.screen.kind == "prompt"
        first = host.phone.prompts[0]
        host.press("X")                                   # denied: nothing comes next
        assert host.phone.prompts == [] and host.screen.kind != "prompt"
        assert host.settings[f"deskphone.trust.{first}"] == "deny"
    finally:
        await listener.stop()


async def test_no_prompt_over_a_call_and_none_comes_back_after_it(tmp_path):
    listener = await listen(tmp_path, OPEN)
    host = listener.host
    try:
        await flood(listener.port, ["127.0.3.1"])
        assert host.screen.kind == "prompt"
        host.post(ins.CallIncoming("c-1", 1, "sip:300@127.0.0.1", "Caller"))    # a call comes
        assert host.phone.prompts == [] and host.screen.kind == "ringing"
        await flood(listener.port, ["127.0.3.2", "127.0.3.3"])  # more asks during the call
        assert host.phone.prompts == [] and host.screen.kind == "ringing"
        host.press("OK")                                  # OK answers the call, nothing else
        assert not [k for k in host.settings if k.startswith("deskphone.trust.")]
        host.post(ins.CallClosed("c-1"))
        assert host.phone.prompts == [] and host.screen.kind != "prompt"
    finally:
        await listener.stop()


async def test_a_double_tap_allows_one_source_only(tmp_path):
    listener = await listen(tmp_path, OPEN)
    host = listener.host
    try:
        await flood(listener.port, ["127.0.4.1", "127.0.4.2"])
        shown = host.phone.prompts[0]
        host.press("OK")                                  # the first tap allows it ...
        await flood(listener.port, ["127.0.4.2", "127.0.4.3"])   # ... the attacker asks again
        host.press("OK")                                  # ... and the second tap lands
        allowed = [k for k, v in host.settings.items()
                   if k.startswith("deskphone.trust.") and v == "allow"]
        assert allowed == [f"deskphone.trust.{shown}"]
    finally:
        await listener.stop()
