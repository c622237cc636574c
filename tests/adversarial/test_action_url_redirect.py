"""Issue 15, item 18: a receiver that answers with a redirect must not send the phone's
variables (MAC, caller's number) on to another host.

Two real servers: the receiver on 127.0.0.1 answers 302 with a Location on 127.0.0.2
(another host, still loopback); the sender must not go there. A redirect to the same
scheme, host and port is still followed (a receiver moving its path is fine).
"""

from __future__ import annotations

import asyncio
import socket

from aiohttp import web

from deskphone.net.action_url import MAX_REDIRECTS, ActionUrlSender
from support.http_server import LocalHttpServer


def _socket_on(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, 0))
    sock.listen(16)
    return sock


async def _send(url: str) -> ActionUrlSender:
    sender = ActionUrlSender(lambda event: url, timeout=3.0)
    await sender.start()
    sender.submit("incoming_call", {"mac": "001565abcdef", "callerID": "300"})
    assert await sender.drain(5.0)
    return sender


async def test_a_redirect_to_another_host_is_not_followed():
    elsewhere_hits: list[str] = []

    async def elsewhere(request: web.Request) -> web.Response:
        elsewhere_hits.append(request.raw_path_qs if hasattr(request, "raw_path_qs")
                              else request.path_qs)
        return web.Response(text="thanks")

    other = web.Application()
    other.router.add_get("/{tail:.*}", elsewhere)
    async with LocalHttpServer(other, sock=_socket_on("127.0.0.2")) as far:
        far_url = f"http://127.0.0.2:{far.port}/collect"

        async def redirecting(request: web.Request) -> web.Response:
            raise web.HTTPFound(f"{far_url}?{request.query_string}")

        app = web.Application()
        app.router.add_get("/{tail:.*}", redirecting)
        async with LocalHttpServer(app) as receiver:
            sender = await _send(f"{receiver.url}/ev?mac=$mac&n=$callerID")
            try:
                await asyncio.sleep(0.1)
                assert elsewhere_hits == []
                [delivery] = sender.deliveries
                assert delivery.status == 302
                assert "redirect to another host not followed" in delivery.error
            finally:
                await sender.close()


async def test_a_redirect_on_the_same_host_is_followed_a_few_times_at_most():
    hits: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        hits.append(request.path)
        if request.path == "/old":
            raise web.HTTPMovedPermanently("/new?" + request.query_string)
        if request.path == "/loop":
            raise web.HTTPFound("/loop")
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    async with LocalHttpServer(app) as receiver:
        sender = await _send(f"{receiver.url}/old?mac=$mac")
        try:
            assert hits == ["/old", "/new"]
            assert sender.deliveries[-1].status == 200 and sender.deliveries[-1].error == ""
        finally:
            await sender.close()
        hits.clear()
        sender = await _send(f"{receiver.url}/loop")
        try:
            assert hits == ["/loop"] * (MAX_REDIRECTS + 1)
            assert "more than" in sender.deliveries[-1].error
        finally:
            await sender.close()
