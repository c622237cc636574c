"""The baresip supervisor on its own: launch, liveness, backoff, restart; no calls, no SIP.

The child is a stand-in for baresip: a short Python script that prints
baresip's banner for ``-h`` and otherwise serves ctrl_tcp (netstring JSON) on
the port the test's ``prepare`` wrote into the config directory, answering
every command ``ok`` - or, as the test says, exiting at start or going silent
after a number of answers (as a SIGSTOPped baresip does). The real baresip's
supervision is tests/integration/test_baresip_supervision.py.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from pathlib import Path

import pytest

from deskphone.engine.baresip_config import find_module_dir
from deskphone.engine.baresip_supervisor import BaresipSupervisor, LaunchError, Timing
from support.needs import unavailable
from support.waiting import until

FAKE_BARESIP = """\
#!{python}
import json, socket, sys, time
if "-h" in sys.argv:
    print("baresip v1.0.0 Copyright (C) 2010 - 2020 Alfred E. Heggestad et al.")
    sys.exit(0)
directory = sys.argv[sys.argv.index("-f") + 1]
mode, port = open(directory + "/fake").read().split()
if mode == "exit":
    print("fake baresip: cannot start")
    sys.exit(3)
answers = int(mode) if mode.isdigit() else -1
server = socket.create_server(("127.0.0.1", int(port)))
conn, _ = server.accept()
buf = b""
while True:
    data = conn.recv(4096)
    if not data:
        sys.exit(0)
    buf += data
    while b":" in buf:
        length, rest = buf.split(b":", 1)
        if len(rest) < int(length) + 1:
            break
        message, buf = json.loads(rest[:int(length)]), rest[int(length) + 1:]
        if answers == 0:
            time.sleep(3600)            # alive, answering nothing
        answers -= 1
        reply = json.dumps({{"response": True, "ok": True, "data": "", "token": message["token"]}})
        conn.sendall(b"%d:%s," % (len(reply), reply.encode()))
"""

FAST = Timing(command_timeout=0.5, ping_interval=0.1, connect_timeout=5.0, stop_timeout=0.2,
              restart_timeout=0.2, backoff_first=0.01, backoff_max=0.05)


class Reports:
    """What the supervisor told its adapter, in order."""

    def __init__(self) -> None:
        self.said: list[tuple[str, str]] = []

    def up(self) -> None:
        self.said.append(("up", ""))

    def down(self, reason: str) -> None:
        self.said.append(("down", reason))

    def failed(self, reason: str) -> None:
        self.said.append(("failed", reason))

    def count(self, what: str) -> int:
        return sum(1 for kind, _ in self.said if kind == what)


@pytest.fixture
def fake_binary(tmp_path) -> Path:
    if find_module_dir() is None:
        unavailable("no baresip module directory: the supervisor stops before its child "
                    "(twin: test_a_missing_baresip_is_reported_and_retried)")
    path = tmp_path / "baresip"
    path.write_text(FAKE_BARESIP.format(python=sys.executable))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def supervisor(binary: Path, runtime: Path, mode: str, reports: Reports,
               prepare_error: str | None = None) -> BaresipSupervisor:
    def prepare(module_dir: str, ctrl_port: int) -> None:
        if prepare_error is not None:
            raise LaunchError(prepare_error)
        runtime.mkdir(parents=True, exist_ok=True)
        (runtime / "fake").write_text(f"{mode} {ctrl_port}")

    return BaresipSupervisor(str(binary), runtime, FAST, prepare=prepare, on_event=lambda ev: None,
                             on_up=reports.up, on_down=reports.down, on_failed=reports.failed)


async def test_up_once_it_answers_and_stopped_without_a_trace(fake_binary, tmp_path):
    reports = Reports()
    sup = supervisor(fake_binary, tmp_path / "run", "answer", reports)
    sup.start()
    try:
        await until(lambda: reports.count("up") == 1, what="the child answered")
        assert sup.caps is not None and sup.caps.version == (1, 0, 0)
        pid = sup.process.pid
        await asyncio.sleep(0.5)            # several ping intervals: the pings are answered
        assert reports.said == [("up", "")] and sup.starts == 1
    finally:
        await sup.stop()
    assert not sup.process.running and not os.path.exists(f"/proc/{pid}/cmdline")


async def test_a_child_that_exits_at_start_is_retried(fake_binary, tmp_path):
    reports = Reports()
    sup = supervisor(fake_binary, tmp_path / "run", "exit", reports)
    sup.start()
    try:
        await until(lambda: reports.count("failed") >= 3, what="three failed starts")
    finally:
        await sup.stop()
    assert reports.count("up") == 0
    assert all("exited at start" in reason for kind, reason in reports.said)
    assert "fake baresip: cannot start" in reports.said[0][1]   # its last words, for the log
    assert sup.starts >= 3


async def test_a_child_that_stops_answering_is_declared_dead_and_restarted(fake_binary, tmp_path):
    reports = Reports()
    # Answers the start-up command and one ping, then goes silent: a hung baresip.
    sup = supervisor(fake_binary, tmp_path / "run", "2", reports)
    sup.start()
    try:
        await until(lambda: reports.count("up") >= 2, what="down and up again")
        first = sup.process.pid
    finally:
        await sup.stop()
    down = next(reason for kind, reason in reports.said if kind == "down")
    assert "stopped answering" in down
    assert reports.said[:3] == [("up", ""), ("down", down), ("up", "")]
    assert sup.starts >= 2 and first is not None


async def test_the_adapter_may_declare_it_dead(fake_binary, tmp_path):
    reports = Reports()
    sup = supervisor(fake_binary, tmp_path / "run", "answer", reports)
    sup.start()
    try:
        await until(lambda: reports.count("up") == 1, what="up")
        old = sup.process.pid
        sup.declare_dead("a command of the adapter timed out")
        await until(lambda: reports.count("up") == 2, what="restarted")
        assert sup.process.pid != old
    finally:
        await sup.stop()
    assert ("down", "a command of the adapter timed out") in reports.said


async def test_a_configuration_it_cannot_write_is_a_failed_start(fake_binary, tmp_path):
    reports = Reports()
    sup = supervisor(fake_binary, tmp_path / "run", "answer", reports, prepare_error="bad [sound]")
    sup.start()
    try:
        await until(lambda: reports.count("failed") >= 2, what="two failed starts")
    finally:
        await sup.stop()
    assert sup.starts == 0                  # no child was started for it
    assert {reason for _, reason in reports.said} == {"bad [sound]"}
