"""ActionUrlSender's window: up to max_in_flight requests per host at once, written in event order.

Real receivers on 127.0.0.1 that take their time and count how many requests
they hold at once. (tests/bench/bench_burst.py measures the same on 500 events.)
"""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp import web

from deskphone.net.action_url import ActionUrlSender
from deskphone.net.log_limit import LogLimiter, left_out


class SlowReceiver:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.arrived: list[str] = []
        self.holding = 0
        self.most = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.arrived.append(request.query["n"])
        self.holding += 1
        self.most = max(self.most, self.holding)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.holding -= 1
        return web.Response(text="ok")


@pytest.fixture
async def slow():
    runners = []

    async def start(delay: float) -> tuple[SlowReceiver, str]:
        rx = SlowReceiver(delay)
        app = web.Application()
        app.router.add_get("/{tail:.*}", rx.handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        return rx, f"http://127.0.0.1:{runner.addresses[0][1]}"

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.mark.parametrize("window", [1, 4, 8])
async def test_a_burst_to_a_slow_receiver_takes_count_over_window_round_trips(slow, window):
    rx, base = await slow(0.1)
    sender = ActionUrlSender(lambda event: base + "/e?n=$call_id", max_in_flight=window)
    await sender.start()
    try:
        started = time.monotonic()
        for n in range(16):
            sender.submit("hold", {"call_id": str(n)})
        assert await sender.drain(10)
        took = time.monotonic() - started
    finally:
        await sender.close()
    assert rx.arrived == [str(n) for n in range(16)]      # every one, once, in event order
    assert rx.most == window                               # never more at once than the window
    rounds = 16 / window
    assert took >= rounds * 0.1 * 0.9                      # it did wait for the receiver
    assert took < rounds * 0.1 + 1.0                       # and no longer (generous margin)
    assert [d.status for d in sender.deliveries] == [200] * 16


async def test_the_window_is_read_per_request_so_a_setting_change_applies(slow):
    rx, base = await slow(0.05)
    window = {"n": 1}
    sender = ActionUrlSender(lambda event: base + "/e?n=$call_id",
                             max_in_flight=lambda: window["n"])
    await sender.start()
    try:
        for n in range(4):
            sender.submit("hold", {"call_id": str(n)})
        assert await sender.drain(5)
        assert rx.most == 1
        window["n"] = 3
        for n in range(4, 10):
            sender.submit("hold", {"call_id": str(n)})
        assert await sender.drain(5)
        assert rx.most == 3
    finally:
        await sender.close()
    assert rx.arrived == [str(n) for n in range(10)]


async def test_close_cancels_requests_in_flight_at_once(slow):
    rx, base = await slow(30)
    sender = ActionUrlSender(lambda event: base + "/e?n=$call_id", timeout=60, max_in_flight=8)
    await sender.start()
    for n in range(20):
        sender.submit("hold", {"call_id": str(n)})
    async with asyncio.timeout(3):
        while len(rx.arrived) < 8:
            await asyncio.sleep(0.01)
    t0 = time.monotonic()
    await sender.close()
    assert time.monotonic() - t0 < 1.0
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("action-url")]
    assert len(rx.arrived) == 8                            # the rest were never sent


def test_log_limiter_lets_a_burst_through_then_counts_and_reports():
    now = [0.0]
    limit = LogLimiter(burst=3, window=10.0, max_sources=2, clock=lambda: now[0])
    assert [limit.allow("a") for _ in range(5)] == [0, 0, 0, None, None]
    assert limit.allow("b") == 0                           # per source
    now[0] = 10.0
    assert limit.allow("a") == 2                           # the next line says 2 were left out
    assert left_out(2) == " (and 2 more like it not logged)" and left_out(0) == ""
    limit.allow("c")                                       # a third source: the oldest goes
    assert len(limit._seen) == 2                           # noqa: SLF001
