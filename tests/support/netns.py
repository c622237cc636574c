"""Network namespaces for tests: a private network stack with interfaces we may change.

Everything a test does in one (addresses, routes, listening sockets) stays in
it, so IP-change tests never touch this machine's own network. Needs root and
iproute2; ``unavailable()`` says why not when a test must skip.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import socket
import subprocess
import threading
import uuid
from typing import Callable, TypeVar

T = TypeVar("T")

CLONE_NEWNET = 0x40000000


def unavailable() -> str | None:
    """Why network namespaces cannot be used here, or None."""
    if shutil.which("ip") is None:
        return "iproute2 (ip) is not installed"
    if os.geteuid() != 0:
        return "creating network namespaces needs root"
    probe = f"dpprobe{os.getpid()}"
    result = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if result.returncode != 0:
        return f"ip netns add failed: {result.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


class NetNs:
    def __init__(self) -> None:
        self.name = f"dp{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.link_kind = ""

    def __enter__(self) -> "NetNs":
        subprocess.run(["ip", "netns", "add", self.name], check=True, capture_output=True)
        try:
            self.ip("link", "set", "lo", "up")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)

    def ip(self, *args: str) -> None:
        result = subprocess.run(["ip", "-n", self.name, *args], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")

    def ip_batch(self, *commands: str) -> None:
        """Several ip commands in one process: they land within a millisecond or so."""
        result = subprocess.run(["ip", "-n", self.name, "-batch", "-"], input="\n".join(commands),
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"ip -batch: {result.stderr.strip()}")

    def add_interface(self, name: str) -> str:
        """An interface that is up: a dummy, or a veth pair where the kernel has no dummy module."""
        try:
            self.ip("link", "add", name, "type", "dummy")
            self.link_kind = "dummy"
        except RuntimeError:
            self.ip("link", "add", name, "type", "veth", "peer", "name", name + "p")
            self.ip("link", "set", name + "p", "up")
            self.link_kind = "veth"
        self.ip("link", "set", name, "up")
        return self.link_kind

    def exec_argv(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def socket(self, family: int, kind: int, proto: int = 0) -> socket.socket:
        """A socket of this namespace (it keeps the namespace it was made in)."""
        return self.call(lambda: socket.socket(family, kind, proto))

    def call(self, make: Callable[[], T]) -> T:
        """``make()`` run on a thread that has entered this namespace (the thread then ends)."""
        made: list[object] = []

        def enter_and_make() -> None:
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                fd = os.open(f"/var/run/netns/{self.name}", os.O_RDONLY)
                try:
                    if libc.setns(fd, CLONE_NEWNET) != 0:
                        raise OSError(ctypes.get_errno(), "setns failed")
                finally:
                    os.close(fd)
                made.append(make())
            except BaseException as exc:   # handed to the caller
                made.append(exc)

        thread = threading.Thread(target=enter_and_make)
        thread.start()
        thread.join()
        if isinstance(made[0], BaseException):
            raise made[0]
        return made[0]  # type: ignore[return-value]
