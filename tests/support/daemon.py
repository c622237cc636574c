"""``deskphone run`` as a child process, started as systemd starts it, for tests and benchmarks."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path


class PhoneProcess:
    """``deskphone run`` as a child process (the daemon as systemd runs it), on 127.0.0.1."""

    def __init__(self, tmp: Path, board: Path, *, log_level: str = "info") -> None:
        self.tmp, self.board, self.log_level = tmp, board, log_level
        self.proc: subprocess.Popen[bytes] | None = None
        self.http_port = 0
        self.started_ns = 0
        self.ready_ns = 0
        self.log = tmp / "phone.log"

    def start(self, timeout: float = 20) -> "PhoneProcess":
        notify_path = str(self.tmp / "notify.sock")
        if os.path.exists(notify_path):
            os.unlink(notify_path)
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as manager:
            manager.bind(notify_path)
            manager.settimeout(timeout)
            env = dict(os.environ, NOTIFY_SOCKET=notify_path)
            env.pop("WATCHDOG_USEC", None)
            self.started_ns = time.monotonic_ns()
            with open(self.log, "ab") as log:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "deskphone", "run", "--board", str(self.board),
                     "--config-dir", str(self.tmp / "config"),
                     "--state-dir", str(self.tmp / "state"),
                     "--bind", "127.0.0.1", "--http-port", "0", "--https-port", "0",
                     "--log-level", self.log_level],
                    stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
            while True:
                data = manager.recv(4096)
                if b"READY=1" in data.split(b"\n"):
                    self.ready_ns = time.monotonic_ns()
                    break
        match = re.search(r"HTTP on 127\.0\.0\.1:(\d+)", self.log.read_text())
        assert match, self.log.read_text()[-2000:]
        self.http_port = int(match.group(1))
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> float:
        """SIGTERM; seconds until it exited."""
        assert self.proc is not None
        t0 = time.monotonic()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return time.monotonic() - t0

    def kill(self) -> None:
        """For clean-up after a failed test: SIGKILL if it still runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
