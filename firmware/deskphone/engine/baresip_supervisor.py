"""Keeps one baresip running: launch, liveness, backoff, restart. It knows nothing of calls.

A launch finds out which baresip this is (once), lets the adapter write the
configuration directory (``prepare``), starts the child (``BaresipProcess``)
and opens the control connection; baresip is up once it answers a command.
From then on it is watched three ways: the process exits, the control
connection closes, or a ping (a cheap ``reginfo`` when nothing else was said
for ``ping_interval``) gets no answer within ``command_timeout``; the adapter
may also declare it dead (a command of its own timed out). Then the adapter
hears ``on_down``, what is left of baresip is killed, and after a backoff
(doubling, reset by a long stable run) it is started again.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .baresip_process import BaresipProcess
from .baresip_version import Capabilities, capabilities, detect_version
from .baresip_config import find_module_dir
from .ctrl_tcp import CommandTimeout, ConnectionLost, CtrlTcpClient, CtrlTcpError

log = logging.getLogger("deskphone.engine.baresip")


class LaunchError(Exception):
    pass


@dataclass(frozen=True)
class Timing:
    command_timeout: float = 4.0    # one ctrl_tcp command
    ping_interval: float = 2.0      # liveness check while idle
    connect_timeout: float = 8.0    # from spawn to a working control connection
    stop_timeout: float = 0.25      # SIGTERM -> SIGKILL when the daemon stops (its budget: 0.3 s)
    restart_timeout: float = 0.3    # SIGTERM -> SIGKILL when restarting a sick baresip
    backoff_first: float = 0.5
    backoff_max: float = 30.0
    stable_after: float = 60.0      # a run this long resets the backoff
    dial_bind_timeout: float = 10.0


def free_tcp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


# prepare(module_dir, ctrl_port): write baresip's config directory; LaunchError if it cannot.
Prepare = Callable[[str, int], None]


class BaresipSupervisor:
    def __init__(self, binary: str, runtime_dir: Path, timing: Timing, *, prepare: Prepare,
                 on_event: Callable[[dict[str, Any]], None], on_up: Callable[[], None],
                 on_down: Callable[[str], None], on_failed: Callable[[str], None]) -> None:
        self.binary = binary
        # Read at every use: a test may shorten the watchdog times of a running phone.
        self.timing = timing
        self.caps: Capabilities | None = None
        self.process = BaresipProcess(binary, runtime_dir)
        self.client: CtrlTcpClient | None = None
        self.starts = 0                 # how many times baresip was started (tests, console)
        self._prepare = prepare
        self._on_event = on_event
        self._on_up = on_up
        self._on_down = on_down
        self._on_failed = on_failed
        self._task: asyncio.Task[None] | None = None
        self._dead = asyncio.Event()
        self._dead_reason = "control connection lost"
        self._last_activity = 0.0
        self._stopping = False
        self._ctrl_port = 0
        self._reclaims: set[asyncio.Task[None]] = set()
        self.takeovers = 0              # times another client took ctrl_tcp and we took it back

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._supervise(), name="baresip-supervisor")

    async def stop(self) -> None:
        """Stop watching and end baresip; nothing of it outlives this, even when cancelled."""
        self._stopping = True
        try:
            if self._task is not None:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
            if self.client is not None:
                await self.client.close()
        finally:
            # terminate() kills the group even when it is itself cancelled.
            await self.process.terminate(self.timing.stop_timeout)

    def touch(self) -> None:
        """Something was said with baresip just now: no ping needed for a while."""
        self._last_activity = asyncio.get_running_loop().time()

    def declare_dead(self, reason: str) -> None:
        if not self._dead.is_set():
            self._dead_reason = reason
            self._dead.set()

    # ------------------------------------------------------------ the loop

    async def _supervise(self) -> None:
        backoff = self.timing.backoff_first
        loop = asyncio.get_running_loop()
        while not self._stopping:
            started = loop.time()
            try:
                await self._launch()
            except (LaunchError, OSError, CtrlTcpError, TimeoutError) as exc:
                reason = str(exc) or type(exc).__name__
                log.error("baresip could not start: %s", reason)
                self._on_failed(reason)
            except Exception as exc:
                # A bug here must not end supervision: report, clean up, try again.
                log.exception("starting baresip failed")
                self._on_failed(type(exc).__name__)
            else:
                self._on_up()
                reason = await self._until_dead()
                log.error("baresip lost: %s", reason)
                self._on_down(reason)
            await self._kill_child()
            if self._stopping:
                return
            if loop.time() - started > self.timing.stable_after:
                backoff = self.timing.backoff_first
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.timing.backoff_max)

    async def _launch(self) -> None:
        if self.caps is None:
            try:
                version = await detect_version(self.binary)
            except FileNotFoundError:
                raise LaunchError(f"{self.binary!r} is not installed (Debian: baresip-core)")
            if version is None:
                raise LaunchError(f"cannot tell the version of {self.binary!r}")
            self.caps = capabilities(version)
            log.info("baresip %s found%s", self.caps.name,
                     "" if self.caps.tested else " (not a version this phone was tested with)")
        module_dir = find_module_dir()
        if module_dir is None:
            raise LaunchError("no baresip module directory with ctrl_tcp.so")
        ctrl_port = self._ctrl_port = free_tcp_port()
        self._prepare(module_dir, ctrl_port)
        self._dead = asyncio.Event()
        await self.process.start()
        self.starts += 1
        self.client = CtrlTcpClient(self._on_event, self._on_connection_closed)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timing.connect_timeout
        while True:
            if not self.process.running:
                raise LaunchError(f"baresip exited at start: {self.process.last_output()}")
            try:
                await self.client.connect("127.0.0.1", ctrl_port, timeout=1.0)
                break
            except (OSError, TimeoutError):
                if loop.time() > deadline:
                    raise LaunchError("baresip's control port never opened: "
                                      + self.process.last_output()) from None
                await asyncio.sleep(0.05)
        # The control connection is up once baresip answers a command.
        await self.client.command("reginfo", timeout=self.timing.command_timeout)

    async def _kill_child(self) -> None:
        if self.client is not None:
            await self.client.close()
        await self.process.terminate(self.timing.restart_timeout)

    async def _until_dead(self) -> str:
        """Wait until baresip exits, drops the connection or stops answering; say which."""
        exited = asyncio.create_task(self.process.wait())
        dead = asyncio.create_task(self._dead.wait())
        ping = asyncio.create_task(self._ping())
        try:
            done, _ = await asyncio.wait({exited, dead, ping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (exited, dead, ping):
                t.cancel()
            await asyncio.gather(exited, dead, ping, return_exceptions=True)
        if exited in done and not exited.cancelled() and exited.exception() is None:
            return f"baresip exited with status {exited.result()} ({self.process.last_output(4)})"
        if ping in done and not ping.cancelled() and ping.exception() is None:
            return ping.result()
        return self._dead_reason

    def _on_connection_closed(self, error: BaseException | None) -> None:
        if self._stopping or self._dead.is_set() or not self.process.running:
            self.declare_dead(f"control connection closed ({error or 'EOF'})")
            return
        # baresip's ctrl_tcp serves one client: a new connection closes the old one. With
        # baresip still running (its calls too), that was another local process taking
        # the control port: take it back, do not restart baresip (that drops calls).
        task = asyncio.create_task(self._reclaim(error), name="ctrl_tcp-reclaim")
        self._reclaims.add(task)
        task.add_done_callback(self._reclaims.discard)

    async def _reclaim(self, error: BaseException | None) -> None:
        self.takeovers += 1
        log.warning("baresip's control connection was closed while baresip runs (%s): another "
                    "local client connected to ctrl_tcp (port %d)? Taking the control back; "
                    "calls go on (%d time(s) so far)", error or "EOF", self._ctrl_port,
                    self.takeovers)
        client = CtrlTcpClient(self._on_event, self._on_connection_closed)
        try:
            await client.connect("127.0.0.1", self._ctrl_port, timeout=1.0)
            await client.command("reginfo", timeout=self.timing.command_timeout)
        except (OSError, TimeoutError, CtrlTcpError) as exc:
            await client.close()
            self.declare_dead(f"control connection closed ({error or 'EOF'}) and could not "
                              f"be taken back ({exc!r})")
            return
        old, self.client = self.client, client
        if old is not None:
            await old.close()
        self.touch()

    async def _ping(self) -> str:
        """Liveness: a cheap command when nothing else has been said for a while."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.timing.ping_interval)
            if loop.time() - self._last_activity < self.timing.ping_interval:
                continue
            client = self.client
            try:
                assert client is not None
                await client.command("reginfo", timeout=self.timing.command_timeout)
                self._last_activity = loop.time()
            except CommandTimeout:
                return ("baresip stopped answering "
                        f"(no reply within {self.timing.command_timeout:g} s)")
            except ConnectionLost:
                if self._reclaims:              # being taken back from another client
                    await asyncio.gather(*self._reclaims, return_exceptions=True)
                if self.client is not client and self.client is not None \
                        and self.client.connected:
                    continue
                return "control connection lost"
