"""The event loop while a 1 MiB provisioning file of mistyped keys is checked (issue 15, item 17).

    make bench      (or: .venv/bin/python tests/bench/bench_provisioning_stall.py)

A real provisioning server on 127.0.0.1 (tests/support/prov_server.py) serves a
y000000000000.cfg just under the 1 MiB cap made of mistyped Action URL keys
(``action_url.dnd_onn = ...``: each one is checked against the event catalogue
for a "did you mean", the costliest error there is). A Provisioner over
tests/net/fake_host.py's host (a real core and settings writer) fetches, checks
and applies it while a ticker on the same loop wakes every millisecond and keeps
the longest gap between two wake-ups: the loop's longest stall.

Baselines from the same run: the same check run on the loop itself (what the
phone did before: the stall the issue measured as 3.4 s), and the ticker alone.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

from common import TESTS, figure, header

sys.path.insert(0, str(TESTS / "net"))

from deskphone.net.provisioning import MAX_FILE, Provisioner, check_files  # noqa: E402
from fake_host import FakeHost  # noqa: E402
from support.prov_server import ProvServer  # noqa: E402


def mistyped_file() -> bytes:
    lines = ["#!version:1.0.0.1"]
    size = len(lines[0]) + 1
    n = 0
    while True:
        line = f"action_url.dnd_onn{n % 97} = http://192.0.2.10/hook?n={n}"
        if size + len(line) + 1 > MAX_FILE - 64:
            break
        lines.append(line)
        size += len(line) + 1
        n += 1
    return ("\n".join(lines) + "\n").encode()


class Ticker:
    """Wakes every millisecond; ``longest`` is the longest time between two wake-ups."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            self.longest = max(self.longest, now - last)
            last = now

    def __enter__(self) -> "Ticker":
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def main() -> None:
    logging.getLogger("deskphone").setLevel(logging.ERROR)    # 20 problem lines: not figures
    data = mistyped_file()
    header(f"Event loop stall while provisioning a {len(data) / 1024:.0f} KiB file of "
           "mistyped keys")
    with tempfile.TemporaryDirectory() as d:
        async with ProvServer({"y000000000000.cfg": data}) as server:
            host = FakeHost(Path(d) / "state",
                            {"static.auto_provision.server.url": server.url})
            provisioner = Provisioner(host, discover=None)
            with Ticker() as idle:
                await asyncio.sleep(1.0)
            with Ticker() as during:
                started = time.perf_counter()
                result = await provisioner.run()
                took = time.perf_counter() - started
            assert result.ok, result.reason
            problems = len(provisioner.last_report.problems)
            with Ticker() as on_loop:
                await asyncio.sleep(0.01)
                check_files({"y000000000000.cfg": data})     # blocking, on the loop
                await asyncio.sleep(0.01)
    figure("longest loop stall while provisioning (check on a thread)", during.longest * 1000,
           on_loop.longest * 1000, "ms", target="well under WatchdogSec",
           note=f"baseline: the same check on the loop; {problems} problems reported; "
                f"run {took:.2f} s")
    figure("longest loop stall, ticker alone", idle.longest * 1000, None, "ms")


if __name__ == "__main__":
    asyncio.run(main())
