"""baresip as a child process: started in its own process group, always reaped, never orphaned.

- It runs in a session (and so a process group) of its own, so stopping it
  signals the whole group: nothing it might start survives it.
- baresip is started through a tiny exec
  wrapper (``PDEATHSIG_EXEC``, this Python without site) that sets
  ``PR_SET_PDEATHSIG`` to SIGKILL and execs it: the kernel kills it when the
  daemon dies, even by SIGKILL, with no ``preexec_fn`` (unsafe in a process
  with threads); the pid is the child's own. Not ``setpriv --pdeathsig``: it
  always calls capset(2), which the unit's ``SystemCallFilter=~@privileged``
  refuses, so under the installed service baresip never started
  (tests/vm/test_baresip.py). kamailio forks workers, which a fork clears the
  signal of: it runs under ``GROUP_REAPER_EXEC``, which stays and kills its
  whole group when the daemon or kamailio goes.
- ``terminate`` sends SIGTERM (baresip unregisters its accounts on the way
  out), then SIGKILL after a timeout; a cancelled ``terminate`` still kills.
- Its output (log lines; no console module is loaded) is read by a task, kept
  in a short ring for the report when it dies, and logged at debug level.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import re
import signal
import sys
from pathlib import Path

log = logging.getLogger("deskphone.engine.baresip")

OUTPUT_LINES = 40
# argv: [daemon pid, program, args...]. prctl(PR_SET_PDEATHSIG, SIGKILL), then exec; a daemon
# that died before the prctl took effect (we were re-parented) means: do not start at all.
# The unit's ambient CAP_NET_BIND_SERVICE (ports 80/443 are the daemon's) is cleared first
# (PR_CAP_AMBIENT_CLEAR_ALL), so the child runs with no capability at all.
PDEATHSIG_EXEC = (
    "import ctypes, os, signal, sys\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "if libc.prctl(47, 4, 0, 0, 0) != 0 or libc.prctl(1, signal.SIGKILL, 0, 0, 0) != 0:\n"
    "    sys.exit('prctl: ' + os.strerror(ctypes.get_errno()))\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    sys.exit(0)\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)
# For a program that forks workers (kamailio): the parent-death signal reaches only the
# process it is set on, and a fork clears it, so kamailio's workers outlived a SIGKILLed daemon.
# This wrapper stays: it gets SIGTERM when the daemon dies, forks and execs the program, and
# when either the daemon or the program goes, SIGKILLs its whole process group (itself too).
GROUP_REAPER_EXEC = (
    "import ctypes, os, signal, sys\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "if libc.prctl(47, 4, 0, 0, 0) != 0 or libc.prctl(1, signal.SIGTERM, 0, 0, 0) != 0:\n"
    "    sys.exit('prctl: ' + os.strerror(ctypes.get_errno()))\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    sys.exit(0)\n"
    "signal.signal(signal.SIGTERM, lambda *_: os.killpg(0, signal.SIGKILL))\n"
    "child = os.fork()\n"
    "if child == 0:\n"
    "    signal.signal(signal.SIGTERM, signal.SIG_DFL)\n"
    "    os.execvp(sys.argv[2], sys.argv[2:])\n"
    "os.waitpid(child, 0)\n"
    "os.killpg(0, signal.SIGKILL)\n"
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")       # baresip colours its warnings


class BaresipProcess:
    name = "baresip"        # in the log; the SIP edge runs kamailio the same way

    def __init__(self, binary: str, config_dir: Path) -> None:
        self.binary = binary
        self.config_dir = config_dir
        self.proc: asyncio.subprocess.Process | None = None
        self.output: collections.deque[str] = collections.deque(maxlen=OUTPUT_LINES)
        self._reader: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    # baresip is one process: it is exec'd in place of the wrapper and dies by itself.
    wrapper = PDEATHSIG_EXEC

    def command(self) -> list[str]:
        return [self.binary, "-f", str(self.config_dir)]

    async def start(self) -> None:
        argv = [sys.executable, "-I", "-S", "-c", self.wrapper, str(os.getpid()),
                *self.command()]
        self.output.clear()
        self.proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, start_new_session=True,
            cwd=str(self.config_dir))
        self._reader = asyncio.create_task(self._read_output(self.proc),
                                           name=f"{self.name}-output")
        log.info("%s started (pid %d)", self.name, self.proc.pid)

    async def wait(self) -> int:
        assert self.proc is not None
        return await self.proc.wait()

    async def terminate(self, timeout: float) -> None:
        """SIGTERM the group, SIGKILL it after ``timeout``; reap. Safe to call twice."""
        proc = self.proc
        if proc is None:
            return
        try:
            if proc.returncode is None:
                self._signal_group(proc, signal.SIGTERM)
                try:
                    async with asyncio.timeout(timeout):
                        await proc.wait()
                except TimeoutError:
                    log.warning("baresip did not stop within %g s: killing it", timeout)
        finally:
            # Also when cancelled half-way: nothing of baresip's may outlive this call.
            self.kill()
        try:
            async with asyncio.timeout(2.0):
                await proc.wait()
        except TimeoutError:        # pragma: no cover - a process that survives SIGKILL
            log.error("baresip (pid %d) survived SIGKILL", proc.pid)
        await self._stop_reader()

    def kill(self) -> None:
        """SIGKILL baresip's whole process group, at once (synchronous, never raises)."""
        proc = self.proc
        if proc is not None:
            self._signal_group(proc, signal.SIGKILL)

    @staticmethod
    def _signal_group(proc: asyncio.subprocess.Process, sig: int) -> None:
        try:
            # Its own session: the group id is its pid. The group also catches what
            # survives baresip itself, so signal it even after baresip has exited.
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:     # pragma: no cover - pid reused by another user's group
            pass

    async def _stop_reader(self) -> None:
        if self._reader is not None:
            try:
                async with asyncio.timeout(0.5):
                    await asyncio.shield(self._reader)
            except TimeoutError:
                self._reader.cancel()
            except Exception:       # pragma: no cover
                pass
            self._reader = None

    async def _read_output(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while True:
            line = await proc.stdout.readline()
            if not line:
                return
            text = _ANSI.sub("", line.decode("utf-8", "replace")).rstrip()
            if text:
                self.output.append(text)
                log.debug("baresip: %s", text)

    def last_output(self, lines: int = 8) -> str:
        return " | ".join(list(self.output)[-lines:])


def process_exists(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()
