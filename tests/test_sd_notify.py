"""The systemd notify protocol: our own few lines, checked against real datagram sockets."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
import uuid

from deskphone.sd_notify import Notifier, WatchdogPinger
from support.phone import BOARD, write_config

DESKPHONE = [sys.executable, "-m", "deskphone"]


def bound_socket(address: str | bytes) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(2)
    return sock


def test_notify_over_a_socket_path(tmp_path):
    path = str(tmp_path / "notify")
    with bound_socket(path) as manager:
        n = Notifier({"NOTIFY_SOCKET": path})
        n.ready("Idle")
        assert manager.recv(4096) == b"READY=1"
        assert manager.recv(4096) == b"STATUS=Idle"
        n.notify(STATUS="two\nlines")          # one datagram, one line per field
        assert manager.recv(4096) == b"STATUS=two lines"
        n.close()


def test_notify_over_an_abstract_socket():
    name = f"deskphone-test-{uuid.uuid4().hex}"
    with bound_socket(b"\0" + name.encode()) as manager:
        n = Notifier({"NOTIFY_SOCKET": "@" + name})
        n.stopping()
        assert manager.recv(4096) == b"STOPPING=1"
        assert manager.recv(4096) == b"STATUS=Stopping"
        n.close()


def test_without_a_service_manager_nothing_happens():
    n = Notifier({})
    assert not n.enabled
    assert n.notify(READY=1) is False
    assert n.watchdog_interval is None


def test_watchdog_interval_is_for_this_process_only():
    assert Notifier({"WATCHDOG_USEC": "30000000"}).watchdog_interval == 30.0
    assert Notifier({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}
                    ).watchdog_interval == 30.0
    assert Notifier({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}).watchdog_interval is None
    assert Notifier({"WATCHDOG_USEC": "bad"}).watchdog_interval is None


def test_a_manager_that_does_not_read_never_blocks_the_caller(tmp_path):
    path = str(tmp_path / "notify")
    with bound_socket(path):
        n = Notifier({"NOTIFY_SOCKET": path})
        started = time.monotonic()
        results = [n.notify(STATUS="x" * 1000) for _ in range(5000)]
        assert time.monotonic() - started < 2
        assert False in results                 # the queue filled up: dropped, not waited for
        n.close()


async def test_the_watchdog_pings_come_from_the_event_loop(tmp_path):
    path = str(tmp_path / "notify")
    with bound_socket(path) as manager:
        manager.setblocking(False)
        n = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000"})   # ping every 50 ms
        sent_at: list[float] = []
        send = n.watchdog
        def timed() -> bool:
            sent_at.append(time.monotonic())
            return send()

        n.watchdog = timed  # type: ignore[method-assign]
        pinger = WatchdogPinger(n)
        pinger.start()
        await asyncio.sleep(0.2)
        time.sleep(0.5)                         # a stuck event loop...
        await asyncio.sleep(0.2)
        await pinger.stop()
        arrivals = []
        while True:
            try:
                arrivals.append(manager.recv(64))
            except BlockingIOError:
                break
        n.close()
    assert len(arrivals) == len(sent_at) and set(arrivals) == {b"WATCHDOG=1"}
    gaps = sorted(b - a for a, b in zip(sent_at, sent_at[1:]))
    # ...sends no ping (so systemd would kill it); otherwise they come every 50 ms.
    assert gaps[-1] >= 0.45, gaps
    assert 0.03 < gaps[len(gaps) // 2] < 0.1, gaps


async def test_the_daemon_reports_ready_status_watchdog_and_stopping_in_order(tmp_path, receiver):
    name = f"deskphone-test-{uuid.uuid4().hex}"
    manager = bound_socket(b"\0" + name.encode())
    manager.setblocking(False)
    board = tmp_path / "board.toml"
    board.write_text(BOARD.format(password=""))
    write_config(tmp_path / "config", receiver.base, extra="static.wui.https_enable = 0")
    env = dict(os.environ, NOTIFY_SOCKET="@" + name, WATCHDOG_USEC="200000")
    proc = await asyncio.create_subprocess_exec(
        *DESKPHONE, "run", "--board", str(board), "--config-dir", str(tmp_path / "config"),
        "--state-dir", str(tmp_path / "state"), "--bind", "127.0.0.1", "--http-port", "0",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    loop = asyncio.get_running_loop()
    got: list[tuple[float, str]] = []

    async def collect(until) -> None:
        async with asyncio.timeout(5):
            while not until():
                data = await loop.sock_recv(manager, 4096)
                got.append((time.monotonic(), data.decode()))

    try:
        await collect(lambda: sum(m == "WATCHDOG=1" for _, m in got) >= 4
                      and any(m == "STATUS=Idle" for _, m in got))
        proc.send_signal(signal.SIGTERM)
        await collect(lambda: any(m == "STOPPING=1" for _, m in got))
        out, _ = await asyncio.wait_for(proc.communicate(), 5)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        manager.close()
    assert proc.returncode == 0, out.decode()
    messages = [m for _, m in got]
    assert messages[0] == "READY=1", messages
    ready, stopping = messages.index("READY=1"), messages.index("STOPPING=1")
    status = messages.index("STATUS=Idle")
    pings = [i for i, m in enumerate(messages) if m == "WATCHDOG=1"]
    assert ready < status < stopping
    assert ready < pings[0] and pings[-1] < stopping, messages
    # At half the interval: 0.1 s apart (the loop is idle, so close to it).
    ping_times = [t for t, m in got if m == "WATCHDOG=1"]
    gaps = sorted(b - a for a, b in zip(ping_times, ping_times[1:]))
    assert 0.05 < gaps[len(gaps) // 2] < 0.2, gaps
