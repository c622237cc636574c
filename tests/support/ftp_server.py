"""The real FTP server for tests: Debian's vsftpd on 127.0.0.1, unprivileged, a temporary root.

    with FtpServer(directory) as ftp:
        ... ftp.url (ftp://127.0.0.1:<port>/) ...

vsftpd runs as the user running the tests (``run_as_launching_user``: no root, no
chroot), in the foreground, anonymous read-only, passive mode on loopback ports.
Its configuration file must belong to that user (vsftpd checks).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

VSFTPD = shutil.which("vsftpd") or "/usr/sbin/vsftpd"


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class FtpServer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = 0
        self.work = directory.parent / f"{directory.name}-vsftpd"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ftp://127.0.0.1:{self.port}/"

    def __enter__(self) -> "FtpServer":
        assert os.path.exists(VSFTPD), "vsftpd is in the Makefile's TEST_DEBS"
        self.work.mkdir(exist_ok=True)
        (self.work / "empty").mkdir(exist_ok=True)
        self.port, passive = _free_ports(2)
        conf = self.work / "vsftpd.conf"
        conf.write_text("\n".join([
            "listen=YES", "listen_address=127.0.0.1", f"listen_port={self.port}",
            "background=NO", "run_as_launching_user=YES", "seccomp_sandbox=NO",
            "anonymous_enable=YES", "no_anon_password=YES", f"anon_root={self.directory}",
            "local_enable=NO", "write_enable=NO", f"secure_chroot_dir={self.work / 'empty'}",
            "pasv_enable=YES", "pasv_address=127.0.0.1", f"pasv_min_port={passive}",
            f"pasv_max_port={passive}", "xferlog_enable=NO", ""]))
        self._proc = subprocess.Popen([VSFTPD, str(conf)], stdout=subprocess.DEVNULL,
                                      stderr=(self.work / "log").open("wb"))
        deadline = time.monotonic() + 5
        while True:
            assert self._proc.poll() is None, (self.work / "log").read_text()
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "vsftpd did not listen"
                time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
