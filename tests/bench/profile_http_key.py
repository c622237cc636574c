"""Where the HTTP remote key's time goes: the whole path in one process, counted.

    .venv/bin/python tests/bench/profile_http_key.py MODE [N]

The phone (default config, as bench_event_to_action_url.py runs it), the Action
URL receiver and a raw keep-alive client share one process and one loop, so
what is counted is the Python work of the path and nothing of another process.
Each key request (``OFFHOOK`` / ``ONHOOK`` in turn) waits until its Action URL
arrived. MODE:

- ``order``: the median CPU time of the loop's thread (``thread_time``: what
  other processes do to the machine does not count), from the client's write,
  to each step of the path (the phone reading the request, its checks, the
  core's reaction, the Action URL's GET written, the devices worked out, the
  screen drawn, the 200 written):
  which work is ahead of the Action URL, and in which order the bytes leave;
- ``cprofile``: the functions with the most time over N requests;
- ``key`` / ``bare``: only N key requests, or N bare ``ClientSession.get`` to the
  same receiver (the bench's baseline), and their CPU time each. Run each under
  ``valgrind --tool=callgrind`` with two N: the difference of the instruction
  counts over the difference of N is one request's instructions, whatever the
  machine's load (the benches' wall-clock figures move with it).
"""

from __future__ import annotations

import asyncio
import asyncio.selector_events
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_event_to_action_url import PI_BOARD  # noqa: E402
from common import write_phone  # noqa: E402
from world import World, connect, get  # noqa: E402

MODE = sys.argv[1] if len(sys.argv) > 1 else "order"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
WARMUP = 200


async def key_path(world: World, port: int, n: int, each: Callable[[], None] = lambda: None
                   ) -> float:
    """n key requests, each until its Action URL arrived: CPU seconds per request."""
    conn = await connect(port)
    started = time.process_time()
    for i in range(n):
        each()
        before = len(world.hits)
        status = await conn.request(get("/servlet?key=" + ("OFFHOOK", "ONHOOK")[i % 2]))
        assert status == 200, status
        await world.wait_hits(before + 1, 10)
    spent = time.process_time() - started
    assert conn.transport is not None
    conn.transport.close()
    return spent / n


async def bare_path(world: World, port: int, n: int) -> float:
    async with aiohttp.ClientSession() as session:
        started = time.process_time()
        for i in range(n):
            async with session.get(f"http://127.0.0.1:{port}/baseline?n={i}") as resp:
                await resp.read()
        return (time.process_time() - started) / n


class Stamps:
    """Monotonic stamps at the named steps of the path (``order``)."""

    def __init__(self) -> None:
        self.now: list[tuple[str, int]] = []
        self.runs: list[list[tuple[str, int]]] = []

    def stamp(self, name: str) -> None:
        self.now.append((name, time.thread_time_ns()))

    def next_run(self) -> None:
        if self.now:
            self.runs.append(self.now)
        self.now = []
        self.stamp("client writes the request")

    def around(self, owner: Any, name: str, label: str) -> None:
        inner = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.stamp(label)
            return inner(*args, **kwargs)
        setattr(owner, name, wrapper)

    def install(self, phone_port: int, receiver_port: int) -> None:
        from deskphone import runtime
        from deskphone.net import action_url, http_guard, servlet

        transport = asyncio.selector_events._SelectorSocketTransport
        write = transport.write

        def stamped_write(tr: Any, data: Any) -> None:
            if tr.get_extra_info("sockname")[1] == phone_port:
                self.stamp("phone writes the 200")
            elif tr.get_extra_info("peername")[1] == receiver_port:
                self.stamp("phone writes the Action URL GET")
            write(tr, data)
        transport.write = stamped_write             # type: ignore[method-assign]
        self.around(http_guard.GuardedProtocol, "data_received", "phone reads the request")
        self.around(servlet.Servlet, "_guarded", "servlet: request checked, trust next")
        self.around(servlet.Servlet, "_keys", "servlet: trusted, keys parsed and posted")
        self.around(runtime.Runtime, "react", "runtime: the core reacts (its events)")
        self.around(runtime.Runtime, "settle", "runtime: the core settles (the devices)")
        self.around(action_url.ActionUrlSender, "submit", "runtime: an event to the sender")
        self.around(runtime.Runtime, "_draw", "runtime: the screen drawn")

    def report(self) -> None:
        self.next_run()
        shape = [name for name, _ in self.runs[-1]]
        same = [r for r in self.runs if [name for name, _ in r] == shape]
        print(f"median of {len(same)} requests (of {len(self.runs)}) with this order:")
        for i, name in enumerate(shape):
            print(f"{statistics.median((r[i][1] - r[0][1]) / 1000 for r in same):8.1f} us  "
                  f"{name}")


async def main() -> None:
    from deskphone.app import PhoneApp
    from deskphone.config.board import load_board

    world = World()
    port = await world.start_receiver()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        write_phone(tmp, {"off_hook": base + "/off_hook?mac=$mac&ip=$ip",
                          "on_hook": base + "/on_hook?mac=$mac&ip=$ip"},
                    "features.action_uri_limit_ip = 127.0.0.1\n"
                    "features.show_action_uri_option = 0\n")
        (tmp / "board.toml").write_text(PI_BOARD)
        app = PhoneApp(load_board(tmp / "board.toml"), tmp / "config", tmp / "state",
                       bind="127.0.0.1", http_port=0, https_port=0, sip_notify_port=0)
        await app.start()
        try:
            app.hook.device.pin.drive_low()            # on hook: the handset rests
            await asyncio.sleep(0.2)
            if MODE == "bare":
                await bare_path(world, port, WARMUP)
                print(f"bare GET: {await bare_path(world, port, N) * 1e6:.0f} us CPU each")
                return
            await key_path(world, app.http.port, WARMUP)
            if MODE == "order":
                stamps = Stamps()
                stamps.install(app.http.port, port)
                await key_path(world, app.http.port, N, stamps.next_run)
                stamps.report()
                return
            profile = cProfile.Profile() if MODE == "cprofile" else None
            if profile:
                profile.enable()
            key = await key_path(world, app.http.port, N)
            if profile:
                profile.disable()
            print(f"key path: {key * 1e6:.0f} us CPU each (client + phone + receiver)")
            if profile:
                stats = pstats.Stats(profile)
                stats.sort_stats("tottime").print_stats(40)
                stats.sort_stats("cumulative").print_stats(60)
        finally:
            await app.stop()
            await world.close()


if __name__ == "__main__":
    asyncio.run(main())
