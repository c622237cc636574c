"""Idle cost and memory: CPU over 60 s of an idle phone; RSS after start-up and after 10,000 events.

    make bench      (or: .venv/bin/python tests/bench/bench_idle.py)

``deskphone run`` on the simulated board (simulated PBX, registered, nothing
happening). CPU is the process's utime + stime from /proc over 60 s; the
baseline is a bare aiohttp server process idling over the same 60 s. RSS
(VmRSS) is read after start-up, after 10,000 events (Action URI ``DNDOn`` /
``DNDOff`` from another process, each firing its Action URL at a receiver and
a state write) and after 10,000 more: the growth from the first 10,000 to the
second is what a leak would show.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from common import (BareServer, PhoneProcess, World, cpu_seconds, figure, header, rss_mb,
                    run, write_phone)

IDLE = 60.0
EVENTS = 10_000


async def main() -> None:
    header(f"Idle cost over {IDLE:g} s and memory after {EVENTS} events")
    world = await World().start()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        board = write_phone(tmp, {"dnd_on": world.base + "/dnd_on",
                                  "dnd_off": world.base + "/dnd_off"},
                            "features.action_uri_limit_ip = 127.0.0.1\n"
                            "features.show_action_uri_option = 0\n")
        phone = PhoneProcess(tmp, board).start()
        bare = BareServer().start()
        try:
            await asyncio.sleep(2)                      # Setup Completed, registration, settle
            rss_start = rss_mb(phone.pid)
            rss_bare = rss_mb(bare.proc.pid)
            cpu0, bare0, t0 = cpu_seconds(phone.pid), cpu_seconds(bare.proc.pid), time.monotonic()
            await asyncio.sleep(IDLE)
            elapsed = time.monotonic() - t0
            idle_cpu = cpu_seconds(phone.pid) - cpu0
            bare_cpu = cpu_seconds(bare.proc.pid) - bare0
            rss = []
            for _ in range(2):
                got = await world.ask("keys", port=phone.http_port, values=["DNDOn", "DNDOff"],
                                      n=EVENTS, timeout=10)
                assert got["statuses"] == {"200": EVENTS}, got["statuses"]
                await asyncio.sleep(1)
                rss.append(rss_mb(phone.pid))
        finally:
            phone.stop()
            bare.stop()
    await world.stop()
    figure(f"idle CPU over {elapsed:.0f} s (share of one core)", idle_cpu / elapsed * 100,
           bare_cpu / elapsed * 100, "%", target="< 0.5 %",
           note=f"{idle_cpu:.2f} CPU s (/proc counts in 0.01 s ticks); "
                "baseline = bare aiohttp server idling alongside")
    figure("RSS after start-up", rss_start, rss_bare, "MB", target="< 60 MB",
           note="baseline = bare aiohttp server")
    figure(f"RSS after {EVENTS} events", rss[0], rss_start, "MB",
           note=f"growth {rss[0] - rss_start:+.1f} MB; baseline = after start-up")
    figure(f"RSS after {EVENTS} more events", rss[1], rss[0], "MB", target="growth < 2 MB",
           note=f"growth {rss[1] - rss[0]:+.2f} MB")


if __name__ == "__main__":
    run(main)
