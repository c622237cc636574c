"""``make soak``: the daemon under mixed traffic for SOAK_SECONDS (default 1,800), with figures.

``deskphone run`` (simulated board and PBX) runs as systemd runs it, with the
unit's ``LimitNOFILE=1024``, trusting 127.0.0.1. From this process, at once:

- **the integration** (127.0.0.1): DND on, DND off, a call in (``/sim``'s
  WebSocket, the simulated far end), answered with ``key=OK`` and ended with
  ``key=X``, over and over; each step's Action URL must arrive: dnd_on,
  dnd_off, incoming_call, call_established, call_terminated (nothing lost).
  That WebSocket is never read: a page that stopped reading, while the keys
  below change the screen 50 times a second (the phone must hold one state
  for it, not every one: tests/adversarial/test_sim_websocket_backlog.py);
- **keys**: ``key=VOLUME_UP`` / ``VOLUME_DOWN`` every 20 ms, each answer timed;
- **floods from untrusted sources**: servlet requests from 127.0.0.2 (about
  200 a second) and NOTIFY datagrams from 127.0.8.x (about 200 a second);
- **slow clients**: 40 idle connections from 127.0.0.4, reopened as the
  phone closes them, and slowloris heads from 127.0.0.5 (a byte a second).

Every 10 s the phone's RSS and open descriptors are sampled. At the end:
requests served, the keys' p50/p99, the integration's cycles and anything
lost, and RSS/descriptors over time (one row a minute, or every sample when
the run is shorter than 5 minutes).

``SOAK_KINDS`` (comma-separated; all by default) runs only some traffic kinds,
to tell which one grows memory: integration, keys, untrusted_http,
untrusted_notify, idle, slowloris.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import socket
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "bench"))
sys.path.insert(0, str(HERE.parent))

import aiohttp  # noqa: E402

from common import QUIET, PhoneProcess, percentile, rss_mb, write_phone  # noqa: E402
from support.receiver import Receiver  # noqa: E402
from support.sip_udp import notify  # noqa: E402

SECONDS = float(os.environ.get("SOAK_SECONDS", "1800"))
LIMIT_NOFILE = 1024
KINDS = ("integration", "keys", "untrusted_http", "untrusted_notify", "idle", "slowloris")
EVENTS = ("dnd_on", "dnd_off", "incoming_call", "call_established", "call_terminated")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Soak:
    def __init__(self, phone: PhoneProcess, receiver: Receiver, notify_port: int) -> None:
        self.phone, self.receiver, self.notify_port = phone, receiver, notify_port
        self.base = f"http://127.0.0.1:{phone.http_port}"
        self.deadline = time.monotonic() + SECONDS
        self.latencies: list[float] = []
        self.served = {"trusted keys": 0, "integration requests": 0, "untrusted refused": 0,
                       "notify datagrams sent": 0,
                       "idle connections closed by the phone's timeout": 0,
                       "idle connections refused at once (per-source limit)": 0,
                       "slowloris heads cut": 0}
        self.failures: list[str] = []
        self.cycles = 0
        self.expected = 0
        self.samples: list[tuple[float, float, int]] = []
        self.kinds: tuple[str, ...] = KINDS

    @property
    def running(self) -> bool:
        return time.monotonic() < self.deadline

    async def keys(self) -> None:
        async with aiohttp.ClientSession() as session:
            up = True
            while self.running:
                t0 = time.perf_counter()
                key = "VOLUME_UP" if up else "VOLUME_DOWN"
                try:
                    async with session.get(f"{self.base}/servlet?key={key}",
                                           timeout=aiohttp.ClientTimeout(total=10)) as r:
                        await r.read()
                        ok = r.status == 200
                except (aiohttp.ClientError, TimeoutError) as exc:
                    ok = False
                    self.failures.append(f"key {key}: {exc!r}")
                self.latencies.append((time.perf_counter() - t0) * 1000)
                if ok:
                    self.served["trusted keys"] += 1
                elif len(self.failures) < 50:
                    self.failures.append(f"key {key}: not 200")
                up = not up
                await asyncio.sleep(0.02)

    async def integration(self) -> None:
        async with aiohttp.ClientSession() as session:
            async def key(value: str) -> None:
                async with session.get(f"{self.base}/servlet?key={value}") as r:
                    await r.read()
                    if r.status != 200:
                        self.failures.append(f"integration key={value}: {r.status}")
                self.served["integration requests"] += 1

            n = 0
            while self.running:
                try:
                    async with session.ws_connect(f"{self.base}/sim/ws") as ws:
                        while self.running:
                            n += 1
                            await self.cycle(ws, key, n)
                except (aiohttp.ClientError, ConnectionError) as exc:
                    self.failures.append(f"cycle {self.cycles + 1}: /sim WebSocket: {exc!r}")
                    await asyncio.sleep(1)

    async def cycle(self, ws, key, n: int) -> None:
        await key("DNDOn")
        await key("DNDOff")
        await ws.send_str(json.dumps({"call_in": {"number": f"3{n % 100:02d}",
                                                  "name": "Soak"}}))
        await self.wait_for("incoming_call")
        await key("OK")
        await self.wait_for("call_established")
        await asyncio.sleep(0.5)
        await key("X")
        await self.wait_for("call_terminated")
        self.cycles += 1
        self.expected += len(EVENTS)
        await asyncio.sleep(0.5)

    async def wait_for(self, event: str) -> None:
        """This cycle's ``event`` arrives (one per cycle) within 10 s, or it is a failure."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.receiver.events().count(event) >= self.cycles + 1:
                return
            await asyncio.sleep(0.02)
        self.failures.append(f"cycle {self.cycles + 1}: {event} did not arrive within 10 s")

    async def untrusted_http(self) -> None:
        while self.running:
            try:
                r, w = await asyncio.open_connection("127.0.0.1", self.phone.http_port,
                                                     local_addr=("127.0.0.2", 0))
                for _ in range(20):
                    w.write(b"GET /servlet?key=DNDOn;OFFHOOK HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                await w.drain()
                data = await asyncio.wait_for(r.read(65536), 5)
                self.served["untrusted refused"] += data.count(b"HTTP/1.1 403")
                w.close()
            except (OSError, TimeoutError):
                pass
            await asyncio.sleep(0.1)

    async def untrusted_notify(self) -> None:
        socks = []
        for i in range(1, 21):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((f"127.0.8.{i}", 0))
            s.setblocking(False)
            socks.append(s)
        try:
            while self.running:
                for s in socks:
                    try:
                        s.sendto(notify(self.notify_port, "key=DNDOn"),
                                 ("127.0.0.1", self.notify_port))
                        self.served["notify datagrams sent"] += 1
                    except OSError:
                        pass
                    while True:                         # drop whatever comes back
                        try:
                            s.recv(65536)
                        except OSError:
                            break
                await asyncio.sleep(0.1)
        finally:
            for s in socks:
                s.close()

    async def idle_client(self) -> None:
        while self.running:
            try:
                r, w = await asyncio.open_connection("127.0.0.1", self.phone.http_port,
                                                     local_addr=("127.0.0.4", 0))
                opened = time.monotonic()
                await asyncio.wait_for(r.read(), max(0.1, self.deadline - time.monotonic()))
                w.close()
                if time.monotonic() - opened >= 5:
                    self.served["idle connections closed by the phone's timeout"] += 1
                else:
                    self.served["idle connections refused at once (per-source limit)"] += 1
                    await asyncio.sleep(1.0)
            except (OSError, TimeoutError):
                await asyncio.sleep(0.5)

    async def slowloris(self) -> None:
        while self.running:
            try:
                r, w = await asyncio.open_connection("127.0.0.1", self.phone.http_port,
                                                     local_addr=("127.0.0.5", 0))
                w.write(b"GET /servlet?key=OK HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                while self.running:
                    w.write(b"X")
                    await w.drain()
                    try:
                        if await asyncio.wait_for(r.read(100), 1.0) == b"":
                            break
                    except TimeoutError:
                        pass
                self.served["slowloris heads cut"] += 1
                w.close()
            except (OSError, ConnectionError):
                await asyncio.sleep(0.5)

    async def sample(self) -> None:
        start = time.monotonic()
        while self.running:
            pid = self.phone.pid
            self.samples.append((time.monotonic() - start, rss_mb(pid),
                                 len(os.listdir(f"/proc/{pid}/fd"))))
            await asyncio.sleep(10)

    async def run(self, kinds: tuple[str, ...] = KINDS) -> None:
        self.kinds = kinds
        makers = {"integration": lambda: [self.integration()], "keys": lambda: [self.keys()],
                  "untrusted_http": lambda: [self.untrusted_http()],
                  "untrusted_notify": lambda: [self.untrusted_notify()],
                  "idle": lambda: [self.idle_client() for _ in range(40)],
                  "slowloris": lambda: [self.slowloris()]}
        tasks = [self.sample()]
        for kind in kinds:
            tasks += makers[kind]()
        await asyncio.gather(*tasks)

    def report(self) -> None:
        print(f"# soak: {SECONDS:.0f} s of mixed traffic against deskphone run "
              f"(LimitNOFILE={LIMIT_NOFILE}); kinds: {', '.join(self.kinds)}")
        for name, count in self.served.items():
            print(f"{name}: {count}")
        lat = self.latencies
        if lat:
            print(f"trusted key latency: p50 {percentile(lat, 0.5):.1f} ms, "
                  f"p99 {percentile(lat, 0.99):.1f} ms, max {max(lat):.1f} ms "
                  f"({len(lat)} requests)")
        got = sum(self.receiver.events().count(e) for e in EVENTS)
        print(f"integration cycles (DND on/off, call in, answer, end): {self.cycles}; "
              f"Action URLs expected {self.expected}, received {got}, "
              f"lost {max(0, self.expected - got)}")
        print(f"failures: {len(self.failures)}" + "".join(f"\n  {f}" for f in self.failures[:10]))
        every = 1 if SECONDS < 300 else 6
        print("time s | RSS MB | fds")
        for t, rss, fds in self.samples[::every] + self.samples[-1:]:
            print(f"{t:6.0f} | {rss:6.1f} | {fds}")


def kinds_asked() -> tuple[str, ...]:
    asked = tuple(k.strip() for k in os.environ.get("SOAK_KINDS", "").split(",") if k.strip())
    unknown = [k for k in asked if k not in KINDS]
    if unknown:
        raise SystemExit(f"SOAK_KINDS: unknown {', '.join(unknown)} (known: {', '.join(KINDS)})")
    return asked or KINDS


async def main() -> int:
    kinds = kinds_asked()
    receiver = await Receiver().start()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    notify_port = free_udp_port()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        board = write_phone(tmp, {e: f"{receiver.base}/{e}" for e in EVENTS},
                            QUIET + "features.action_uri_limit_ip = 127.0.0.1\n"
                            "features.show_action_uri_option = 0\n"
                            f"deskphone.sip_notify_port = {notify_port}\n")
        resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT_NOFILE, hard))
        try:
            phone = PhoneProcess(tmp, board).start()
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        soak = Soak(phone, receiver, notify_port)
        try:
            await soak.run(kinds)
        finally:
            phone.stop()
            soak.report()
            log = phone.log.read_text()
            print(f"phone log: {len(log.encode())} bytes, {log.count('Traceback')} tracebacks")
    await receiver.stop()
    return 1 if soak.failures or ("integration" in kinds and soak.cycles == 0) else 0


if __name__ == "__main__":
    sys.exit(__import__("asyncio").run(main()))
