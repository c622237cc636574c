"""Found by make soak (issue 15): a /sim page that stops reading made the phone keep every state.

The soak's integration client holds /sim's WebSocket open and never reads it,
while keys change the screen 50 times a second: each new state was written to
that socket's buffer whatever it held, and the phone's RSS grew by the PNGs
nobody read (2 MB a minute). A page may fall behind; it then gets the newest
state, not every one since it stopped reading, and what the phone holds for it
is bounded whatever the number of frames.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket

from support.waiting import until

STATES = 1500                  # screen changes while the page reads nothing
HELD_AT_MOST = 128 * 1024      # bytes the phone (64 KiB) and the kernel may hold for such a page


async def open_unread_socket(port: int) -> socket.socket:
    """A /sim WebSocket whose reader never reads: small kernel buffers, handshake done."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    await loop.sock_sendall(sock, (
        f"GET /sim/ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += await loop.sock_recv(sock, 1)              # the head only, not one byte more
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def text_frames(data: bytes) -> list[str]:
    """The server's (unmasked) text frames in ``data``; a cut last frame is left out."""
    out, i = [], 0
    while i + 2 <= len(data):
        n, at = data[i + 1] & 0x7F, i + 2
        if n == 126:
            n, at = int.from_bytes(data[at:at + 2], "big"), at + 2
        elif n == 127:
            n, at = int.from_bytes(data[at:at + 8], "big"), at + 8
        if at + n > len(data):
            break
        if data[i] & 0x0F == 1:
            out.append(data[at:at + n].decode())
        i = at + n
    return out


async def read_all(sock: socket.socket, quiet: float = 1.0) -> bytes:
    loop = asyncio.get_running_loop()
    data = b""
    while True:
        try:
            chunk = await asyncio.wait_for(loop.sock_recv(sock, 65536), quiet)
        except TimeoutError:
            return data
        if not chunk:
            return data
        data += chunk


async def test_a_page_that_stops_reading_costs_one_state_not_every_one(phone):
    web, keypad = phone.sim_web, phone.sim_controls.keypad
    sock = await open_unread_socket(phone.http.port)
    try:
        await until(lambda: len(web.clients) == 1)
        (ws,) = web.clients
        # The phone's side of the socket small too, so what is held is the phone's own.
        ws.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        one = len(json.dumps(web.state()))
        for n in range(STATES):
            keypad.press("VOLUME_UP" if n % 2 else "VOLUME_DOWN")
            for _ in range(4):                  # the key is handled and its state pushed
                await asyncio.sleep(0)
        assert STATES * one > 4 * HELD_AT_MOST  # so every state kept would break the bound
        keypad.press("VOLUME_UP")
        await asyncio.sleep(0.2)
        before = web.state()

        data = await read_all(sock)
        frames = text_frames(data)
        assert len(data) <= HELD_AT_MOST, f"{len(data)} bytes, {len(frames)} states held"
        last = json.loads(frames[-1])
        # The newest state did arrive. The clock's minute may turn while the page reads
        # (a CI run met it: 06:58 before the read, 06:59 in the last frame), so the newest
        # is the one before the read or, after such a tick, the one after it.
        shown = (last["title"], last["lines"], last["png"])
        after = web.state()
        assert shown in [(s["title"], s["lines"], s["png"]) for s in (before, after)]
        assert not ws.closed and len(web.clients) == 1
    finally:
        sock.close()
    await until(lambda: not web.clients)
    assert not web._pages                           # nothing kept for a page that is gone
