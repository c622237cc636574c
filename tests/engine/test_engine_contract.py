"""One contract, two engines: the same tests against SimEngine and BaresipEngine.

Each test drives the engine only through the port (``start``, ``execute``,
``stop``) and reads what it posts, as the runtime does. The far end is the
simulated PBX for SimEngine, and for BaresipEngine the SIP lab
(tests/support/sip_lab.py: a real baresip child registered at kamailio on
127.0.0.1, the lab's baresips as far ends). The numbers are the same on both:
201 (Alice) calls in, 202 (Bob) is busy, 203 (Carol) answers by herself.

Where the two truly differ, the test says so and asserts each one's behaviour.
"""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from deskphone.config.board import SimExtension, SimPbxConfig
from deskphone.core import effects as fx
from deskphone.core import inputs as ins
from deskphone.engine.baresip import BaresipEngine
from deskphone.engine.sim import SimEngine
from support.sip_lab import FarEndControl, free_port_pair, processes_mentioning, rtp_range
from support.sip_lab_fixtures import lab  # noqa: F401 - the baresip side asks for it by name
from support.waiting import TIMEOUT as T, until

ANSWERS, BUSY, CALLER = "203", "202", "201"
QUIET = 0.5         # how long "nothing more is posted" is watched for

SIM_PBX = SimPbxConfig(answer_delay=0.05, extensions=(
    SimExtension(CALLER, "Alice", "answer"), SimExtension(BUSY, "Bob", "busy"),
    SimExtension(ANSWERS, "Carol", "answer")))


@dataclass
class World:
    """An engine, what it posted, and the far ends' controls on its side."""
    kind: str                                   # "sim" | "baresip"
    engine: Any
    posted: list[ins.Input] = field(default_factory=list)
    far: dict[str, Any] = field(default_factory=dict)      # baresip: number -> FarEndControl
    phone_uri: str = ""

    async def start(self) -> None:
        await self.engine.start(self.posted.append)
        if self.kind == "baresip":
            # Differs: baresip is a child that must come up first (it says EngineState(True),
            # and commands before that are dropped); the simulated PBX is there at once.
            await self.next(ins.EngineState, lambda p: p.up)

    def mark(self) -> int:
        return len(self.posted)

    async def next(self, kind: type, pred: Callable[[Any], bool] = lambda p: True,
                   after: int = 0, timeout: float = T) -> Any:
        def found() -> Any:
            return next((p for p in self.posted[after:] if isinstance(p, kind) and pred(p)), None)
        await until(lambda: found() is not None, timeout, what=f"{kind.__name__} posted")
        return found()

    async def nothing_more(self, after: int, kind: type = object) -> list[ins.Input]:
        await asyncio.sleep(QUIET)
        return [p for p in self.posted[after:] if isinstance(p, kind)]

    # ---------------------------------------------------- the far ends' doings

    async def call_in(self) -> None:
        if self.kind == "sim":
            self.engine.incoming(CALLER, "Alice")
        else:
            await self.far[CALLER].dial(self.phone_uri)

    async def far_hangs_up(self, number: str, call_id: str) -> None:
        if self.kind == "sim":
            assert self.engine.remote_hangup(call_id)
        else:
            await self.far[number].on_call(call_id, "hangup")

    async def far_holds(self, number: str, call_id: str, on: bool) -> None:
        if self.kind == "sim":
            assert self.engine.remote_hold(on, call_id)
        else:
            await self.far[number].on_call(call_id, "hold" if on else "resume")

    async def far_rejects_when_it_rings(self, number: str, mark: int) -> None:
        if self.kind == "baresip":
            # Differs: a lab far end rejects when told (baresip's hangup is a 486); the
            # simulated PBX's busy extension answers 486 by itself.
            ring = await self.far[number].wait("CALL_INCOMING", after=mark)
            await self.far[number].on_call(ring["id"], "hangup")

    async def far_has_the_call_up(self, number: str, call_id: str, mark: int) -> None:
        if self.kind == "sim":
            await until(lambda: getattr(self.engine.calls.get(call_id), "state", "") == "connected")
        else:
            est = await self.far[number].wait("CALL_ESTABLISHED", lambda e: e["id"] == call_id,
                                              after=mark)
            assert est["id"] == call_id


def lab_settings(lab, user: str) -> dict[str, object]:
    lo, hi = rtp_range()
    return {"account.1.enable": 1, "account.1.user_name": user, "account.1.auth_name": user,
            "account.1.password": "secret", "account.1.sip_server.1.address": "127.0.0.1",
            "account.1.sip_server.1.port": lab.port, "account.1.sip_server.1.expires": 600,
            "sip.listen_port": free_port_pair(), "network.port.min_rtpport": lo,
            "network.port.max_rtpport": hi}


@pytest.fixture(params=["sim", "baresip"])
async def world(request, tmp_path):
    if request.param == "sim":
        settings = {"account.1.enable": 1, "account.1.user_name": "100",
                    "account.1.password": "secret", "account.1.sip_server.1.address": "pbx.test"}
        w = World("sim", SimEngine(SIM_PBX, lambda: settings))
    else:
        lab = request.getfixturevalue("lab")
        user = lab.next_user()
        settings = lab_settings(lab, user)
        engine = BaresipEngine(lambda: settings, runtime_dir=tmp_path / "baresip",
                               bind="127.0.0.1", simulated=True)
        w = World("baresip", engine, phone_uri=f"sip:{user}@127.0.0.1:{lab.port}")
        for number, name in ((CALLER, "Alice"), (BUSY, "Bob"), (ANSWERS, "Carol")):
            w.far[number] = await FarEndControl(lab.far_ends[name]).connect()
    try:
        yield w
    finally:
        await w.engine.stop()
        for ctl in w.far.values():
            try:
                await ctl.hang_up_all()
            finally:
                await ctl.close()


async def registered(w: World) -> None:
    if w.kind == "baresip":
        # Differs: baresip registers the accounts of its config file by itself at start
        # and reports it; the simulated PBX waits for the core's EngineRegister.
        await w.next(ins.RegState, lambda p: p.account == 1 and p.state == "registered")
    else:
        w.engine.execute(fx.EngineRegister(1, True))


async def established_out(w: World) -> tuple[str, int]:
    """A call to the number that answers, up: its Call-ID and the far end's event mark."""
    mark = w.mark()
    far_mark = w.far[ANSWERS].mark() if w.far else 0
    w.engine.execute(fx.EngineDial("r1", ANSWERS, 1))
    out = await w.next(ins.CallOutgoing, after=mark)
    est = await w.next(ins.CallEstablished, after=mark)
    assert est.call_id == out.call_id
    return out.call_id, far_mark


# ------------------------------------------------------------------ the tests

async def test_register_reports_registered_and_unregistered(world):
    await world.start()
    await registered(world)
    mark = world.mark()
    world.engine.execute(fx.EngineRegister(1, True))
    assert (await world.next(ins.RegState, after=mark)) == ins.RegState(1, "registered")
    mark = world.mark()
    world.engine.execute(fx.EngineRegister(1, False))
    assert (await world.next(ins.RegState, after=mark)) == ins.RegState(1, "unregistered")


async def test_dial_a_number_that_answers_then_hang_up(world):
    await world.start()
    await registered(world)
    mark = world.mark()
    call_id, far_mark = await established_out(world)
    calls = [p for p in world.posted[mark:]
             if isinstance(p, (ins.CallOutgoing, ins.CallEstablished))]
    assert [type(p) for p in calls] == [ins.CallOutgoing, ins.CallEstablished]
    assert calls[0].ref == "r1" and calls[0].remote_uri.startswith(f"sip:{ANSWERS}@")
    await world.far_has_the_call_up(ANSWERS, call_id, far_mark)
    # Our own hang-up: the core already ended the call, so neither engine reports it back.
    mark = world.mark()
    world.engine.execute(fx.EngineHangup(call_id))
    assert await world.nothing_more(mark, ins.CallClosed) == []
    await until(lambda: call_id not in world.engine.calls, what="the call gone from the engine")
    if world.kind == "baresip":
        await world.far[ANSWERS].wait("CALL_CLOSED", lambda e: e["id"] == call_id, after=far_mark)


async def test_the_far_end_hangs_up(world):
    await world.start()
    await registered(world)
    call_id, _ = await established_out(world)
    mark = world.mark()
    await world.far_hangs_up(ANSWERS, call_id)
    closed = await world.next(ins.CallClosed, after=mark)
    assert (closed.call_id, closed.reason) == (call_id, "normal")
    assert call_id not in world.engine.calls


async def test_an_incoming_call_answered(world):
    await world.start()
    await registered(world)
    mark = world.mark()
    far_mark = world.far[CALLER].mark() if world.far else 0
    await world.call_in()
    incoming = await world.next(ins.CallIncoming, after=mark)
    assert incoming.account == 1 and incoming.remote_uri.startswith(f"sip:{CALLER}@")
    assert incoming.remote_name == "Alice"
    mark = world.mark()
    world.engine.execute(fx.EngineAnswer(incoming.call_id))
    await world.far_has_the_call_up(CALLER, incoming.call_id, far_mark)
    # Neither engine posts CallEstablished for a call the phone answered: the core
    # moved to connected on its own answer.
    assert await world.nothing_more(mark, ins.CallEstablished) == []
    assert incoming.call_id in world.engine.calls


async def test_far_end_busy(world):
    await world.start()
    await registered(world)
    mark = world.mark()
    far_mark = world.far[BUSY].mark() if world.far else 0
    world.engine.execute(fx.EngineDial("r2", BUSY, 1))
    out = await world.next(ins.CallOutgoing, after=mark)
    await world.far_rejects_when_it_rings(BUSY, far_mark)
    closed = await world.next(ins.CallClosed, after=mark)
    assert (closed.call_id, closed.reason) == (out.call_id, "busy")
    assert not any(isinstance(p, ins.CallEstablished) for p in world.posted[mark:])


async def test_hold_here_and_held_by_the_far_end(world):
    await world.start()
    await registered(world)
    call_id, far_mark = await established_out(world)
    # Our hold: neither reports anything back (the core knows it asked).
    mark = world.mark()
    world.engine.execute(fx.EngineHold(call_id, True))
    if world.kind == "sim":
        await until(lambda: world.engine.calls[call_id].state == "held")
    else:
        await until(lambda: world.engine.calls[call_id].want_hold)
        await world.far[ANSWERS].wait("CALL_REMOTE_SDP", lambda e: e.get("param") == "offer",
                                      after=far_mark)
    world.engine.execute(fx.EngineHold(call_id, False))
    assert await world.nothing_more(mark, ins.CallRemoteHold) == []
    # The far end holds us, and resumes: both report it.
    mark = world.mark()
    await world.far_holds(ANSWERS, call_id, True)
    held = await world.next(ins.CallRemoteHold, after=mark)
    assert held == ins.CallRemoteHold(call_id, True)
    mark = world.mark()
    await world.far_holds(ANSWERS, call_id, False)
    resumed = await world.next(ins.CallRemoteHold, after=mark)
    assert resumed == ins.CallRemoteHold(call_id, False)


async def test_the_engine_going_away_mid_call_is_reported_and_it_comes_back(world):
    await world.start()
    await registered(world)
    call_id, _ = await established_out(world)
    mark = world.mark()
    if world.kind == "sim":
        # Differs: the simulated engine comes back when told (the sim's "engine restart");
        # the supervisor starts a new baresip by itself.
        world.engine.crash()
        await world.next(ins.EngineState, lambda p: not p.up, after=mark)
        world.engine.restart()
    else:
        os.kill(world.engine.pid, signal.SIGKILL)
    down = await world.next(ins.EngineState, lambda p: not p.up, after=mark)
    up = await world.next(ins.EngineState, lambda p: p.up, after=mark)
    assert world.posted.index(down, mark) < world.posted.index(up, mark)
    # The calls went with it: the core ends them on EngineState(False); no engine closes them.
    assert world.engine.calls == {}
    assert not any(isinstance(p, ins.CallClosed) for p in world.posted[mark:])
    # And it works again.
    mark = world.mark()
    world.engine.execute(fx.EngineDial("r3", ANSWERS, 1))
    assert (await world.next(ins.CallOutgoing, after=mark)).call_id != call_id


async def test_stop_leaves_no_process_or_task(world):
    before = asyncio.all_tasks()
    await world.start()
    await registered(world)
    await established_out(world)
    pid = getattr(world.engine, "pid", None)
    await world.engine.stop()
    assert asyncio.all_tasks() - before == set()
    if world.kind == "baresip":
        assert pid is not None and world.engine.pid is None
        assert processes_mentioning(str(world.engine.runtime_dir)) == []
    # Nothing more comes from a stopped engine, whatever it is asked.
    mark = world.mark()
    world.engine.execute(fx.EngineDial("r9", ANSWERS, 1))
    assert await world.nothing_more(mark) == []
