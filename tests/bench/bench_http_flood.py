"""The issue 15 attacks on the HTTP listener: the daemon's RSS and descriptors, and who is served.

    .venv/bin/python tests/bench/bench_http_flood.py      (also in make bench)

``deskphone run`` (simulated board) is started as systemd starts it, with the
unit's ``LimitNOFILE=1024``. This process then attacks it as the red team did:

  1. 1,100 idle connections from one host (127.0.0.2), and again from 50 hosts
     (127.0.9.x, 22 each), held 3 s;
  2. 900 POSTs from an untrusted host (127.0.0.3) announcing 128 KB and
     sending 64 KB of it, then stalling.

During each, a trusted client (127.0.0.1) presses DND on and off through the
servlet: its answers (all must be 200), its p99, and the Action URLs the
toggles fire (none lost), against the same client on the quiet phone. The
phone's RSS and open descriptors (``/proc/<pid>``) are sampled throughout.
"""

from __future__ import annotations

import asyncio
import os
import resource
import socket
import tempfile
import time
from pathlib import Path

from common import QUIET, PhoneProcess, figure, header, percentile, rss_mb, run, write_phone
from support.receiver import Receiver

LIMIT_NOFILE = 1024          # systemd/deskphone.service


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


DND = {"on": False}          # the phone's DND as the trusted client left it


async def trusted_client(port: int, seconds: float) -> tuple[list[float], list[int]]:
    times, statuses = [], []
    deadline = time.monotonic() + seconds
    on = not DND["on"]
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(5):
                r, w = await asyncio.open_connection("127.0.0.1", port)
                key = "DNDOn" if on else "DNDOff"
                w.write(f"GET /servlet?key={key} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        "Connection: close\r\n\r\n".encode())
                answer = await r.read(-1)
                w.close()
            statuses.append(int(answer.split(b" ", 2)[1]) if answer else 0)
        except (OSError, TimeoutError):
            statuses.append(0)
        times.append((time.perf_counter() - t0) * 1000)
        if statuses[-1] == 200:
            DND["on"] = on
        on = not on
        await asyncio.sleep(0.05)
    return times, statuses


async def sampler(pid: int, samples: list[tuple[float, int]], stop: asyncio.Event) -> None:
    while not stop.is_set():
        samples.append((rss_mb(pid), fds(pid)))
        await asyncio.sleep(0.1)


def idle_sockets(port: int, sources: list[str], each: int) -> list[socket.socket]:
    socks = []
    for source in sources:
        for _ in range(each):
            s = socket.socket()
            s.bind((source, 0))
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            socks.append(s)
    return socks


async def half_posts(port: int, count: int) -> list[asyncio.StreamWriter]:
    writers = []
    body = b"key=OK&x=" + b"a" * (64 * 1024)
    for _ in range(count):
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.3", 0))
        except OSError:
            continue
        w.write(b"POST /servlet HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                b"application/x-www-form-urlencoded\r\nContent-Length: 131072\r\n\r\n" + body)
        writers.append(w)
    return writers


async def attack(name: str, phone: PhoneProcess, receiver: Receiver, start, quiet_p99: float):
    pid = phone.pid
    samples: list[tuple[float, int]] = []
    stop = asyncio.Event()
    samples.append((rss_mb(pid), fds(pid)))          # the baseline: before the attack
    before_hits = len(receiver.events())
    held = await start()
    sampling = asyncio.create_task(sampler(pid, samples, stop))
    times, statuses = await trusted_client(phone.http_port, 3.0)
    stop.set()
    await sampling
    for h in held:
        h.close()
    await asyncio.sleep(1.0)
    fired = len(receiver.events()) - before_hits
    print(f"## {name}")
    figure("trusted p99", percentile(times, 0.99), quiet_p99, "ms")
    figure("trusted answers not 200", sum(1 for s in statuses if s != 200), None, "",
           note=f"of {len(statuses)}")
    figure("DND toggles without their Action URL", sum(1 for s in statuses if s == 200) - fired,
           None, "", note=f"{fired} fired")
    figure("phone RSS peak", max(s[0] for s in samples), samples[0][0], "MB")
    figure("phone descriptors peak", max(s[1] for s in samples), samples[0][1], "",
           target=f"< {LIMIT_NOFILE}")


async def main() -> None:
    header("HTTP listener under the issue 15 attacks (idle connections, half-sent POSTs)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    receiver = await Receiver().start()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        board = write_phone(tmp, {"dnd_on": receiver.base + "/dnd_on",
                                  "dnd_off": receiver.base + "/dnd_off"},
                            QUIET + "features.action_uri_limit_ip = 127.0.0.1\n"
                            "features.show_action_uri_option = 0\n")
        resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT_NOFILE, hard))
        try:
            phone = PhoneProcess(tmp, board).start()   # the daemon inherits the unit's limit
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        try:
            times, _ = await trusted_client(phone.http_port, 2.0)
            quiet = percentile(times, 0.99)
            port = phone.http_port
            await attack("1,100 idle connections from one host", phone, receiver,
                         lambda: asyncio.sleep(0, idle_sockets(port, ["127.0.0.2"], 1100)), quiet)
            await attack("1,100 idle connections from 50 hosts", phone, receiver,
                         lambda: asyncio.sleep(0, idle_sockets(
                             port, [f"127.0.9.{i}" for i in range(1, 51)], 22)), quiet)
            await attack("900 half-sent 128 KB POSTs from an untrusted host", phone, receiver,
                         lambda: half_posts(port, 900), quiet)
            log = phone.log.read_text()
            figure("log bytes written", len(log.encode()), None, "B",
                   note=f"{log.count('Traceback')} tracebacks")
        finally:
            phone.stop()
    await receiver.stop()


if __name__ == "__main__":
    run(main)
