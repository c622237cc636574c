"""Burst: 500 Action URL events in one second to a receiver that takes 200 ms per request.

    make bench      (or: .venv/bin/python tests/bench/bench_burst.py)

The whole phone (simulated board) runs in this process; the receiver runs in
another (tests/bench/world.py) and answers each GET after 200 ms, handling
requests concurrently. 500 events (``hold`` with ``$call_id`` = 0..499) enter
the phone's ``ActionUrlSender`` over one second, while keys are pressed on the
keypad every 20 ms and the time from each press to the new frame is taken.

Figures: the time until all 500 arrived, against the baseline of a bare
aiohttp client sending the same 500 GETs with the same window (requests
started in order, as many in flight); whether every event arrived exactly
once and in order; the resident memory during the burst; input-to-frame p99
during the burst against the same presses on an idle phone. The sender's
old behaviour (one request at a time) is measured on 10 events and scaled.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp

from common import World, figure, header, percentile, rss_mb, run, write_phone

EVENTS = 500
SPREAD = 1.0               # seconds over which the events are fired
DELAY = 0.2                # the receiver's time per request
WINDOW = 8                 # deskphone.action_url.max_in_flight (the default)
PRESS_EVERY = 0.02


def numbers(hits: list) -> list[int]:
    return [int(parse_qs(urlsplit(path).query)["n"][0]) for path, _ in hits]


async def press_keys(app, stop: asyncio.Event, out: list[float]) -> None:
    """Alternately a digit and X: every press changes the screen; ms from press to frame."""
    shown = asyncio.Event()
    app.display.listeners.append(lambda frame: shown.set())
    keys = ["1", "X"]
    i = 0
    while not stop.is_set():
        shown.clear()
        t0 = time.perf_counter()
        app.keypad.press(keys[i % 2])
        i += 1
        await shown.wait()
        out.append((time.perf_counter() - t0) * 1000)
        await asyncio.sleep(PRESS_EVERY)


async def burst(app, world: World) -> tuple[float, float, list[float]]:
    """Fire the burst while pressing keys: (seconds until all arrived, peak RSS MB, press ms)."""
    await world.ask("clear")
    stop = asyncio.Event()
    presses: list[float] = []
    presser = asyncio.create_task(press_keys(app, stop, presses))
    peak = rss_mb()
    started = time.monotonic()
    for n in range(EVENTS):
        app.sender.submit("hold", {"call_id": str(n)})
        await asyncio.sleep(max(0.0, started + (n + 1) * SPREAD / EVENTS - time.monotonic()))
    while True:
        peak = max(peak, rss_mb())
        if await app.sender.drain(0.1):
            break
    elapsed = time.monotonic() - started
    stop.set()
    await presser
    return elapsed, peak, presses


async def bare_client(world: World, window: int, count: int) -> float:
    await world.ask("clear")
    gate = asyncio.Semaphore(window)

    async def one(session: aiohttp.ClientSession, n: int) -> None:
        async with session.get(f"{world.base}/hold?n={n}") as resp:
            await resp.read()
        gate.release()

    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        tasks = []
        for n in range(count):
            await gate.acquire()
            tasks.append(asyncio.create_task(one(session, n)))
        await asyncio.gather(*tasks)
    return time.monotonic() - started


async def main() -> None:
    header(f"Burst: {EVENTS} events in {SPREAD:g} s to a receiver taking {DELAY * 1000:.0f} ms "
           f"each (window {WINDOW})")
    from support.phone import start_phone  # noqa: F401  (the path is set by common)
    from deskphone.app import PhoneApp
    from deskphone.config.board import load_board

    world = await World().start()
    await world.ask("delay", seconds=DELAY)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        board = write_phone(tmp, {"hold": world.base + "/hold?n=$call_id"},
                            f"deskphone.action_url.max_in_flight = {WINDOW}\n"
                            "deskphone.action_url.timeout = 30\n")
        app = PhoneApp(load_board(board), tmp / "config", tmp / "state", bind="127.0.0.1",
                       http_port=0, https_port=0, sip_notify_port=0)
        await app.start()
        try:
            idle_presses: list[float] = []
            stop = asyncio.Event()
            presser = asyncio.create_task(press_keys(app, stop, idle_presses))
            await asyncio.sleep(3)
            stop.set()
            await presser
            rss_before = rss_mb()
            elapsed, peak, presses = await burst(app, world)
            hits = (await world.ask("hits"))["hits"]
            got = numbers(hits)
            rss_after = rss_mb()
            # The old behaviour, one request at a time: 10 events, scaled to the burst.
            app.writer.settings = app.settings.with_overrides(
                {"deskphone.action_url.max_in_flight": 1})
            await world.ask("clear")
            t0 = time.monotonic()
            for n in range(10):
                app.sender.submit("hold", {"call_id": str(n)})
            assert await app.sender.drain(30)
            one_at_a_time = (time.monotonic() - t0) / 10 * EVENTS
        finally:
            await app.stop()
        baseline = await bare_client(world, WINDOW, EVENTS)
        await world.stop()

    inversions = sum(1 for a, b in zip(got, got[1:]) if b < a)
    figure("burst: all 500 delivered after", elapsed, baseline, "s",
           note=f"bare aiohttp client, same window; one at a time: {one_at_a_time:.1f} s "
                f"({one_at_a_time / elapsed:.1f}x slower)")
    figure("burst: events arrived", len(got), EVENTS, "events",
           note=f"distinct {len(set(got))}, lost {EVENTS - len(set(got))}, "
                f"order inversions {inversions}")
    figure("burst: peak RSS growth during the burst", peak - rss_before, rss_before, "MB",
           note=f"after: {rss_after:.1f} MB (baseline = RSS before the burst)")
    figure("burst: keypad input-to-frame p99 during the burst", percentile(presses, 0.99),
           percentile(idle_presses, 0.99), "ms",
           note=f"p50 {percentile(presses, 0.5):.2f} ms over {len(presses)} presses; "
                f"baseline = idle phone")


if __name__ == "__main__":
    run(main)
