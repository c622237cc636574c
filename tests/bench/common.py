"""What the benchmarks share: the machine, figures printed one a line, the world process, phones.

Every figure is printed as one line: its name, the figure, the baseline measured
in the same run on the same machine, and their ratio (figure / baseline), plus
the target where the issue set one. Nothing here asserts a time: the figures
are for people to read (and for the README table).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
sys.path.insert(0, str(TESTS))

from support.daemon import PhoneProcess  # noqa: E402,F401  (re-exported for the benches)
from support.phone import ACCOUNT, BOARD  # noqa: E402

WORLD = HERE / "world.py"


# --- the machine and the figures ---------------------------------------------------

def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable), {model}, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}")


def header(title: str) -> None:
    print(f"# {title}")
    print(f"# machine: {machine()}")


def figure(name: str, value: float, baseline: float | None, unit: str,
           target: str = "", note: str = "") -> None:
    """One figure, one line: ``name: value unit | baseline b unit | ratio r | target``."""
    parts = [f"{name}: {value:.3f} {unit}"]
    if baseline is not None:
        parts.append(f"baseline {baseline:.3f} {unit}")
        parts.append(f"ratio {value / baseline:.2f}" if baseline else "ratio n/a")
    if target:
        parts.append(f"target {target}")
    if note:
        parts.append(note)
    print(" | ".join(parts), flush=True)


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int | str = "self") -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks       # utime + stime


# --- the world: receiver and clients in a process of their own -----------------------

class World:
    """tests/bench/world.py as a child process; ``ask`` sends a command, returns its answer."""

    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None
        self.port = 0
        self.hit_lines: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.answers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> "World":
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, str(WORLD), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, limit=64 * 1024 * 1024)
        self._reader = asyncio.create_task(self._read())
        self.port = (await self.answers.get())["receiver"]
        return self

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            msg = json.loads(line)
            (self.hit_lines if "hit" in msg else self.answers).put_nowait(msg)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def ask(self, cmd: str, wait: float = 600, **args: Any) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((json.dumps({"cmd": cmd, **args}) + "\n").encode())
        await self.proc.stdin.drain()
        async with asyncio.timeout(wait):
            return await self.answers.get()

    async def next_hit(self, timeout: float = 10) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            return await self.hit_lines.get()

    async def stop(self) -> None:
        if self.proc is None:
            return
        try:
            await self.ask("quit", wait=0.1)
        except (TimeoutError, ConnectionError, BrokenPipeError):
            pass
        try:
            async with asyncio.timeout(3):
                await self.proc.wait()
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        if self._reader is not None:
            self._reader.cancel()


class BareServer:
    """The baseline server: a bare aiohttp handler answering 200, in its own process."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0

    def start(self) -> "BareServer":
        self.proc = subprocess.Popen([sys.executable, str(WORLD), "bare"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.port = json.loads(self.proc.stdout.readline())["port"]
        return self

    def stop(self) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --- phones ---------------------------------------------------------------------------

# The benches run the default config (a user's). QUIET is the one other setting a figure
# is printed with: the mechanical hook switch without its debounce (30 ms by default).
QUIET = "deskphone.hook.debounce_ms = 0\n"
# The tests' account block turns the debounce off (tests/support/phone.py): not here.
BENCH_ACCOUNT = ACCOUNT.replace("deskphone.hook.debounce_ms = 0\n", "")


def write_phone(tmp: Path, urls: dict[str, str], extra: str = "",
                board_extra: str = "") -> Path:
    """A board file and a config directory under ``tmp``: only the events in ``urls`` send."""
    from deskphone.core.events import EVENTS
    tmp.mkdir(parents=True, exist_ok=True)
    board = tmp / "board.toml"
    board.write_text(BOARD.format(password="") + board_extra)
    config = tmp / "config"
    config.mkdir(exist_ok=True)
    lines = ["#!version:1.0.0.1", BENCH_ACCOUNT]
    lines += [f"action_url.{e.id} = {urls.get(e.id, '')}" for e in EVENTS]
    lines.append(extra)
    (config / "y000000000000.cfg").write_text("\n".join(lines) + "\n")
    return board


def run(main: Any) -> None:
    """Run an async ``main`` on a fresh loop (each bench file is a script)."""
    asyncio.run(main())
