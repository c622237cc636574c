"""Start-up: from process start to READY (systemd) and to Setup Completed at a receiver;
import time.

    make bench      (or: .venv/bin/python tests/bench/bench_startup.py)

``deskphone run`` on the simulated board is started as systemd would (with a
``NOTIFY_SOCKET`` this script listens on), five times over the same state
directory (the first start also makes the HTTPS certificate: reported apart).
Figures are medians: process start -> ``READY=1``, process start -> the Setup
Completed GET at a receiver in this process. Baseline: the same interpreter
starting and importing aiohttp (what any asyncio HTTP daemon pays) and exiting.
Import time comes from ``python -X importtime -c 'import deskphone.cli, deskphone.app'``.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import QUIET, PhoneProcess, figure, header, run, write_phone
from support.receiver import Receiver

RUNS = 5


def import_ms(code: str) -> float:
    """Cumulative import time of the top-level modules ``code`` imports (-X importtime), ms."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True,
                         text=True, check=True).stderr
    total = 0
    for line in out.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line[len("import time:"):].split("|")
        if not name.startswith(" ") or name.startswith("  "):
            continue            # only top-level imports (nested ones are in their cumulative)
        if cumulative.strip().isdigit():
            total += int(cumulative)
    return total / 1000


def process_ms(code: str) -> float:
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-c", code], check=True)
    return (time.monotonic() - t0) * 1000


async def main() -> None:
    header(f"Start-up: deskphone run on the simulated board, median of {RUNS}")
    rx = await Receiver().start()
    ready, setup, first = [], [], None
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        board = write_phone(tmp, {"setup_completed": rx.base + "/setup_completed"}, QUIET)
        for n in range(RUNS + 1):
            phone = PhoneProcess(tmp, board, log_level="info")
            before = len(rx.hits)
            phone.start()
            started_s = phone.started_ns / 1e9
            async with asyncio.timeout(20):
                while len(rx.hits) == before:
                    await asyncio.sleep(0.002)
            to_ready = (phone.ready_ns - phone.started_ns) / 1e6
            to_setup = (rx.hits[before].at - started_s) * 1000
            phone.stop()
            if n == 0:
                first = (to_ready, to_setup)        # makes the TLS certificate too
            else:
                ready.append(to_ready)
                setup.append(to_setup)
    await rx.stop()
    base = statistics.median(process_ms("import asyncio, aiohttp.web") for _ in range(RUNS))
    figure("process start -> READY=1", statistics.median(ready), base, "ms",
           target="< 1000 ms", note=f"first start (makes the TLS certificate): {first[0]:.0f} ms; "
                                    "baseline = python starting, importing aiohttp, exiting")
    figure("process start -> Setup Completed at the receiver", statistics.median(setup), base,
           "ms", target="< 1000 ms", note=f"first start: {first[1]:.0f} ms")
    ours = statistics.median(import_ms("import deskphone.cli, deskphone.app") for _ in range(3))
    theirs = statistics.median(import_ms("import aiohttp.web") for _ in range(3))
    figure("import time of deskphone.cli + deskphone.app (-X importtime)", ours, theirs, "ms",
           note="baseline = import aiohttp.web alone")


if __name__ == "__main__":
    run(main)
