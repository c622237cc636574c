"""The SIP edge: a kamailio in front of baresip, started and kept running by the phone.

Why it exists: a PBX sends ``NOTIFY`` (ACTION-URI, check-sync, Yealink-xml,
unsolicited message-summary) to the Contact the phone registered, and baresip
answers every out-of-dialog NOTIFY itself, so none reached the phone. The edge
takes the phone's SIP port, hands those NOTIFYs to the phone's own listener and
everything else to baresip (``engine.sip_edge_config`` says how).

Like baresip (``engine.baresip_process``) kamailio runs in a session of its own
(SIGTERM, then SIGKILL, to the whole group; killed with the phone), with its
configuration written from the settings before every
start (0600, in a 0700 directory of the state dir). Its two loopback ports are
chosen once per run of the phone, so a restart of either part finds the other
where it was. It is up once it answers an ``OPTIONS`` on its loopback socket;
when it exits it is started again after a backoff (doubling, reset by a long
stable run). Every wait is bounded, and file writes run in a thread.
"""

from __future__ import annotations

import asyncio
import glob
import logging
import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from ..config.yealink_cfg import atomic_write_text
from .backoff import Backoff
from .baresip_config import BehindEdge
from .baresip_process import GROUP_REAPER_EXEC, BaresipProcess
from .sip_edge_config import EdgeConfig, command_line, outbound_routes, uses_tcp

log = logging.getLogger("deskphone.engine.sip_edge")

BINARY = "kamailio"


@dataclass(frozen=True)
class EdgeTiming:
    ready_timeout: float = 10.0     # from spawn to an answered OPTIONS
    stop_timeout: float = 0.3       # SIGTERM -> SIGKILL
    backoff_first: float = 0.5
    backoff_max: float = 30.0
    stable_after: float = 60.0


def free_loopback_port(pair: bool = False) -> int:
    """A port free for UDP and TCP on 127.0.0.1 (with ``pair``: the next one too, for
    baresip 1.0.0, which also opens TLS on the port above its SIP port)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        ports = (port, port + 1) if pair else (port,)
        if port < 65000 and all(_free(p, kind) for p in ports
                                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM)):
            return port
    raise OSError("no free loopback port")


def _free(port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def missing() -> str | None:
    """Why the edge cannot run on this machine (kamailio not installed), or None."""
    if shutil.which(BINARY) is None or find_module_dir() is None:
        return "kamailio is not installed (Debian: kamailio)"
    return None


def find_module_dir() -> str | None:
    for base in ("/usr/lib/*/kamailio/modules", "/usr/lib/kamailio/modules",
                 "/usr/local/lib*/kamailio/modules"):
        for path in sorted(glob.glob(base)):
            if os.path.isfile(os.path.join(path, "tm.so")):
                return path
    return None


class _EdgeProcess(BaresipProcess):
    """baresip's process handling (own group, pdeathsig, reaped, output ring) for kamailio."""
    name = "SIP edge (kamailio)"
    wrapper = GROUP_REAPER_EXEC     # kamailio forks workers: the whole group goes with the phone

    def __init__(self, argv: list[str], workdir: Path) -> None:
        super().__init__(argv[0], workdir)
        self.argv = argv

    def command(self) -> list[str]:
        return list(self.argv)


class SipEdge:
    """One kamailio on the phone's SIP port; ``link`` is what baresip needs to sit behind it."""

    def __init__(self, settings: Callable[[], Mapping[str, object]], runtime_dir: Path, *,
                 public_host: str, notify: Callable[[], tuple[str, int] | None],
                 timing: EdgeTiming = EdgeTiming(), binary: str = BINARY) -> None:
        self._settings = settings
        self.runtime_dir = Path(runtime_dir).absolute()
        self.public_host = public_host
        self._notify = notify
        self.timing = timing
        self.binary = binary
        self.link = BehindEdge(inner_port=free_loopback_port(),
                               phone_port=free_loopback_port(pair=True))
        self.config_file = self.runtime_dir / "kamailio.cfg"
        self.process: _EdgeProcess | None = None
        self.starts = 0
        self.up = asyncio.Event()
        self._tried = asyncio.Event()               # the first start came up, or failed
        self.started_in: float | None = None        # seconds from spawn to ready, last start
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def address(self) -> tuple[str, int]:
        """Where the edge sends from (to baresip and to the NOTIFY listener)."""
        return ("127.0.0.1", self.link.inner_port)

    @property
    def public_port(self) -> int:
        return int(self._settings().get("sip.listen_port", 5060))  # type: ignore[arg-type]

    @property
    def pid(self) -> int | None:
        p = self.process
        return p.pid if p is not None and p.running else None

    def config(self, module_dir: str) -> EdgeConfig:
        settings = self._settings()
        notify = self._notify()
        host, port = notify if notify is not None else ("127.0.0.1", 9)   # discard: no listener
        notify_host = self.public_host if host in ("", "0.0.0.0", "::") else host
        return EdgeConfig(
            public_host=self.public_host, public_port=self.public_port,
            inner_port=self.link.inner_port, phone_port=self.link.phone_port,
            notify_host=notify_host, notify_port=port, module_dir=module_dir,
            tcp=uses_tcp(settings), outbound=outbound_routes(settings))

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> bool:
        """Start kamailio and wait (bounded) until it answers; False if it did not come up.

        Supervision goes on either way: a failed start is tried again after a backoff."""
        self._stopping = False
        self._task = asyncio.create_task(self._supervise(), name="sip-edge-supervisor")
        tried = asyncio.create_task(self._tried.wait())
        try:
            await asyncio.wait({tried, self._task}, timeout=self.timing.ready_timeout + 1.0,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            tried.cancel()
        return self.up.is_set()

    async def stop(self) -> None:
        self._stopping = True
        try:
            if self._task is not None:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
        finally:
            if self.process is not None:
                await self.process.terminate(self.timing.stop_timeout)
            self.up.clear()

    def move(self, host: str) -> None:
        """The phone's address changed (no fixed ``--bind``): listen there from now on.

        kamailio is ended and, after the first backoff, started on the new address;
        baresip's registration carries the new contact from its next REGISTER on."""
        if not host or host == self.public_host:
            return
        log.info("SIP edge: the phone's address is now %s (was %s); restarting the edge",
                 host, self.public_host)
        self.public_host = host
        if self.process is not None:
            self.process.kill()             # the supervisor starts it again, configured anew

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        t = self.timing
        backoff = Backoff(t.backoff_first, t.backoff_max, t.stable_after)
        while not self._stopping:
            started = loop.time()
            await self._run_once()
            if self.process is not None:
                await self.process.terminate(t.stop_timeout)
            if not self._stopping:
                await asyncio.sleep(backoff.after(loop.time() - started))

    async def _run_once(self) -> None:
        """One life of kamailio: start it, then wait for it to end (or fail to start)."""
        try:
            await self._launch()
        except (OSError, RuntimeError, TimeoutError) as exc:
            log.error("SIP edge could not start: %s", exc)
            return
        except Exception:
            log.exception("starting the SIP edge failed")
            return
        finally:
            self._tried.set()
        assert self.process is not None
        status = await self.process.wait()
        self.up.clear()
        log.error("SIP edge exited with status %s (%s)", status, self.process.last_output(4))

    async def _launch(self) -> None:
        module_dir = find_module_dir()
        if module_dir is None or shutil.which(self.binary) is None:
            raise RuntimeError("kamailio is not installed (Debian: kamailio)")
        settings = self._settings()
        text = self.config(module_dir).render()
        await asyncio.to_thread(self._write, text)
        shm, pkg = (int(settings.get(f"deskphone.sip_edge.{k}_mb", d))  # type: ignore[arg-type]
                    for k, d in (("shm", 8), ("pkg", 2)))
        argv = command_line(str(self.config_file), str(self.runtime_dir), shm_mb=shm,
                            pkg_mb=pkg)
        argv[0] = shutil.which(self.binary) or self.binary
        self.process = _EdgeProcess(argv, self.runtime_dir)
        spawned = time.monotonic()
        await self.process.start()
        self.starts += 1
        await self._until_ready()
        self.started_in = time.monotonic() - spawned
        self.up.set()
        log.info("SIP edge up on %s:%d in %.0f ms", self.public_host, self.public_port,
                 self.started_in * 1000)

    def _write(self, text: str) -> None:
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.runtime_dir, 0o700)
        atomic_write_text(self.config_file, text)     # mkstemp: 0600, kept by the rename

    async def _until_ready(self) -> None:
        """An OPTIONS to the loopback socket, every 50 ms, until a 200 (or the timeout)."""
        loop = asyncio.get_running_loop()
        answered = loop.create_future()

        class Probe(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: object) -> None:
                if data.startswith(b"SIP/2.0 200") and not answered.done():
                    answered.set_result(True)

        transport, _ = await loop.create_datagram_endpoint(
            Probe, local_addr=("127.0.0.1", 0), remote_addr=self.address)
        try:
            lport = transport.get_extra_info("sockname")[1]
            async with asyncio.timeout(self.timing.ready_timeout):
                n = 0
                while not answered.done():
                    assert self.process is not None
                    if not self.process.running:
                        raise RuntimeError("kamailio exited at start: "
                                           + self.process.last_output())
                    n += 1
                    transport.sendto(_options(self.address, lport, n))
                    await asyncio.wait({answered}, timeout=0.05)
        except TimeoutError:
            raise TimeoutError("kamailio did not answer within "
                               f"{self.timing.ready_timeout:g} s: "
                               + (self.process.last_output() if self.process else "")) from None
        finally:
            transport.close()


def _options(target: tuple[str, int], lport: int, n: int) -> bytes:
    host, port = target
    return (f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{lport};branch=z9hG4bKedge{os.getpid()}x{n}\r\n"
            f"From: <sip:phone@127.0.0.1>;tag=edge{n}\r\nTo: <sip:{host}:{port}>\r\n"
            f"Call-ID: edge-ready-{os.getpid()}-{n}\r\nCSeq: {n} OPTIONS\r\n"
            "Max-Forwards: 2\r\nContent-Length: 0\r\n\r\n").encode()
