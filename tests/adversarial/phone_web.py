"""The phone's real HTTP listener (HttpServer with its guard, servlet, pages) over a FakeHost.

``await serve(tmp, config, guard=...)`` listens on 127.0.0.1 port 0; clients
bind to other 127.x addresses to be other hosts. ``raw(...)`` speaks HTTP/1.1
by hand over a plain socket, as an attacker's script does.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "net"))

from deskphone.net.http_server import HttpServer  # noqa: E402
from deskphone.net.web import PhoneWeb  # noqa: E402
from fake_host import FakeHost  # noqa: E402

PASSWORD = "s3cret-pw"
ADMIN = {"static.security.user_password": f"admin:{PASSWORD}"}


class Served:
    def __init__(self, host: FakeHost, http: HttpServer, web: PhoneWeb) -> None:
        self.host, self.http, self.web = host, http, web

    @property
    def port(self) -> int:
        return self.http.port

    @property
    def guard(self):
        return self.http.guard

    def connect(self, source: str = "127.0.0.1") -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((source, 0))
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", self.port))
        return sock

    async def raw(self, request: bytes, source: str = "127.0.0.1", timeout: float = 5.0) -> bytes:
        """Send ``request`` from ``source`` and read until the server closes (or timeout)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port,
                                                      local_addr=(source, 0))
        try:
            writer.write(request)
            await writer.drain()
            async with asyncio.timeout(timeout):
                return await reader.read(-1)
        except ConnectionResetError:
            return b""                      # refused: closed with our bytes unread
        finally:
            writer.close()

    async def stop(self) -> None:
        await self.http.stop()


def guard(**kw):
    """A ConnectionGuard with test-sized limits (None before issue 15, when there was none)."""
    try:
        from deskphone.net.http_guard import ConnectionGuard
    except ImportError:
        return None
    return ConnectionGuard(**kw)


async def serve(tmp: Path, config: dict, *, guard=None) -> Served:
    host = FakeHost(tmp / "state", config)
    # (Run against the code before issue 15 too, to see these tests fail there.)
    http = HttpServer("127.0.0.1", 0) if guard is None else HttpServer("127.0.0.1", 0,
                                                                        guard=guard)
    web = PhoneWeb(host)
    web.install(http)
    await http.start()
    return Served(host, http, web)


def get(path: str, host: str = "127.0.0.1", extra: str = "") -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n").encode()


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.") else 0


async def closed_by_server(sock: socket.socket, within: float) -> bool:
    """True when the server closes ``sock`` (EOF or reset) within ``within`` seconds."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(within):
            while True:
                data = await loop.sock_recv(sock, 4096)
                if not data:
                    return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
