"""The real TFTP server for tests: tftpd-hpa's in.tftpd on 127.0.0.1, a temporary root.

    with TftpServer(directory) as tftp:
        ... tftp.url (tftp://127.0.0.1:<port>/) ...

in.tftpd runs in the foreground (-L), bound to one loopback port (-a), confined to
the directory (-s), as the user running the tests (-u); its own errors go to ``log``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

IN_TFTPD = shutil.which("in.tftpd") or "/usr/sbin/in.tftpd"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TftpServer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = 0
        self.log = directory.parent / f"{directory.name}-tftpd.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"tftp://127.0.0.1:{self.port}/"

    def __enter__(self) -> "TftpServer":
        assert os.path.exists(IN_TFTPD), "tftpd-hpa is in the Makefile's TEST_DEBS"
        self.port = free_udp_port()
        user = pwd.getpwuid(os.getuid()).pw_name
        self._proc = subprocess.Popen(
            [IN_TFTPD, "-L", "-a", f"127.0.0.1:{self.port}", "-s", str(self.directory),
             "-u", user], stdout=self.log.open("wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 5
        while not self._listening():
            assert self._proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "in.tftpd did not bind"
            time.sleep(0.02)
        return self

    def _listening(self) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", self.port))
            except OSError:
                return True             # taken: in.tftpd holds it
            return False

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
