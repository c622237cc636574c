"""The real telephony engine: baresip, driven over its ``ctrl_tcp`` interface.

The phone does not speak SIP or RTP itself. This adapter starts baresip as a
child process (``baresip_process``), writes its configuration from the
phone's settings (``baresip_config``), talks to it over ctrl_tcp
(``ctrl_tcp``) and translates both ways: engine commands from the core become
baresip commands, baresip's events become the core's inputs. Phone behaviour
stays in the core; what lives here is only what baresip makes necessary:

- **Selecting the call.** baresip 1.x acts on the "current call" of the
  "current user agent". Every command about a call is sent as one batch
  ``uafind <aor>`` + ``callfind <Call-ID>`` + the command, in a single write,
  so baresip runs the three back to back. Commands run one at a time (a
  worker task), so no two batches interleave.
- **The Call-ID of a call we place.** ``dial`` does not return it: the batch
  ``uafind`` + ``dial`` + ``callstat`` reads it from the call status; events
  of that call that overtake the answer wait until the call is known, so the
  core always sees CallOutgoing first.
- **Close reasons.** CALL_CLOSED carries text (``486 Rejected``,
  ``Connection reset by peer``, ``Call transfered``); with what the adapter
  knows of the call (direction, answered yet) it becomes one of the core's
  ``CLOSE_REASONS``.
- **What baresip 1.x does on its own.** Answering holds the previous call;
  ending a call resumes a held one; a failed transfer ends the call. The
  adapter keeps the hold state the core asked for (it re-applies it) and
  reports the ended call.
- **What baresip 1.x cannot do** and the adapter does another way: the far end
  holding us (read from the negotiated audio direction after each remote
  SDP), forwarding (answer, then REFER the caller to the target: no version
  can answer 302), attended transfer (the consultation call is ended and the
  held party is blind-transferred to the consulted number), rejecting with
  480/603 (only 486 exists). See the README's table.
- **Supervision.** If baresip exits, drops the control connection or stops
  answering, the adapter reports ``EngineState(False)`` (the core ends every
  call with Terminated and fires Unregistered), kills what is left of it,
  and starts it again with backoff; once it is back, ``EngineState(True)``
  makes the core register the accounts again.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Mapping

from ..core import effects as fx
from ..core import inputs as ins
from ..core.accounts import account
from .baresip_config import (BaresipConfig, BaresipConfigError, account_line, account_lines,
                             find_module_dir, sound_devices, write_config_dir)
from .baresip_process import BaresipProcess
from .baresip_version import Capabilities, capabilities, detect_version
from .ctrl_tcp import CommandTimeout, ConnectionLost, CtrlTcpClient, CtrlTcpError, Response
from ..sound.config import ROUTES, parse_sound
from .port import EngineCommand, Post

log = logging.getLogger("deskphone.engine.baresip")

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CALL_ID = re.compile(r"\bid=(\S+)")
_REG_LINE = re.compile(r"^[> ] (\S+)\s+(OK|ERR|zzz)\b", re.MULTILINE)
_AUDIO_DIR = re.compile(r"audio dir=(\w+)")
_STATUS = re.compile(r"^(\d{3})\b")
TRANSFERRED = "Call transfered"            # sic: baresip's spelling


class LaunchError(Exception):
    pass


@dataclass
class BaresipCall:
    """What the adapter knows of one call in baresip."""
    call_id: str
    account: int
    aor: str
    direction: str                  # "in" | "out"
    peer_uri: str
    peer_name: str = ""
    ref: str | None = None          # the core's ref, for calls we placed
    established: bool = False
    want_hold: bool = False         # what the core asked; baresip 1.x changes it on its own
    remote_held: bool = False
    muted: bool = False
    transferring: bool = False
    consult_id: str | None = None   # emulated attended transfer: the consultation call we ended
    forward_to: str | None = None   # answered only to REFER the caller to this URI
    ended_by_us: bool = False


@dataclass
class PendingDial:
    ref: str
    uri: str
    account: int
    aor: str
    stash: list[dict[str, Any]] = field(default_factory=list)
    first_event: asyncio.Event = field(default_factory=asyncio.Event)


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


def close_reason(call: BaresipCall, text: str) -> str:
    """The core's close reason for a CALL_CLOSED with ``text`` on ``call``."""
    status = _STATUS.match(text)
    code = int(status.group(1)) if status else 0
    if text == TRANSFERRED:
        return "transferred"
    if call.direction == "out" and not call.established:
        if code in (486, 600):
            return "busy"
        if 400 <= code <= 699:
            return "declined"
        if text.startswith("Connection reset by"):
            return "normal"
        return "error"
    if call.direction == "in" and not call.established:
        # The caller's CANCEL reads "Connection reset by peer"; anything else (baresip's
        # local ring timeout) is just an unanswered call.
        return "canceled" if text == "Connection reset by peer" else "normal"
    if text.startswith("Connection reset by") or code:
        return "normal"
    return "error"


def dial_uri(number: str, host: str, transport: int = 0) -> str:
    """``sip:<number>@<account server>``; a full SIP URI or user@host is taken as given."""
    number = number.strip()
    if number.startswith(("sip:", "sips:")):
        return number
    if "@" in number:
        return "sip:" + number
    params = {1: ";transport=tcp", 2: ";transport=tls"}.get(transport, "")
    return f"sip:{number}@{host}{params}"


def free_tcp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class BaresipEngine:
    """Implements ``engine.port.Engine`` with a supervised baresip child process."""

    def __init__(self, settings: Callable[[], Mapping[str, object]], *, runtime_dir: Path,
                 bind: str = "", sound: Mapping[str, object] | None = None,
                 simulated: bool = False, binary: str = "baresip",
                 timing: Timing = Timing()) -> None:
        self._settings = settings
        self.runtime_dir = Path(runtime_dir).absolute()    # baresip runs in it: -f must not be relative
        self.bind = bind
        self.sound = dict(sound or {})
        self.simulated = simulated
        self.binary = binary
        self.timing = timing
        self.caps: Capabilities | None = None
        self.process = BaresipProcess(binary, self.runtime_dir)
        self.client: CtrlTcpClient | None = None
        self.up = False
        self.starts = 0                 # how many times baresip was started (tests, console)
        self.calls: dict[str, BaresipCall] = {}
        self.uas: dict[int, str] = {}   # account -> aor, as baresip has them now
        self._ua_lines: dict[int, str] = {}
        self._post: Post | None = None
        self._jobs: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue()
        self._supervisor: asyncio.Task[None] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._dead = asyncio.Event()
        self._dialing: PendingDial | None = None
        self._ref_ids: dict[str, str] = {}
        # Call-IDs already closed: a late event about one must not pass for a new call.
        self._closed: collections.deque[str] = collections.deque(maxlen=64)
        self._stopping = False
        self._last_activity = 0.0
        self._problems: dict[int, str] = {}
        self._devices: tuple[str, str] | None = None   # (auplay, ausrc) baresip uses now

    # ---------------------------------------------------------------- port

    async def start(self, post: Post) -> None:
        self._post = post
        self._stopping = False
        self._supervisor = asyncio.create_task(self._supervise(), name="baresip-supervisor")

    def execute(self, command: EngineCommand) -> None:
        if not self.up:
            # Calls died with baresip; registration is redone when it is back.
            log.debug("baresip is down: dropped %s", type(command).__name__)
            return
        handler = getattr(self, "_do_" + type(command).__name__, None)
        if handler is not None:
            self._jobs.put_nowait(lambda: handler(command))

    async def stop(self) -> None:
        self._stopping = True
        try:
            for task in (self._supervisor, self._worker):
                if task is not None:
                    task.cancel()
            await asyncio.gather(*(t for t in (self._supervisor, self._worker) if t),
                                 return_exceptions=True)
            if self.client is not None:
                await self.client.close()
        finally:
            # Whatever happened above (a cancelled stop included), baresip goes:
            # terminate() kills the group even when it is itself cancelled.
            self.up = False
            await self.process.terminate(self.timing.stop_timeout)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process.running else None

    # ---------------------------------------------------------- supervision

    async def _supervise(self) -> None:
        backoff = self.timing.backoff_first
        loop = asyncio.get_running_loop()
        while not self._stopping:
            started = loop.time()
            reason = ""
            try:
                await self._launch()
            except (LaunchError, OSError, CtrlTcpError, TimeoutError) as exc:
                reason = str(exc) or type(exc).__name__
                log.error("baresip could not start: %s", reason)
                self._send(ins.EngineState(False, f"baresip: {reason}"))
            except Exception as exc:
                # A bug here must not end supervision: report, clean up, try again.
                log.exception("starting baresip failed")
                self._send(ins.EngineState(False, f"baresip: {type(exc).__name__}"))
            else:
                self._set_up()
                reason = await self._until_dead()
                log.error("baresip lost: %s", reason)
                self._set_down(reason)
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
        settings = self._settings()
        ctrl_port = free_tcp_port()
        try:
            sound = sound_devices(self.sound, self.simulated)
        except BaresipConfigError as exc:
            raise LaunchError(str(exc)) from None
        lines, problems = account_lines(settings)
        for n, problem in problems.items():
            log.error("account %d: %s", n, problem)
        bind = self.bind if self.bind not in ("", "0.0.0.0", "::") else ""
        host = f"[{bind}]" if ":" in bind else bind
        port = int(settings.get("sip.listen_port", 5060))  # type: ignore[arg-type]
        rtp = (int(settings.get("network.port.min_rtpport", 11780)),  # type: ignore[arg-type]
               int(settings.get("network.port.max_rtpport", 12780)))  # type: ignore[arg-type]
        config = BaresipConfig(
            sip_listen=f"{host or '0.0.0.0'}:{port}", ctrl_port=ctrl_port, module_dir=module_dir,
            net_interface=bind or None, player=str(sound["player"]), source=str(sound["source"]),
            alert=str(sound["alert"]), srate=sound.get("srate"),  # type: ignore[arg-type]
            channels=sound.get("channels"),  # type: ignore[arg-type]
            rtp_ports=(min(rtp), max(rtp)), sounds_dir=str(self.runtime_dir / "sounds"))
        write_config_dir(self.runtime_dir, config, lines)
        (self.runtime_dir / "sounds").mkdir(exist_ok=True)
        self._devices = (config.player, config.source)
        self.uas = {line.index: line.aor for line in lines}
        self._ua_lines = {line.index: line.line for line in lines}
        self._problems = problems
        self._dead = asyncio.Event()
        await self.process.start()
        self.starts += 1
        self.client = CtrlTcpClient(self._on_event, self._on_connection_closed)
        deadline = asyncio.get_running_loop().time() + self.timing.connect_timeout
        while True:
            if not self.process.running:
                raise LaunchError(f"baresip exited at start: {self.process.last_output()}")
            try:
                await self.client.connect("127.0.0.1", ctrl_port, timeout=1.0)
                break
            except (OSError, TimeoutError):
                if asyncio.get_running_loop().time() > deadline:
                    raise LaunchError("baresip's control port never opened: "
                                      + self.process.last_output()) from None
                await asyncio.sleep(0.05)
        # The control connection is up once baresip answers a command.
        await self.client.command("reginfo", timeout=self.timing.command_timeout)

    def _set_up(self) -> None:
        self.up = True
        self._worker = asyncio.create_task(self._work(), name="baresip-commands")
        self._send(ins.EngineState(True))
        self._jobs.put_nowait(self._sync_registrations)

    def _set_down(self, reason: str) -> None:
        self.up = False
        self.calls.clear()
        self._dialing = None
        self._ref_ids.clear()
        self._closed.clear()
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None
        while not self._jobs.empty():
            self._jobs.get_nowait()
        self._send(ins.EngineState(False, f"baresip: {reason}"))

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

    _dead_reason = "control connection lost"

    def _declare_dead(self, reason: str) -> None:
        if not self._dead.is_set():
            self._dead_reason = reason
            self._dead.set()

    def _on_connection_closed(self, error: BaseException | None) -> None:
        self._declare_dead(f"control connection closed ({error or 'EOF'})")

    async def _ping(self) -> str:
        """Liveness: a cheap command when nothing else has been said for a while."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.timing.ping_interval)
            if loop.time() - self._last_activity < self.timing.ping_interval:
                continue
            try:
                assert self.client is not None
                await self.client.command("reginfo", timeout=self.timing.command_timeout)
                self._last_activity = loop.time()
            except CommandTimeout:
                return f"baresip stopped answering (no reply within {self.timing.command_timeout:g} s)"
            except ConnectionLost:
                return "control connection lost"

    # --------------------------------------------------------------- worker

    async def _work(self) -> None:
        while True:
            job = await self._jobs.get()
            try:
                await job()
            except CommandTimeout as exc:
                self._declare_dead(str(exc))
                return
            except ConnectionLost:
                return
            except Exception:
                log.exception("baresip command failed")

    async def _run(self, *commands: tuple[str, str | None]) -> list[Response]:
        assert self.client is not None
        self._last_activity = asyncio.get_running_loop().time()
        return await self.client.batch(commands, timeout=self.timing.command_timeout)

    async def _on_call(self, call: BaresipCall, command: str,
                       params: str | None = None) -> Response | None:
        """Run ``command`` on ``call``: select its user agent and the call, then the command."""
        if self.calls.get(call.call_id) is not call:
            return None
        ua, found, result = await self._run(("uafind", call.aor), ("callfind", call.call_id),
                                            (command, params))
        if not found.ok or "setting current call" not in found.data:
            # The call ended in baresip a moment ago; its CALL_CLOSED is on the way.
            log.debug("call %s gone before %s", call.call_id, command)
            return None
        return result

    # ---------------------------------------------------------- registration

    async def _sync_registrations(self) -> None:
        for n, problem in self._problems.items():
            self._send(ins.RegState(n, "failed", problem))
        (info,) = await self._run(("reginfo", None))
        self._apply_reginfo(info.data)

    def _apply_reginfo(self, text: str) -> None:
        by_aor = {aor: n for n, aor in self.uas.items()}
        for aor, state in _REG_LINE.findall(_ANSI.sub("", text)):
            n = by_aor.get(aor)
            if n is None:
                continue
            if state == "OK":
                self._send(ins.RegState(n, "registered"))
            elif state == "ERR":
                self._send(ins.RegState(n, "failed", "registration failed"))

    async def _do_EngineRegister(self, cmd: fx.EngineRegister) -> None:
        n = cmd.account
        if not cmd.enabled:
            aor = self.uas.pop(n, None)
            self._ua_lines.pop(n, None)
            if aor is not None:
                await self._run(("uadel", aor))
            self._send(ins.RegState(n, "unregistered"))
            return
        try:
            line = account_line(account(self._settings(), n))
        except BaresipConfigError as exc:
            self._send(ins.RegState(n, "failed", str(exc)))
            return
        if self._ua_lines.get(n) == line.line:
            (info,) = await self._run(("reginfo", None))
            self._apply_reginfo(info.data)
            return
        if n in self.uas:
            await self._run(("uadel", self.uas.pop(n)))
        self.uas[n] = line.aor
        self._ua_lines[n] = line.line
        # The response echoes the line, password included: it is never logged.
        (created,) = await self._run(("uanew", line.line))
        if not created.ok:
            self._send(ins.RegState(n, "failed", "baresip refused the account"))

    # ------------------------------------------------------------- calls

    def _call(self, call_id: str) -> BaresipCall | None:
        return self.calls.get(self._ref_ids.get(call_id, call_id))

    async def _do_EngineDial(self, cmd: fx.EngineDial) -> None:
        acc = account(self._settings(), cmd.account)
        aor = self.uas.get(cmd.account)
        if aor is None:
            self._send(ins.CallClosed(cmd.ref, "error", "No SIP account"))
            return
        uri = dial_uri(cmd.number, acc.host, acc.transport)
        dial = self._dialing = PendingDial(cmd.ref, uri, cmd.account, aor)
        try:
            _, placed, status = await self._run(("uafind", aor), ("dial", uri), ("callstat", None))
            if not placed.ok:
                self._dialing = None
                self._send(ins.CallClosed(cmd.ref, "error", _first_line(placed.data) or "Call failed"))
                self._replay(dial.stash)
                return
            text = status.data
            m = _CALL_ID.search(text)
            if m and "direction: Outgoing" in text and f"<{uri}>" in text \
                    and m.group(1) not in self.calls and m.group(1) not in self._closed:
                self._bind(dial, m.group(1))
                return
            # Not in the status (another call became current): the call's first event tells.
            try:
                async with asyncio.timeout(self.timing.dial_bind_timeout):
                    await dial.first_event.wait()
            except TimeoutError:
                log.warning("no event tells the Call-ID of the call to %s", uri)
                self._dialing = None
                self._send(ins.CallClosed(cmd.ref, "error", "No answer from the engine"))
                return
            if self._dialing is dial:
                self._bind(dial, str(dial.stash[0]["id"]))
        finally:
            if self._dialing is dial:
                self._dialing = None
                self._replay(dial.stash)

    def _bind(self, dial: PendingDial, call_id: str) -> None:
        self._dialing = None
        call = BaresipCall(call_id, dial.account, dial.aor, "out", dial.uri, ref=dial.ref)
        self.calls[call_id] = call
        self._ref_ids[dial.ref] = call_id
        self._send(ins.CallOutgoing(dial.ref, call_id, dial.uri, ""))
        self._replay(dial.stash)

    def _replay(self, events: list[dict[str, Any]]) -> None:
        events[:], pending = [], list(events)
        for event in pending:
            self._on_event(event)

    async def _do_EngineAnswer(self, cmd: fx.EngineAnswer) -> None:
        call = self._call(cmd.call_id)
        if call is None or call.direction != "in":
            return
        # baresip 1.x's accept also holds the previous call; _reconcile puts back what the core wants.
        await self._on_call(call, "accept")
        await self._reconcile_holds()

    async def _do_EngineHangup(self, cmd: fx.EngineHangup) -> None:
        # A call the core ends before it heard of its Call-ID comes by its ref: the
        # dial job ran first (one job at a time), so the ref is bound by now.
        call = self._call(cmd.call_id)
        if call is None:
            return
        if cmd.code and cmd.code != 486:
            # baresip 1.x rejects with 486 only (DND's 480, 603): documented in the README.
            log.debug("baresip %s cannot reject with %d; sending 486",
                      self.caps.name if self.caps else "?", cmd.code)
        call.ended_by_us = True
        await self._hangup(call)

    async def _hangup(self, call: BaresipCall) -> None:
        await self._on_call(call, "hangup")
        # Ending a call makes baresip 1.x resume a held one.
        await self._reconcile_holds()

    async def _do_EngineHold(self, cmd: fx.EngineHold) -> None:
        call = self._call(cmd.call_id)
        if call is not None:
            call.want_hold = cmd.on
            await self._on_call(call, "hold" if cmd.on else "resume")

    async def _do_EngineMute(self, cmd: fx.EngineMute) -> None:
        call = self._call(cmd.call_id)
        if call is None:
            return
        for _ in range(2):                      # 1.x's mute toggles: check what it did
            if call.muted == cmd.on:
                return
            result = await self._on_call(call, "mute")
            if result is None:
                return
            call.muted = "un-muted" not in result.data

    async def _do_EngineDtmf(self, cmd: fx.EngineDtmf) -> None:
        call = self._call(cmd.call_id)
        if call is not None and len(cmd.digit) == 1:
            await self._on_call(call, "sndcode", cmd.digit)

    def _target_uri(self, call: BaresipCall, target: str) -> str:
        acc = account(self._settings(), call.account)
        return dial_uri(target, acc.host, acc.transport)

    async def _do_EngineTransfer(self, cmd: fx.EngineTransfer) -> None:
        call = self._call(cmd.call_id)
        if call is None:
            return
        await self._transfer(call, self._target_uri(call, cmd.target))

    async def _transfer(self, call: BaresipCall, uri: str) -> None:
        call.transferring = True
        result = await self._on_call(call, "transfer", uri)
        if result is not None and not result.ok:
            call.transferring = False
            self._send(ins.TransferResult(call.call_id, False, _first_line(result.data)))

    async def _do_EngineAttendedTransfer(self, cmd: fx.EngineAttendedTransfer) -> None:
        held, consult = self._call(cmd.call_id), self._call(cmd.target_call_id)
        if held is None or consult is None:
            if held is not None:
                self._send(ins.TransferResult(held.call_id, False, "the consultation call is gone"))
            return
        # No REFER with Replaces in baresip 1.x: end the consultation call and send the
        # held party to the number we consulted (its phone rings once more).
        held.consult_id = consult.call_id
        consult.ended_by_us = True
        await self._on_call(consult, "hangup")
        await self._transfer(held, consult.peer_uri)

    async def _do_EngineForward(self, cmd: fx.EngineForward) -> None:
        call = self._call(cmd.call_id)
        if call is None or call.direction != "in":
            return
        # No baresip can answer 302. Answer (muted) and REFER the caller to the target.
        call.forward_to = self._target_uri(call, cmd.target)
        await self._on_call(call, "accept")
        await self._on_call(call, "mute")
        await self._reconcile_holds()

    async def _do_EngineRoute(self, cmd: fx.EngineRoute) -> None:
        """Move call audio (and the device for calls to come) to the route's sound device.

        baresip 1.0.0's ``auplay`` / ``ausrc`` commands swap the player / source of
        every call of the current user agent at once (closing the old ALSA device,
        opening the new one) and make it the default for new calls.
        """
        if not any(route in self.sound for route in ROUTES):
            return              # no route devices on this board: nothing to switch
        device = parse_sound(self.sound, self.simulated).device(cmd.route)
        if device is None:
            return
        wanted = (f"alsa,{device.playback}", f"alsa,{device.capture}")
        if wanted == self._devices:
            return
        self._devices = wanted
        aors = sorted({call.aor for call in self.calls.values()}) or [None]
        for aor in aors:
            select = [("uafind", aor)] if aor is not None else []
            results = await self._run(*select, ("auplay", wanted[0]), ("ausrc", wanted[1]))
            for result in results[-2:]:
                text = _first_line(result.data)
                if not result.ok or text.startswith(("no such", "failed", "Format")):
                    log.warning("baresip could not switch audio to %s: %s", cmd.route, text)

    async def _reconcile_holds(self) -> None:
        for call in list(self.calls.values()):
            if call.established and not (call.ended_by_us or call.transferring
                                         or call.forward_to is not None):
                await self._on_call(call, "hold" if call.want_hold else "resume")

    async def _check_remote_hold(self, call: BaresipCall) -> None:
        result = await self._on_call(call, "audio_debug")
        if result is None:
            return
        m = _AUDIO_DIR.search(result.data)
        if m is None:
            return
        # The negotiated direction is ours AND theirs: with "send" gone, the far end
        # stopped listening (sendonly/inactive from them) - it holds us.
        held = "send" not in m.group(1)
        if held != call.remote_held and self.calls.get(call.call_id) is call:
            call.remote_held = held
            self._send(ins.CallRemoteHold(call.call_id, held))

    # -------------------------------------------------------------- events

    def _on_event(self, ev: dict[str, Any]) -> None:
        self._last_activity = asyncio.get_running_loop().time()
        kind = str(ev.get("type", ""))
        if ev.get("class") == "register" or kind.startswith(("REGISTER", "UNREGISTER")):
            return self._on_register_event(kind, ev)
        call_id = str(ev.get("id", ""))
        if not call_id:
            return
        if call_id in self._closed:
            return
        call = self.calls.get(call_id)
        dial = self._dialing
        if call is None and dial is not None and ev.get("direction") == "outgoing" \
                and ev.get("peeruri") == dial.uri:
            dial.stash.append(ev)               # ours, but its Call-ID is not bound yet
            dial.first_event.set()
            return
        if kind == "CALL_INCOMING":
            return self._on_incoming(call_id, ev)
        if call is None:
            return
        handler = getattr(self, "_ev_" + kind, None)
        if handler is not None:
            handler(call, ev)

    def _on_register_event(self, kind: str, ev: dict[str, Any]) -> None:
        aor = str(ev.get("accountaor", ""))
        n = next((i for i, a in self.uas.items() if a == aor), None)
        if n is None:
            return
        if kind == "REGISTER_OK":
            self._send(ins.RegState(n, "registered"))
        elif kind == "REGISTER_FAIL":
            self._send(ins.RegState(n, "failed", str(ev.get("param", ""))))
        elif kind == "UNREGISTERING":
            self._send(ins.RegState(n, "unregistered"))

    def _on_incoming(self, call_id: str, ev: dict[str, Any]) -> None:
        if call_id in self.calls:
            return          # the same INVITE forked to a stale binding of ours
        aor = str(ev.get("accountaor", ""))
        n = next((i for i, a in self.uas.items() if a == aor), 1)
        call = BaresipCall(call_id, n, aor, "in", str(ev.get("peeruri", "")),
                           str(ev.get("peerdisplayname", "") or ""))
        self.calls[call_id] = call
        self._send(ins.CallIncoming(call_id, n, call.peer_uri, call.peer_name))

    def _ev_CALL_RINGING(self, call: BaresipCall, ev: dict[str, Any]) -> None:
        if call.direction == "out" and not call.established:
            self._send(ins.CallRinging(call.call_id))

    def _ev_CALL_PROGRESS(self, call: BaresipCall, ev: dict[str, Any]) -> None:
        # 183 with SDP: baresip plays the far end's early media; no local ringback.
        if call.direction == "out" and not call.established:
            self._send(ins.CallRinging(call.call_id, early_media=True))

    def _ev_CALL_ESTABLISHED(self, call: BaresipCall, ev: dict[str, Any]) -> None:
        call.established = True
        if call.forward_to is not None:
            target = call.forward_to
            self._jobs.put_nowait(lambda: self._transfer(call, target))
        elif call.direction == "out":
            self._send(ins.CallEstablished(call.call_id))

    def _ev_CALL_CLOSED(self, call: BaresipCall, ev: dict[str, Any]) -> None:
        text = str(ev.get("param", ""))
        del self.calls[call.call_id]
        self._closed.append(call.call_id)
        if call.ref is not None:
            self._ref_ids.pop(call.ref, None)
        if call.forward_to is not None:
            if text != TRANSFERRED:
                log.warning("forwarding %s to %s ended: %s", call.peer_uri, call.forward_to, text)
        elif call.transferring and text == TRANSFERRED:
            self._send(ins.TransferResult(call.call_id, True))
            self._send(ins.CallClosed(call.call_id, "transferred"))
        elif not call.ended_by_us:
            self._send(ins.CallClosed(call.call_id, close_reason(call, text), text))
        if self.calls:
            # baresip 1.x resumes a held call when another one ends.
            self._jobs.put_nowait(self._reconcile_holds)

    def _ev_TRANSFER_FAILED(self, call: BaresipCall, ev: dict[str, Any]) -> None:
        text = str(ev.get("param", ""))
        if call.forward_to is not None:
            log.warning("forwarding %s to %s failed: %s", call.peer_uri, call.forward_to, text)
        elif call.transferring:
            call.transferring = False
            self._send(ins.TransferResult(call.call_id, False, text))
            if call.consult_id is not None:
                # The core still shows the consultation call we ended for the transfer.
                self._send(ins.CallClosed(call.consult_id, "normal"))
        if self.caps is None or self.caps.transfer_failure_ends_call:
            # baresip 1.x ends the call itself (BYE) and sends no CALL_CLOSED for it.
            self.calls.pop(call.call_id, None)
            self._closed.append(call.call_id)
            if call.forward_to is None:
                self._send(ins.CallClosed(call.call_id, "error", f"transfer failed: {text}"))
            if self.calls:
                self._jobs.put_nowait(self._reconcile_holds)

    def _ev_CALL_REMOTE_SDP(self, call: BaresipCall, ev: dict[str, Any]) -> None:
        # Only an offer from the far end (its re-INVITE) can say it holds us; the
        # answer to our own hold says nothing about that.
        if call.established and call.forward_to is None and ev.get("param") == "offer":
            self._jobs.put_nowait(lambda: self._check_remote_hold(call))

    def _ev_CALL_HOLD(self, call: BaresipCall, ev: dict[str, Any]) -> None:
        if not call.remote_held:
            call.remote_held = True
            self._send(ins.CallRemoteHold(call.call_id, True))

    def _ev_CALL_RESUME(self, call: BaresipCall, ev: dict[str, Any]) -> None:
        if call.remote_held:
            call.remote_held = False
            self._send(ins.CallRemoteHold(call.call_id, False))

    # ------------------------------------------------------------- helpers

    def _send(self, inp: ins.Input) -> None:
        if self._post is not None and not self._stopping:
            self._post(inp)


def _first_line(text: str) -> str:
    return _ANSI.sub("", text).strip().split("\n", 1)[0]
