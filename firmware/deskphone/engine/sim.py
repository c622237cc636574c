"""The simulated PBX: an in-process engine so the phone runs (and is tested) without SIP.

It behaves like a small office PBX as seen from the phone: accounts register
(or fail, when the board's ``[sim_pbx] password`` does not match), numbers in
``[sim_pbx.extensions]`` answer, are busy, reject or ring unanswered, and a
person at the console (or a test) can make calls come in, hang up, hold and
resume from the far end.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
from dataclasses import dataclass
from typing import Callable, Mapping

from ..config.board import SimPbxConfig
from ..core import effects as fx
from ..core import inputs as ins
from ..core.accounts import account
from ..core.text import printable
from .port import EngineCommand, Post

LOG_KEPT = 1000         # engine commands the simulated PBX remembers

log = logging.getLogger("deskphone.engine.sim")


@dataclass
class SimCall:
    call_id: str
    direction: str
    number: str
    state: str = "ringing"       # ringing | connected | held


class SimEngine:
    """Implements ``engine.port.Engine``."""

    def __init__(self, pbx: SimPbxConfig, settings: Callable[[], Mapping[str, object]]) -> None:
        self.pbx = pbx
        self._settings = settings
        self._post: Post | None = None
        self._ids = itertools.count(1)
        self._pending: set[asyncio.TimerHandle] = set()
        self.calls: dict[str, SimCall] = {}
        # The latest commands received, for tests and the console; bounded, as a phone left
        # running on the simulated board (make sim, the soak) would otherwise grow without end.
        self.log: collections.deque[EngineCommand] = collections.deque(maxlen=LOG_KEPT)
        self.up = False

    # ---------------------------------------------------------------- port

    async def start(self, post: Post) -> None:
        self._post = post
        self.up = True

    async def stop(self) -> None:
        for handle in self._pending:
            handle.cancel()
        self._pending.clear()
        self.up = False

    def execute(self, command: EngineCommand) -> None:
        self.log.append(command)
        handler = _COMMANDS.get(type(command))
        if handler is not None and self.up:
            handler(self, command)

    # ----------------------------------------------------- far-end controls

    def incoming(self, number: str, name: str = "", account_index: int = 1) -> str:
        """A call from ``number`` rings the phone; returns its Call-ID."""
        call_id = self._new_id()
        self.calls[call_id] = SimCall(call_id, "in", number)
        # The simulated far end writes the name as a real one does: no controls get in.
        self._send(ins.CallIncoming(call_id, account_index,
                                    printable(self._uri(number, account_index)), printable(name)))
        return call_id

    def remote_hangup(self, call_id: str | None = None) -> bool:
        """The far end hangs up (BYE) or, on a call still ringing here, cancels (CANCEL)."""
        call = self._find(call_id)
        if call is None:
            return False
        del self.calls[call.call_id]
        canceled = call.direction == "in" and call.state == "ringing"
        self._send(ins.CallClosed(call.call_id, "canceled" if canceled else "normal"))
        return True

    def remote_answer(self, call_id: str | None = None) -> bool:
        call = self._find(call_id, state="ringing", direction="out")
        if call is None:
            return False
        call.state = "connected"
        self._send(ins.CallEstablished(call.call_id))
        return True

    def remote_hold(self, held: bool, call_id: str | None = None) -> bool:
        call = self._find(call_id)
        if call is None:
            return False
        self._send(ins.CallRemoteHold(call.call_id, held))
        return True

    def crash(self) -> None:
        """The engine dies: every call is gone; ``restart`` brings it back."""
        self.calls.clear()
        self.up = False
        self._send(ins.EngineState(False, "simulated engine failure"), force=True)

    def restart(self) -> None:
        self.up = True
        self._send(ins.EngineState(True))

    # ------------------------------------------------------------ commands

    def _register(self, cmd: fx.EngineRegister) -> None:
        acc = account(self._settings(), cmd.account)
        if not cmd.enabled:
            self._send(ins.RegState(cmd.account, "unregistered"))
        elif not acc.server or not acc.user_name:
            self._send(ins.RegState(cmd.account, "failed", "no server or user name"))
        elif self.pbx.password is not None and acc.password != self.pbx.password:
            self._send(ins.RegState(cmd.account, "failed", "401 Unauthorized"))
        else:
            self._send(ins.RegState(cmd.account, "registered"))

    def _dial(self, cmd: fx.EngineDial) -> None:
        call_id = self._new_id()
        ext = self.pbx.extension(cmd.number)
        self.calls[call_id] = SimCall(call_id, "out", cmd.number)
        self._send(ins.CallOutgoing(cmd.ref, call_id, self._uri(cmd.number, cmd.account), ext.name))
        if ext.behaviour == "busy":
            self._later(0.05, self._close, call_id, "busy")
        elif ext.behaviour == "reject":
            self._later(0.05, self._close, call_id, "declined")
        else:
            self._send(ins.CallRinging(call_id))
            if ext.behaviour == "answer":
                self._later(self.pbx.answer_delay, self.remote_answer, call_id)

    def _answer(self, cmd: fx.EngineAnswer) -> None:
        if cmd.call_id in self.calls:
            self.calls[cmd.call_id].state = "connected"

    def _hangup(self, cmd: fx.EngineHangup) -> None:
        self.calls.pop(cmd.call_id, None)

    def _forward(self, cmd: fx.EngineForward) -> None:
        self.calls.pop(cmd.call_id, None)

    def _hold(self, cmd: fx.EngineHold) -> None:
        if cmd.call_id in self.calls:
            self.calls[cmd.call_id].state = "held" if cmd.on else "connected"

    def _blind_transfer(self, cmd: fx.EngineTransfer) -> None:
        behaviour = self.pbx.extension(cmd.target).behaviour
        ok = behaviour in ("answer", "no-answer")
        self._later(0.05, self._transfer_done, cmd.call_id, ok, () if ok else (behaviour,))

    def _attended_transfer(self, cmd: fx.EngineAttendedTransfer) -> None:
        ok = cmd.call_id in self.calls and cmd.target_call_id in self.calls
        self._later(0.05, self._transfer_done, cmd.call_id, ok, (cmd.target_call_id,) if ok else ())

    # ------------------------------------------------------------- helpers

    def _transfer_done(self, call_id: str, ok: bool, also: tuple[str, ...]) -> None:
        if call_id not in self.calls:
            return
        self._send(ins.TransferResult(call_id, ok, "" if ok else "target unavailable"))
        if ok:
            for cid in (call_id, *also):
                if self.calls.pop(cid, None) is not None:
                    self._send(ins.CallClosed(cid, "transferred"))

    def _close(self, call_id: str, reason: str) -> None:
        if self.calls.pop(call_id, None) is not None:
            self._send(ins.CallClosed(call_id, reason))

    def _find(self, call_id: str | None, state: str | None = None,
              direction: str | None = None) -> SimCall | None:
        for call in reversed(list(self.calls.values())):
            if (call_id is None or call.call_id == call_id) and \
                    (state is None or call.state == state) and \
                    (direction is None or call.direction == direction):
                return call
        return None

    def _uri(self, number: str, account_index: int) -> str:
        host = account(self._settings(), account_index).host or "sim.invalid"
        return f"sip:{number}@{host}"

    def _new_id(self) -> str:
        return f"sim-{next(self._ids)}@deskphone.sim"

    def _later(self, delay: float, fn: Callable[..., object], *args: object) -> None:
        loop = asyncio.get_running_loop()

        def run() -> None:
            self._pending.discard(handle)
            if self.up:
                fn(*args)

        handle = loop.call_later(delay, run)
        self._pending.add(handle)

    def _send(self, inp: ins.Input, force: bool = False) -> None:
        if self._post is not None and (self.up or force):
            self._post(inp)


# From the core's effect type to what the simulated PBX does; the others (mute, DTMF,
# audio route) change nothing a far end here could notice.
_COMMANDS: dict[type, Callable[[SimEngine, EngineCommand], None]] = {
    fx.EngineRegister: SimEngine._register,                   # type: ignore[dict-item]
    fx.EngineDial: SimEngine._dial,                           # type: ignore[dict-item]
    fx.EngineAnswer: SimEngine._answer,                       # type: ignore[dict-item]
    fx.EngineHangup: SimEngine._hangup,                       # type: ignore[dict-item]
    fx.EngineForward: SimEngine._forward,                     # type: ignore[dict-item]
    fx.EngineHold: SimEngine._hold,                           # type: ignore[dict-item]
    fx.EngineTransfer: SimEngine._blind_transfer,             # type: ignore[dict-item]
    fx.EngineAttendedTransfer: SimEngine._attended_transfer,  # type: ignore[dict-item]
}
