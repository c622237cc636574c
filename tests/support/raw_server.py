"""A TCP server on 127.0.0.1 that accepts and then hangs, or trickles an answer byte by byte."""

from __future__ import annotations

import asyncio


async def start_raw_server(behaviour: str, tasks: list) -> asyncio.AbstractServer:
    """``behaviour``: "hang" (never answer) or "trickle" (a byte every 0.1 s).

    Each connection's task is appended to ``tasks`` so the caller can cancel it.
    """
    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tasks.append(asyncio.current_task())
        try:
            if behaviour == "trickle":
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
                for _ in range(1000):
                    writer.write(b"x")
                    await writer.drain()
                    await asyncio.sleep(0.1)
            await asyncio.Event().wait()        # hang: accept, never answer
        except (asyncio.CancelledError, OSError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(on_connect, "127.0.0.1", 0)
