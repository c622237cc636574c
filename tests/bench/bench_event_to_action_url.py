"""Event to Action URL: from an input entering the daemon to the GET arriving at a receiver.

    make bench      (or: .venv/bin/python tests/bench/bench_event_to_action_url.py)

The phone runs in this process on the simulated board (display, keypad, LEDs,
sound, PBX) whose hook switch is gpiozero's real ``DigitalInputDevice`` on a
``MockFactory`` pin; the receiver (and the
HTTP client) run in another process (tests/bench/world.py). Two inputs:

- a hook pin edge: the pin is driven from a thread of its own (as lgpio's alert
  thread does on a Pi); the clock starts just before the edge;
- an HTTP ``/servlet?key=OFFHOOK`` (then ``ONHOOK``) from the other process;
  the clock starts just before the request is written.

Each event waits until its GET arrived before the next one starts (latency,
not throughput). Baseline: a bare aiohttp ``ClientSession.get`` from this
process to the same receiver. The HTTP key makes two exchanges (client ->
phone, phone -> receiver), so it is also compared with a bare aiohttp relay in
this process: a handler that only GETs the receiver (one keep-alive session)
for each request the same client sends it, no phone at all. Times are CLOCK_MONOTONIC stamps taken in the
sending and in the receiving process. The phone runs the default config: a
remote OFFHOOK/ONHOOK is a press and is not debounced; the pin's default
``deskphone.hook.debounce_ms`` (30) adds exactly itself, by design, so the pin
is also measured with 0.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from common import QUIET, World, figure, header, percentile, run, write_phone
from support.http_server import LocalHttpServer

N = int(__import__("os").environ.get("BENCH_N", 1000))
WARMUP = min(50, N)
ROUNDS = 10

PI_BOARD = """\
[board]
name = "bench board"
kind = "sim"
mac = "00:15:65:00:00:07"
pin_factory = "mock"
line_keys = 2

[hook]
driver = "gpio"
pin = 17
"""


async def baseline(world: World, n: int) -> list[float]:
    out = []
    async with aiohttp.ClientSession() as session:
        for i in range(n):
            t0 = time.monotonic_ns()
            async with session.get(f"{world.base}/baseline?n={i}") as resp:
                await resp.read()
            hit = await world.next_hit()
            out.append((hit["t"] - t0) / 1e6)
    return out


class Relay:
    """The two-exchange baseline: a bare aiohttp handler that GETs the receiver, then answers."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.session: aiohttp.ClientSession | None = None
        self.server: LocalHttpServer | None = None

    async def start(self) -> int:
        self.session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_get("/servlet", self.relay)
        self.server = await LocalHttpServer(app).start()
        return self.server.port

    async def relay(self, request: web.Request) -> web.Response:
        assert self.session is not None
        async with self.session.get(f"{self.world.base}/relay?{request.query_string}") as resp:
            await resp.read()
        return web.Response(text="OK\n")

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
        if self.session is not None:
            await self.session.close()


async def hook_edges(app, world: World, n: int) -> list[float]:
    pin = app.hook.device.pin
    loop = asyncio.get_running_loop()
    out = []

    def edge(high: bool) -> int:           # on the "gpio" thread, as lgpio's alert thread
        t0 = time.monotonic_ns()
        (pin.drive_high if high else pin.drive_low)()
        return t0

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="gpio") as gpio:
        for i in range(n):
            t0 = await loop.run_in_executor(gpio, edge, i % 2 == 0)
            hit = await world.next_hit()
            out.append((hit["t"] - t0) / 1e6)
    return out


async def one_phone(world: World, tmp: Path, extra: str, http_keys: bool,
                    base: list[float], relayed: list[float] | None = None
                    ) -> tuple[list[float], list[float]]:
    """Pin edges (and, if ``http_keys``, HTTP OFFHOOK/ONHOOK, then the same through the
    bare relay, added to ``relayed``) against one phone, in ROUNDS rounds each followed by
    baseline GETs (added to ``base``): a machine busy with other work slows all alike."""
    from deskphone.app import PhoneApp
    from deskphone.config.board import load_board

    urls = {"off_hook": world.base + "/off_hook?mac=$mac&ip=$ip",
            "on_hook": world.base + "/on_hook?mac=$mac&ip=$ip"}
    write_phone(tmp, urls, extra + "features.action_uri_limit_ip = 127.0.0.1\n"
                "features.show_action_uri_option = 0\n")
    (tmp / "board.toml").write_text(PI_BOARD)
    app = PhoneApp(load_board(tmp / "board.toml"), tmp / "config", tmp / "state",
                   bind="127.0.0.1", http_port=0, https_port=0, sip_notify_port=0)
    await app.start()
    gpio: list[float] = []
    http: list[float] = []
    each = max(1, N // ROUNDS)
    relay = Relay(world)
    relay_port = await relay.start() if http_keys else 0
    try:
        app.hook.device.pin.drive_low()            # on hook: the handset rests on the switch
        await asyncio.sleep(0.2)
        await world.ask("report", on=True)
        await hook_edges(app, world, WARMUP)
        await baseline(world, WARMUP)
        await world.ask("report", on=False)
        if http_keys:
            await world.ask("keys", port=app.http.port, values=["OFFHOOK", "ONHOOK"], n=WARMUP,
                            timeout=10)
            await world.ask("keys", port=relay_port, values=["OFFHOOK", "ONHOOK"], n=WARMUP,
                            timeout=10)
        for _ in range(ROUNDS):
            await world.ask("report", on=True)
            gpio += await hook_edges(app, world, each)
            base += await baseline(world, each)
            await world.ask("report", on=False)
            if http_keys:
                got = await world.ask("keys", port=app.http.port, values=["OFFHOOK", "ONHOOK"],
                                      n=each, timeout=10)
                assert got["statuses"] == {"200": each}, got["statuses"]
                http += got["latency_ms"]
                got = await world.ask("keys", port=relay_port, values=["OFFHOOK", "ONHOOK"],
                                      n=each, timeout=10)
                assert relayed is not None and got["statuses"] == {"200": each}, got["statuses"]
                relayed += got["latency_ms"]
    finally:
        await relay.stop()
        await app.stop()
    return gpio, http


async def main() -> None:
    header("Event to Action URL (p50 / p99 over %d events each)" % N)
    world = await World().start()
    base: list[float] = []
    relayed: list[float] = []
    try:
        with tempfile.TemporaryDirectory() as d:
            # The default config (deskphone.hook.debounce_ms = 30), then the pin with 0.
            gpio, http = await one_phone(world, Path(d) / "default", "", True, base, relayed)
            gpio0, _ = await one_phone(world, Path(d) / "nodebounce", QUIET, False, base)
    finally:
        await world.stop()

    for q, name in ((0.5, "p50"), (0.99, "p99")):
        b = percentile(base, q)
        target = "p50 < 3x baseline" if name == "p50" else "p99 < 5 ms"
        figure(f"HTTP key=OFFHOOK/ONHOOK -> Action URL {name} (default config)",
               percentile(http, q), b, "ms", target=target)
        figure(f"HTTP key=OFFHOOK/ONHOOK -> Action URL {name}, against the bare relay",
               percentile(http, q), percentile(relayed, q), "ms",
               note="the same client -> a bare aiohttp handler -> GET to the same receiver")
        figure(f"hook pin edge -> Action URL {name} (default config: 30 ms debounce)",
               percentile(gpio, q), b, "ms", note="the debounce adds itself, by design")
        figure(f"hook pin edge -> Action URL {name} (deskphone.hook.debounce_ms = 0)",
               percentile(gpio0, q), b, "ms")
    figure("bare aiohttp GET -> receiver p99 (the baseline itself)", percentile(base, 0.99),
           None, "ms")


if __name__ == "__main__":
    run(main)
