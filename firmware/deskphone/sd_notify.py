"""The systemd notify protocol: READY, STATUS, WATCHDOG and STOPPING datagrams.

systemd (``Type=notify``) hands the service a datagram socket in
``NOTIFY_SOCKET``: a path, or ``@name`` for the abstract namespace. Each
message is newline-separated ``KEY=VALUE`` lines. That is the whole protocol,
so it is written here rather than pulled in as a dependency.

Sending never blocks the event loop: the socket is non-blocking, and a
datagram the manager cannot take right now is dropped (the next status or
watchdog ping follows soon anyway). Outside systemd (no ``NOTIFY_SOCKET``)
every call does nothing.

``WatchdogPinger`` sends ``WATCHDOG=1`` at half of ``WATCHDOG_USEC`` from a
task on the event loop: if the loop is stuck, the pings stop and systemd
restarts the service.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import Mapping

log = logging.getLogger("deskphone.sd_notify")


def _address(name: str) -> str | bytes | None:
    if name.startswith("@"):
        return b"\0" + name[1:].encode()     # abstract namespace
    if name.startswith("/"):
        return name
    return None    # vsock and other forms: not used on a Pi


class Notifier:
    """Talks to the service manager; a silent no-op when not run by one."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self._address = _address(env.get("NOTIFY_SOCKET", ""))
        self._sock: socket.socket | None = None
        if self._address is not None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.setblocking(False)
        self.watchdog_interval = _watchdog_seconds(env)
        self.sent: list[str] = []           # what went out, for the console and tests

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def notify(self, **fields: object) -> bool:
        """Send ``KEY=value`` lines (``notify(READY=1, STATUS="Idle")``). True if sent."""
        if self._sock is None:
            return False
        text = "\n".join(f"{k}={_one_line(v)}" for k, v in fields.items())
        try:
            data = text.encode("utf-8", "replace")
            self._sock.sendto(data, self._address)  # type: ignore[arg-type]
        except (BlockingIOError, InterruptedError):
            log.debug("service manager busy; notification dropped: %s", text)
            return False
        except OSError as exc:
            log.debug("cannot notify the service manager: %s", exc)
            return False
        self.sent.append(text)
        del self.sent[:-50]
        return True

    def ready(self, status: str = "") -> None:
        self.notify(READY=1)
        if status:
            self.status(status)

    def status(self, text: str) -> None:
        self.notify(STATUS=text)

    def stopping(self, status: str = "Stopping") -> None:
        self.notify(STOPPING=1)
        self.status(status)

    def watchdog(self) -> None:
        self.notify(WATCHDOG=1)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _one_line(value: object) -> str:
    return str(value).replace("\n", " ")


def _watchdog_seconds(env: Mapping[str, str]) -> float | None:
    """The watchdog interval systemd asks for, or None when there is none for this process."""
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = env.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return None      # meant for another process (we were started by the service's main one)
    return usec / 1_000_000 if usec > 0 else None


class WatchdogPinger:
    """Pings the watchdog at half the interval, from the event loop itself."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        interval = self.notifier.watchdog_interval
        if interval is None or not self.notifier.enabled or self._task is not None:
            return
        log.info("watchdog: pinging every %.1f s", interval / 2)
        self._task = asyncio.get_running_loop().create_task(self._run(interval / 2),
                                                            name="sd-watchdog")

    async def _run(self, period: float) -> None:
        while True:
            self.notifier.watchdog()
            await asyncio.sleep(period)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
