"""Issue 15, items 7 and 11: DNS rebinding and cross-site requests from a trusted host's browser.

A page on evil.example whose name is rebound to the phone's address makes the
browser send ``Host: evil.example``; a page that only posts or fetches across
sites makes it send ``Origin: http://evil.example`` and ``Sec-Fetch-Site:
cross-site`` (Fetch Metadata, W3C). The requests come from 127.0.0.1, a
trusted and allowed source: only those headers tell them apart.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from phone_web import get, serve, status_of

ALLOWED = {"features.action_uri_limit_ip": "127.0.0.1", "deskphone.trust.127.0.0.1": "allow"}
PATHS = ["/servlet?phonecfg=get&accounts=1&fw=1", "/screencapture", "/servlet?key=DNDOn"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("host, extra", [
    ("evil.example", ""),                                       # rebinding
    ("evil.example:80", ""),
    ("127.0.0.1", "Origin: http://evil.example\r\n"),           # a cross-site fetch / form
    ("127.0.0.1", "Sec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: no-cors\r\n"),  # <img src>
    ("127.0.0.1", "Origin: null\r\n"),                         # a sandboxed frame
])
async def test_another_sites_page_reads_and_does_nothing(tmp_path, path, host, extra):
    served = await serve(tmp_path, ALLOWED)
    try:
        answer = await served.raw(get(path, host=host, extra=extra))
        await asyncio.sleep(0.05)
    finally:
        await served.stop()
    assert status_of(answer) in (403, 421), answer[:200]
    assert b"MAC=" not in answer and b"\x89PNG" not in answer
    assert served.host.settings["features.dnd.enable"] is False


@pytest.mark.parametrize("host, extra", [
    ("127.0.0.1", ""), ("127.0.0.1:80", ""), ("localhost", ""),
    ("127.0.0.1", "Origin: http://127.0.0.1\r\nSec-Fetch-Site: same-origin\r\n"),
    ("127.0.0.1", "Sec-Fetch-Site: none\r\n"),                  # typed into the address bar
])
async def test_the_phones_own_names_and_pages_are_served(tmp_path, host, extra):
    served = await serve(tmp_path, ALLOWED)
    try:
        answer = await served.raw(get(PATHS[0], host=host, extra=extra))
    finally:
        await served.stop()
    assert status_of(answer) == 200 and b"MAC=" in answer


async def test_the_sim_websocket_refuses_another_sites_page(phone):
    """Item 11: /sim's WebSocket pressed OK for any page (simulated board only)."""
    url = f"http://127.0.0.1:{phone.http.port}/sim/ws"
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            async with session.ws_connect(url, origin="http://evil.example"):
                pass
        assert refused.value.status == 403
        async with session.ws_connect(url, origin=f"http://127.0.0.1:{phone.http.port}") as ws:
            first = await ws.receive_json(timeout=5)
            assert "screen" in first or first.get("type") != "error"


async def test_the_sim_websocket_outlives_the_request_timeout(phone, receiver):
    """Found by make soak: the request timeout (against slow bodies) cut /sim's WebSocket."""
    phone.http.guard.request_timeout = 0.3
    url = f"http://127.0.0.1:{phone.http.port}/sim/ws"
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url) as ws:
            await ws.receive_json(timeout=5)
            await asyncio.sleep(1.0)
            await ws.send_str('{"key": "VOLUME_UP"}')
            await ws.receive_json(timeout=5)          # the state pushed after the key
            assert not ws.closed
