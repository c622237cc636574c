"""The baresip adapter's commands: what each engine command of the core becomes in baresip.

Each coroutine runs on the port's worker, one at a time, so no two batches
of ctrl_tcp commands interleave. A command about one call is sent as a batch
``uafind <aor>`` + ``callfind <Call-ID>`` + the command, in a single write:
baresip 1.x acts on the "current call" of the "current user agent". What the
commands learn from baresip's answers goes back through the translator
(``baresip_events``), which owns the table of calls.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Awaitable, Callable, Mapping

from ..core import effects as fx
from ..core import inputs as ins
from ..core.accounts import account
from ..config.board_sound import ROUTES, parse_sound
from .baresip_config import BaresipConfigError, LaunchConfig, account_line
from .baresip_events import BaresipCall, BaresipEvents, Output, first_line
from .baresip_supervisor import Timing
from .ctrl_tcp import Response

log = logging.getLogger("deskphone.engine.baresip")

_CALL_ID = re.compile(r"\bid=(\S+)")

Run = Callable[..., Awaitable[list[Response]]]


def dial_uri(number: str, host: str, transport: int = 0) -> str:
    """``sip:<number>@<account server>``; a full SIP URI or user@host is taken as given."""
    number = number.strip()
    if number.startswith(("sip:", "sips:")):
        return number
    if "@" in number:
        return "sip:" + number
    params = {1: ";transport=tcp", 2: ";transport=tls"}.get(transport, "")
    return f"sip:{number}@{host}{params}"


class BaresipCommands:
    """The engine commands as coroutines over ctrl_tcp (``run``), reporting through ``send``."""

    def __init__(self, events: BaresipEvents, *, run: Run, send: Callable[[ins.Input], None],
                 deliver: Callable[[list[Output]], None],
                 settings: Callable[[], Mapping[str, object]], timing: Callable[[], Timing],
                 sound: Mapping[str, object], simulated: bool) -> None:
        self.events = events
        self._run = run
        self._send = send
        self._deliver = deliver
        self._settings = settings
        self._timing = timing
        self.sound = sound
        self.simulated = simulated
        self._ua_lines: dict[int, str] = {}
        self._problems: dict[int, str] = {}
        self._devices: tuple[str, str] | None = None   # (auplay, ausrc) baresip uses now
        self._dial_seen: asyncio.Event | None = None

    def configured(self, launch: LaunchConfig) -> None:
        """baresip is about to start with ``launch``: its accounts and devices, as written."""
        self._devices = (launch.config.player, launch.config.source)
        self.events.uas.clear()
        self.events.uas.update({line.index: line.aor for line in launch.accounts})
        self._ua_lines = {line.index: line.line for line in launch.accounts}
        self._problems = dict(launch.problems)

    def dial_event_arrived(self) -> None:
        """An event of the call being placed came before its Call-ID: the dial can bind it."""
        if self._dial_seen is not None:
            self._dial_seen.set()

    async def on_call(self, call: BaresipCall, command: str,
                       params: str | None = None) -> Response | None:
        """Run ``command`` on ``call``: select its user agent and the call, then the command."""
        if self.events.calls.get(call.call_id) is not call:
            return None
        ua, found, result = await self._run(("uafind", call.aor), ("callfind", call.call_id),
                                            (command, params))
        if not found.ok or "setting current call" not in found.data:
            # The call ended in baresip a moment ago; its CALL_CLOSED is on the way.
            log.debug("call %s gone before %s", call.call_id, command)
            return None
        return result

    # ---------------------------------------------------------- registration

    async def sync_registrations(self) -> None:
        for n, problem in self._problems.items():
            self._send(ins.RegState(n, "failed", problem))
        (info,) = await self._run(("reginfo", None))
        self._deliver(self.events.reginfo(info.data))

    async def register(self, cmd: fx.EngineRegister) -> None:
        n = cmd.account
        if not cmd.enabled:
            aor = self.events.uas.pop(n, None)
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
            self._deliver(self.events.reginfo(info.data))
            return
        if n in self.events.uas:
            await self._run(("uadel", self.events.uas.pop(n)))
        self.events.uas[n] = line.aor
        self._ua_lines[n] = line.line
        # The response echoes the line, password included: it is never logged.
        (created,) = await self._run(("uanew", line.line))
        if not created.ok:
            self._send(ins.RegState(n, "failed", "baresip refused the account"))

    # ----------------------------------------------------------------- calls

    async def dial(self, cmd: fx.EngineDial) -> None:
        acc = account(self._settings(), cmd.account)
        aor = self.events.uas.get(cmd.account)
        if aor is None:
            self._send(ins.CallClosed(cmd.ref, "error", "No SIP account"))
            return
        uri = dial_uri(cmd.number, acc.host, acc.transport)
        dial = self.events.begin_dial(cmd.ref, uri, cmd.account, aor)
        seen = self._dial_seen = asyncio.Event()
        try:
            _, placed, status = await self._run(("uafind", aor), ("dial", uri), ("callstat", None))
            if not placed.ok:
                reason = first_line(placed.data) or "Call failed"
                self._send(ins.CallClosed(cmd.ref, "error", reason))
                self._deliver(self.events.end_dial(dial))
                return
            text = status.data
            m = _CALL_ID.search(text)
            if m and "direction: Outgoing" in text and f"<{uri}>" in text \
                    and not self.events.known(m.group(1)):
                self._deliver(self.events.bind_dial(dial, m.group(1)))
                return
            # Not in the status (another call became current): the call's first event tells.
            try:
                async with asyncio.timeout(self._timing().dial_bind_timeout):
                    await seen.wait()
            except TimeoutError:
                log.warning("no event tells the Call-ID of the call to %s", uri)
                self.events.drop_dial(dial)
                self._send(ins.CallClosed(cmd.ref, "error", "No answer from the engine"))
                return
            if self.events.dialing is dial:
                self._deliver(self.events.bind_dial(dial, str(dial.stash[0]["id"])))
        finally:
            self._dial_seen = None
            self._deliver(self.events.end_dial(dial))

    async def answer(self, cmd: fx.EngineAnswer) -> None:
        call = self.events.find(cmd.call_id)
        if call is None or call.direction != "in":
            return
        # baresip 1.x's accept also holds the previous call; put back what the core wants.
        await self.on_call(call, "accept")
        await self.reconcile_holds()

    async def hangup(self, cmd: fx.EngineHangup) -> None:
        # A call the core ends before it heard of its Call-ID comes by its ref: the
        # dial job ran first (one job at a time), so the ref is bound by now.
        call = self.events.find(cmd.call_id)
        if call is None:
            return
        if cmd.code and cmd.code != 486:
            # baresip 1.x rejects with 486 only (DND's 480, 603): documented in the README.
            log.debug("baresip %s cannot reject with %d; sending 486",
                      self.events.caps.name if self.events.caps else "?", cmd.code)
        call.ended_by_us = True
        await self.on_call(call, "hangup")
        # Ending a call makes baresip 1.x resume a held one.
        await self.reconcile_holds()

    async def hold(self, cmd: fx.EngineHold) -> None:
        call = self.events.find(cmd.call_id)
        if call is not None:
            call.want_hold = cmd.on
            await self.on_call(call, "hold" if cmd.on else "resume")

    async def mute(self, cmd: fx.EngineMute) -> None:
        call = self.events.find(cmd.call_id)
        if call is None:
            return
        for _ in range(2):                      # 1.x's mute toggles: check what it did
            if call.muted == cmd.on:
                return
            result = await self.on_call(call, "mute")
            if result is None:
                return
            call.muted = "un-muted" not in result.data

    async def dtmf(self, cmd: fx.EngineDtmf) -> None:
        call = self.events.find(cmd.call_id)
        if call is not None and len(cmd.digit) == 1:
            await self.on_call(call, "sndcode", cmd.digit)

    def _target_uri(self, call: BaresipCall, target: str) -> str:
        acc = account(self._settings(), call.account)
        return dial_uri(target, acc.host, acc.transport)

    async def blind_transfer(self, cmd: fx.EngineTransfer) -> None:
        call = self.events.find(cmd.call_id)
        if call is not None:
            await self.transfer(call, self._target_uri(call, cmd.target))

    async def transfer(self, call: BaresipCall, uri: str) -> None:
        call.transferring = True
        result = await self.on_call(call, "transfer", uri)
        if result is not None and not result.ok:
            call.transferring = False
            self._send(ins.TransferResult(call.call_id, False, first_line(result.data)))

    async def attended_transfer(self, cmd: fx.EngineAttendedTransfer) -> None:
        held, consult = self.events.find(cmd.call_id), self.events.find(cmd.target_call_id)
        if held is None or consult is None:
            if held is not None:
                self._send(ins.TransferResult(held.call_id, False, "the consultation call is gone"))
            return
        # No REFER with Replaces in baresip 1.x: end the consultation call and send the
        # held party to the number we consulted (its phone rings once more).
        held.consult_id = consult.call_id
        consult.ended_by_us = True
        await self.on_call(consult, "hangup")
        await self.transfer(held, consult.peer_uri)

    async def forward(self, cmd: fx.EngineForward) -> None:
        call = self.events.find(cmd.call_id)
        if call is None or call.direction != "in":
            return
        # No baresip can answer 302. Answer (muted) and REFER the caller to the target.
        call.forward_to = self._target_uri(call, cmd.target)
        await self.on_call(call, "accept")
        await self.on_call(call, "mute")
        await self.reconcile_holds()

    async def route(self, cmd: fx.EngineRoute) -> None:
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
        aors = sorted({call.aor for call in self.events.calls.values()}) or [None]
        for aor in aors:
            select = [("uafind", aor)] if aor is not None else []
            results = await self._run(*select, ("auplay", wanted[0]), ("ausrc", wanted[1]))
            for result in results[-2:]:
                text = first_line(result.data)
                if not result.ok or text.startswith(("no such", "failed", "Format")):
                    log.warning("baresip could not switch audio to %s: %s", cmd.route, text)

    async def reconcile_holds(self) -> None:
        for call in list(self.events.calls.values()):
            if call.established and not (call.ended_by_us or call.transferring
                                         or call.forward_to is not None):
                await self.on_call(call, "hold" if call.want_hold else "resume")

    async def check_remote_hold(self, call: BaresipCall) -> None:
        result = await self.on_call(call, "audio_debug")
        if result is not None:
            self._deliver(self.events.audio_direction(call, result.data))
