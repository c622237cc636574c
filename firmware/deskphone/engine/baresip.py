"""The real telephony engine: baresip, driven over its ``ctrl_tcp`` interface.

The phone does not speak SIP or RTP itself. The adapter comes in three parts:

- ``baresip_supervisor``: keeps one baresip child running (launch, liveness
  ping, backoff, restart) and knows nothing of calls;
- ``baresip_events``: the sans-I/O translator from baresip's events to the
  core's inputs, owning the table of calls;
- this module, the port: glue between the two, a worker that runs one job at
  a time, the table from the core's effect type to the coroutine of
  ``baresip_commands`` it becomes, and the table from the translator's job
  type (a remote-hold check, putting holds back, ...) to how it is run.

What lives here is only what baresip makes necessary:

- **Selecting the call.** baresip 1.x acts on the "current call" of the
  "current user agent". Every command about a call is sent as one batch
  ``uafind <aor>`` + ``callfind <Call-ID>`` + the command, in a single write,
  so baresip runs the three back to back. Commands run one at a time (a
  worker task), so no two batches interleave.
- **The Call-ID of a call we place.** ``dial`` does not return it: the batch
  ``uafind`` + ``dial`` + ``callstat`` reads it from the call status; the
  translator holds back events of that call until it is bound.
- **What baresip 1.x does on its own.** Answering holds the previous call;
  ending a call resumes a held one; a failed transfer ends the call. The
  adapter keeps the hold state the core asked for (it re-applies it).
- **What baresip 1.x cannot do** and the adapter does another way: the far end
  holding us (read from the negotiated audio direction after each remote
  SDP), forwarding (answer, then REFER the caller to the target: no version
  can answer 302), attended transfer (the consultation call is ended and the
  held party is blind-transferred to the consulted number), rejecting with
  480/603 (only 486 exists). See the README's table.
- **Supervision.** If baresip goes, the adapter reports ``EngineState(False)``
  (the core ends every call with Terminated and fires Unregistered); once it
  is back, ``EngineState(True)`` makes the core register the accounts again.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Awaitable, Callable, Mapping

from ..core import effects as fx
from ..core import inputs as ins
from .baresip_commands import BaresipCommands, dial_uri
from .baresip_config import BaresipConfigError, BehindEdge, launch_config, write_config_dir
from .baresip_events import (BaresipCall, BaresipEvents, CheckRemoteHold, DialEventArrived,
                             Event, Job, Output, ReconcileHolds, ReferToForwardTarget)
from .baresip_process import BaresipProcess
from .baresip_supervisor import BaresipSupervisor, LaunchError, Timing
from .baresip_version import Capabilities
from .ctrl_tcp import CommandTimeout, ConnectionLost, CtrlTcpClient, Response
from .port import EngineCommand, Post

# Timing and dial_uri are the adapter's public names, wherever they are kept.
__all__ = ["BaresipEngine", "Timing", "dial_uri"]

log = logging.getLogger("deskphone.engine.baresip")


class BaresipEngine:
    """Implements ``engine.port.Engine`` with a supervised baresip child process."""

    def __init__(self, settings: Callable[[], Mapping[str, object]], *, runtime_dir: Path,
                 bind: str = "", sound: Mapping[str, object] | None = None,
                 simulated: bool = False, binary: str = "baresip",
                 timing: Timing = Timing(), edge: BehindEdge | None = None) -> None:
        self._settings = settings
        self.edge = edge                # behind the SIP edge (engine.sip_edge), or on its own
        # baresip runs in it: -f must not be relative.
        self.runtime_dir = Path(runtime_dir).absolute()
        self.bind = bind
        self.sound = dict(sound or {})
        self.simulated = simulated
        self.binary = binary
        self.events = BaresipEvents()
        self.supervisor = BaresipSupervisor(
            binary, self.runtime_dir, timing, prepare=self._prepare, on_event=self._on_event,
            on_up=self._set_up, on_down=self._set_down, on_failed=self._launch_failed)
        self.commands = BaresipCommands(
            self.events, run=self._run, send=self._send, deliver=self._deliver,
            settings=settings, timing=lambda: self.supervisor.timing, sound=self.sound,
            simulated=simulated)
        self.up = False
        self._post: Post | None = None
        self._jobs: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._stopping = False

    # ------------------------------------------- what tests and the console read

    @property
    def calls(self) -> dict[str, BaresipCall]:
        return self.events.calls

    @property
    def uas(self) -> dict[int, str]:
        return self.events.uas

    @property
    def caps(self) -> Capabilities | None:
        return self.supervisor.caps

    @property
    def timing(self) -> Timing:
        return self.supervisor.timing

    @timing.setter
    def timing(self, timing: Timing) -> None:
        self.supervisor.timing = timing

    @property
    def process(self) -> BaresipProcess:
        return self.supervisor.process

    @property
    def client(self) -> CtrlTcpClient | None:
        return self.supervisor.client

    @property
    def starts(self) -> int:
        return self.supervisor.starts

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process.running else None

    # ---------------------------------------------------------------- port

    async def start(self, post: Post) -> None:
        self._post = post
        self._stopping = False
        self.supervisor.start()

    def execute(self, command: EngineCommand) -> None:
        if not self.up:
            # Calls died with baresip; registration is redone when it is back.
            log.debug("baresip is down: dropped %s", type(command).__name__)
            return
        handler = _COMMANDS.get(type(command))
        if handler is not None:
            self._jobs.put_nowait(lambda: handler(self.commands, command))

    async def stop(self) -> None:
        self._stopping = True
        try:
            if self._worker is not None:
                self._worker.cancel()
                await asyncio.gather(self._worker, return_exceptions=True)
                self._worker = None
        finally:
            self.up = False
            await self.supervisor.stop()

    # ---------------------------------------------------- the supervisor's calls

    def _prepare(self, module_dir: str, ctrl_port: int) -> None:
        try:
            launch = launch_config(self._settings(), sound=self.sound, simulated=self.simulated,
                                   bind=self.bind, runtime_dir=self.runtime_dir,
                                   module_dir=module_dir, ctrl_port=ctrl_port, edge=self.edge)
        except BaresipConfigError as exc:
            raise LaunchError(str(exc)) from None
        for n, problem in launch.problems.items():
            log.error("account %d: %s", n, problem)
        write_config_dir(self.runtime_dir, launch.config, launch.accounts)
        (self.runtime_dir / "sounds").mkdir(exist_ok=True)
        self.commands.configured(launch)

    def _set_up(self) -> None:
        self.events.caps = self.supervisor.caps
        self.up = True
        self._worker = asyncio.create_task(self._work(), name="baresip-commands")
        self._send(ins.EngineState(True))
        self._jobs.put_nowait(self.commands.sync_registrations)

    def _set_down(self, reason: str) -> None:
        self.up = False
        self.events.reset()
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None
        while not self._jobs.empty():
            self._jobs.get_nowait()
        self._send(ins.EngineState(False, f"baresip: {reason}"))

    def _launch_failed(self, reason: str) -> None:
        self._send(ins.EngineState(False, f"baresip: {reason}"))

    def _on_event(self, ev: Event) -> None:
        self.supervisor.touch()
        self._deliver(self.events.feed(ev))

    def _deliver(self, outputs: list[Output]) -> None:
        for out in outputs:
            job = _JOBS.get(type(out))
            if job is not None:
                job(self, out)              # type: ignore[arg-type]
            else:
                self._send(out)             # type: ignore[arg-type]

    # --------------------------------------------------------------- worker

    async def _work(self) -> None:
        while True:
            job = await self._jobs.get()
            try:
                await job()
            except CommandTimeout as exc:
                self.supervisor.declare_dead(str(exc))
                return
            except ConnectionLost:
                return
            except Exception:
                log.exception("baresip command failed")

    async def _run(self, *commands: tuple[str, str | None]) -> list[Response]:
        client = self.supervisor.client
        assert client is not None
        self.supervisor.touch()
        return await client.batch(commands, timeout=self.timing.command_timeout)

    def _send(self, inp: ins.Input) -> None:
        if self._post is not None and not self._stopping:
            self._post(inp)

    # --------------------------------------------------- the translator's jobs

    def _queue(self, job: Callable[[], Awaitable[None]]) -> None:
        self._jobs.put_nowait(job)

    def _job_check_remote_hold(self, job: CheckRemoteHold) -> None:
        call = self.calls.get(job.call_id)
        if call is not None:
            self._queue(lambda: self.commands.check_remote_hold(call))

    def _job_reconcile_holds(self, job: ReconcileHolds) -> None:
        self._queue(self.commands.reconcile_holds)

    def _job_refer_to_forward_target(self, job: ReferToForwardTarget) -> None:
        call = self.calls.get(job.call_id)
        if call is not None:
            self._queue(lambda: self.commands.transfer(call, job.target))

    def _job_dial_event_arrived(self, job: DialEventArrived) -> None:
        self.commands.dial_event_arrived()


_Command = Callable[[BaresipCommands, EngineCommand], Awaitable[None]]
# From the core's effect type to what it becomes in baresip.
_COMMANDS: dict[type, _Command] = {
    fx.EngineRegister: BaresipCommands.register,              # type: ignore[dict-item]
    fx.EngineDial: BaresipCommands.dial,                      # type: ignore[dict-item]
    fx.EngineAnswer: BaresipCommands.answer,                  # type: ignore[dict-item]
    fx.EngineHangup: BaresipCommands.hangup,                  # type: ignore[dict-item]
    fx.EngineHold: BaresipCommands.hold,                      # type: ignore[dict-item]
    fx.EngineMute: BaresipCommands.mute,                      # type: ignore[dict-item]
    fx.EngineDtmf: BaresipCommands.dtmf,                      # type: ignore[dict-item]
    fx.EngineTransfer: BaresipCommands.blind_transfer,        # type: ignore[dict-item]
    fx.EngineAttendedTransfer: BaresipCommands.attended_transfer,  # type: ignore[dict-item]
    fx.EngineForward: BaresipCommands.forward,                # type: ignore[dict-item]
    fx.EngineRoute: BaresipCommands.route,                    # type: ignore[dict-item]
}

# From the translator's job type to how the port runs it.
_JOBS: dict[type, Callable[[BaresipEngine, Job], None]] = {
    CheckRemoteHold: BaresipEngine._job_check_remote_hold,            # type: ignore[dict-item]
    ReconcileHolds: BaresipEngine._job_reconcile_holds,               # type: ignore[dict-item]
    ReferToForwardTarget: BaresipEngine._job_refer_to_forward_target,  # type: ignore[dict-item]
    DialEventArrived: BaresipEngine._job_dial_event_arrived,          # type: ignore[dict-item]
}
