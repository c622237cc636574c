"""The world outside the phone, for the benchmarks: a receiver and clients in a process of
their own.

Run as ``python tests/bench/world.py``; it answers commands on stdin, one JSON
object a line, and prints one JSON object a line on stdout:

- at start: ``{"receiver": PORT}``: an aiohttp Action URL receiver on
  127.0.0.1 that answers 200 after ``delay`` seconds (``{"cmd": "delay",
  "seconds": 0.2}``), handling requests concurrently;
- with ``{"cmd": "report", "on": true}`` every arrival is printed at once as
  ``{"hit": PATH_AND_QUERY, "t": MONOTONIC_NS}``; otherwise arrivals are only
  kept (``{"cmd": "hits"}`` prints them all, ``{"cmd": "clear"}`` forgets them);
- ``{"cmd": "keys", ...}``: sequential Action URI requests to the phone, each
  waiting until its Action URL reached the receiver (input -> Action URL);
- ``{"cmd": "load", ...}``: a closed-loop HTTP load from N keep-alive
  connections for S seconds (raw asyncio protocol: cheap enough that the
  server, not the client, is what is measured); optional source address;
- ``{"cmd": "flood", ...}``: an untrusted flood and, at the same time, a trusted
  client pressing keys, each timed;
- ``python tests/bench/world.py bare``: only a bare aiohttp handler answering
  200 (the servlet's baseline), until stdin closes.

Times are ``time.monotonic_ns()``: CLOCK_MONOTONIC, the same clock in every
process of the machine, so the phone's process can compare its own stamps
with the receiver's.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))     # tests/, for support/
from support.http_server import LocalHttpServer  # noqa: E402


def emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class World:
    def __init__(self) -> None:
        self.hits: list[tuple[str, int]] = []
        self.report = False
        self.delay = 0.0
        self.arrived = asyncio.Event()
        self.servers: list[LocalHttpServer] = []

    async def start_receiver(self) -> int:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self.handle)
        return await self._serve(app)

    async def _serve(self, app: web.Application) -> int:
        server = await LocalHttpServer(app, backlog=1024).start()
        self.servers.append(server)
        return server.port

    async def close(self) -> None:
        for server in self.servers:
            await server.stop()

    async def handle(self, request: web.Request) -> web.Response:
        t = time.monotonic_ns()
        self.hits.append((request.path_qs, t))
        self.arrived.set()
        if self.report:
            emit({"hit": request.path_qs, "t": t})
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.Response(text="ok")

    async def wait_hits(self, count: int, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while len(self.hits) < count:
                self.arrived.clear()
                await self.arrived.wait()


# --- raw HTTP/1.1 clients --------------------------------------------------------

class HttpConn(asyncio.Protocol):
    """One keep-alive connection: send a request, await its whole answer (Content-Length)."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.transport: asyncio.Transport | None = None
        self.lost = False

    def connection_made(self, transport):  # noqa: ANN001
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        self._check()

    def connection_lost(self, exc):  # noqa: ANN001
        self.lost = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("closed"))

    def _check(self) -> None:
        end = self.buf.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None or self.waiter.done():
            return
        head = bytes(self.buf[:end]).decode("latin-1")
        length = 0
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if len(self.buf) < end + 4 + length:
            return
        del self.buf[:end + 4 + length]
        self.waiter.set_result(int(head.split(" ", 2)[1]))

    async def request(self, raw: bytes) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        self._check()
        return await self.waiter


async def connect(port: int, source: str | None = None) -> HttpConn:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(
        HttpConn, "127.0.0.1", port, local_addr=(source, 0) if source else None)
    return conn


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def percentiles(values: list[float]) -> dict:
    values = sorted(values)
    if not values:
        return {"n": 0}

    def p(q: float) -> float:
        return values[min(len(values) - 1, int(q * len(values)))]
    return {"n": len(values), "p50": p(0.50), "p90": p(0.90), "p99": p(0.99),
            "max": values[-1]}


# --- commands ---------------------------------------------------------------------

async def keys(world: World, port: int, values: list[str], n: int, timeout: float) -> dict:
    """n sequential requests (values in turn), each until its Action URL arrived: ms each."""
    conn = await connect(port)
    latencies = []
    statuses: dict[int, int] = {}
    for i in range(n):
        before = len(world.hits)
        t0 = time.monotonic_ns()
        status = await conn.request(get(f"/servlet?key={values[i % len(values)]}"))
        statuses[status] = statuses.get(status, 0) + 1
        await world.wait_hits(before + 1, timeout)
        latencies.append((world.hits[before][1] - t0) / 1e6)
    conn.transport.close()
    return {"latency_ms": latencies, "statuses": statuses}


async def load(port: int, path: str, conns: int, seconds: float, source: str | None) -> dict:
    """Closed loop: each connection sends the next request when the last is answered."""
    raw = get(path)
    done: dict[int, int] = {}
    stop = time.monotonic() + seconds
    errors = 0

    async def one() -> None:
        nonlocal errors
        conn = await connect(port, source)
        while time.monotonic() < stop:
            try:
                status = await conn.request(raw)
            except ConnectionError:
                errors += 1
                conn = await connect(port, source)
                continue
            done[status] = done.get(status, 0) + 1
        conn.transport.close()

    started = time.monotonic()
    await asyncio.gather(*(one() for _ in range(conns)))
    elapsed = time.monotonic() - started
    total = sum(done.values())
    return {"requests": total, "seconds": elapsed, "per_second": total / elapsed,
            "statuses": done, "errors": errors}


async def flood(port: int, untrusted: str, count: int, conns: int, trusted_path: str,
                flood_path: str, trusted_max: int, with_flood: bool = True) -> dict:
    """``count`` requests from ``untrusted`` over ``conns`` connections while a trusted client
    (127.0.0.1) sends ``trusted_path`` one at a time until the flood is done."""
    statuses: dict[int, int] = {}
    remaining = count if with_flood else 0
    finished = asyncio.Event()
    if not with_flood:
        finished.set()

    async def flooder() -> None:
        nonlocal remaining
        conn = await connect(port, untrusted)
        raw = get(flood_path)
        while remaining > 0:
            remaining -= 1
            try:
                status = await conn.request(raw)
            except ConnectionError:
                statuses[-1] = statuses.get(-1, 0) + 1
                conn = await connect(port, untrusted)
                continue
            statuses[status] = statuses.get(status, 0) + 1
        conn.transport.close()

    async def all_flooders() -> None:
        await asyncio.gather(*(flooder() for _ in range(conns)))
        finished.set()

    latencies: list[float] = []
    trusted_statuses: dict[int, int] = {}

    async def trusted() -> None:
        conn = await connect(port)
        raw = get(trusted_path)
        while len(latencies) < trusted_max and (not finished.is_set() or not with_flood):
            t0 = time.monotonic_ns()
            status = await conn.request(raw)
            latencies.append((time.monotonic_ns() - t0) / 1e6)
            trusted_statuses[status] = trusted_statuses.get(status, 0) + 1
            await asyncio.sleep(0.002)      # a person, or a script, pressing keys
        conn.transport.close()

    started = time.monotonic()
    tasks = [asyncio.create_task(trusted())]
    if with_flood:
        tasks.append(asyncio.create_task(all_flooders()))
    await asyncio.gather(*tasks)
    return {"flood_statuses": statuses, "seconds": time.monotonic() - started,
            "trusted_latency_ms": latencies, "trusted_statuses": trusted_statuses}


async def main() -> None:
    world = World()
    emit({"receiver": await world.start_receiver()})
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        cmd = json.loads(line)
        what = cmd.pop("cmd")
        if what == "report":
            world.report = cmd["on"]
            emit({"ok": True})
        elif what == "delay":
            world.delay = cmd["seconds"]
            emit({"ok": True})
        elif what == "hits":
            emit({"hits": world.hits})
        elif what == "clear":
            world.hits.clear()
            emit({"ok": True})
        elif what == "keys":
            emit(await keys(world, **cmd))
        elif what == "load":
            emit(await load(**cmd))
        elif what == "flood":
            emit(await flood(**cmd))
        elif what == "quit":
            break
    await world.close()


async def bare() -> None:
    """Only a bare aiohttp handler answering 200, in a process of its own (a baseline server)."""
    world = World()
    app = web.Application()

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="OK\n")
    app.router.add_get("/{tail:.*}", ok)
    emit({"port": await world._serve(app)})
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await reader.read()                 # until stdin closes
    await world.close()


if __name__ == "__main__":
    asyncio.run(bare() if sys.argv[1:] == ["bare"] else main())
