"""Requests written byte for byte as a client writes them, over a real socket to 127.0.0.1.

A client library re-encodes what it is given (aiohttp would turn a raw ``+`` or a
``;`` into something else); these tests must send exactly what the public client
puts on the wire, so the request line and the headers are written by hand.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from dataclasses import dataclass


@dataclass
class Answer:
    status: int
    headers: dict[str, str]     # names in lower case
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def basic(user: str, password: str, encoding: str = "utf-8") -> tuple[str, str]:
    """An ``Authorization: Basic`` header of ``user:password`` in ``encoding``."""
    token = base64.b64encode(f"{user}:{password}".encode(encoding)).decode("ascii")
    return ("Authorization", f"Basic {token}")


async def send(port: int, target: str, *, method: str = "GET",
               headers: tuple[tuple[str, str], ...] = (), body: bytes | None = None,
               tls: bool = False, source: str | None = None, timeout: float = 5.0) -> Answer:
    """``METHOD target HTTP/1.1`` with ``headers`` (Host first, as clients write it)."""
    context = None
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE          # the clients skip verification too
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=context,
            local_addr=(source, 0) if source else None)
        try:
            lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
            lines += [f"{k}: {v}" for k, v in headers]
            if body is not None:
                lines.append(f"Content-Length: {len(body)}")
            lines.append("Connection: close")
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b""))
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
    return Answer(int(status_line.split()[1]), parsed, payload)
