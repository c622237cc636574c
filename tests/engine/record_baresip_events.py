"""Record what the phone's baresip tells over ctrl_tcp during lab calls: the data of
test_baresip_events.py. Not a test; run it by hand when baresip's events need recording again:

    .venv/bin/python tests/engine/record_baresip_events.py > events.json

It starts the SIP lab (tests/support/sip_lab.py: kamailio and the far ends Alice 201,
Bob 202, Carol 203), a BaresipEngine registered at it, runs each scenario through
``execute`` and the far ends' controls, and prints every event dict the engine's
ctrl_tcp client delivered, by scenario, as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deskphone.core import effects as fx  # noqa: E402
from deskphone.core import inputs as ins  # noqa: E402
from deskphone.engine.baresip import BaresipEngine  # noqa: E402
from support.sip_lab import FarEndControl, free_port_pair, rtp_range, start_lab  # noqa: E402
from support.sip_lab_fixtures import FAR_ENDS  # noqa: E402
from support.waiting import until  # noqa: E402


class Recorder:
    def __init__(self, engine: BaresipEngine) -> None:
        self.scenario = "start"
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.posted: list[ins.Input] = []
        # What the supervisor hands on from ctrl_tcp: every event, once, as it arrived.
        delivered = engine.supervisor._on_event     # noqa: SLF001

        def on_event(ev: dict[str, Any]) -> None:
            self.events.setdefault(self.scenario, []).append(ev)
            delivered(ev)
        engine.supervisor._on_event = on_event      # noqa: SLF001

    def begin(self, scenario: str) -> None:
        self.scenario = scenario
        self.posted.clear()

    async def posted_one(self, pred: Callable[[Any], bool]) -> Any:
        await until(lambda: any(pred(p) for p in self.posted), what=self.scenario)
        return next(p for p in self.posted if pred(p))


def of(kind: type, **fields: object) -> Callable[[Any], bool]:
    return lambda p: isinstance(p, kind) and all(getattr(p, k) == v for k, v in fields.items())


async def answered_call(engine, rec, far: FarEndControl, ref: str) -> str:
    mark = far.mark()
    engine.execute(fx.EngineDial(ref, "201", 1))
    ring = await far.wait("CALL_INCOMING", after=mark)
    await far.on_call(ring["id"], "accept")
    await rec.posted_one(of(ins.CallEstablished))
    return ring["id"]


async def record(root: Path) -> dict[str, list[dict[str, Any]]]:
    lab = start_lab(root, FAR_ENDS)
    try:
        user, (lo, hi) = lab.next_user(), rtp_range()
        settings = {"account.1.enable": 1, "account.1.user_name": user,
                    "account.1.auth_name": user, "account.1.password": "secret",
                    "account.1.sip_server.1.address": "127.0.0.1",
                    "account.1.sip_server.1.port": lab.port, "account.1.sip_server.1.expires": 600,
                    "sip.listen_port": free_port_pair(), "network.port.min_rtpport": lo,
                    "network.port.max_rtpport": hi}
        engine = BaresipEngine(lambda: settings, runtime_dir=root / "phone", bind="127.0.0.1",
                               simulated=True)
        rec = Recorder(engine)
        alice = await FarEndControl(lab.far_ends["Alice"]).connect()
        bob = await FarEndControl(lab.far_ends["Bob"]).connect()
        await engine.start(rec.posted.append)
        await rec.posted_one(of(ins.RegState, state="registered"))
        me = f"sip:{user}@127.0.0.1:{lab.port}"

        rec.begin("outgoing_answered_held_by_far_end_closed_by_far_end")
        cid = await answered_call(engine, rec, alice, "r1")
        await alice.on_call(cid, "hold")
        await rec.posted_one(of(ins.CallRemoteHold, held=True))
        await alice.on_call(cid, "resume")
        await rec.posted_one(of(ins.CallRemoteHold, held=False))
        await alice.on_call(cid, "hangup")
        await rec.posted_one(of(ins.CallClosed))

        rec.begin("outgoing_busy")
        mark = bob.mark()
        engine.execute(fx.EngineDial("r2", "202", 1))
        ring = await bob.wait("CALL_INCOMING", after=mark)
        await bob.on_call(ring["id"], "hangup")
        await rec.posted_one(of(ins.CallClosed))

        rec.begin("outgoing_not_found")
        engine.execute(fx.EngineDial("r3", "999", 1))
        await rec.posted_one(of(ins.CallClosed))

        rec.begin("incoming_answered_held_hung_up_here")
        await alice.dial(me)
        inc = await rec.posted_one(of(ins.CallIncoming))
        mark = alice.mark()
        engine.execute(fx.EngineAnswer(inc.call_id))
        await alice.wait("CALL_ESTABLISHED", after=mark)
        for on in (True, False):
            engine.execute(fx.EngineHold(inc.call_id, on))
            await asyncio.sleep(0.8)            # the re-INVITE's round trip
        engine.execute(fx.EngineHangup(inc.call_id))
        await alice.wait("CALL_CLOSED", after=mark)

        rec.begin("incoming_canceled_by_caller")
        mark = alice.mark()
        await alice.dial(me)
        await rec.posted_one(of(ins.CallIncoming))
        ringing = await alice.wait("CALL_RINGING", after=mark)
        await alice.on_call(ringing["id"], "hangup")
        await rec.posted_one(of(ins.CallClosed))

        for scenario, target in (("blind_transfer_to_carol", "203"),
                                 ("blind_transfer_failed", "999")):
            rec.begin(scenario)
            cid = await answered_call(engine, rec, alice, scenario)
            engine.execute(fx.EngineTransfer(cid, target))
            await rec.posted_one(of(ins.CallClosed))
            await alice.hang_up_all()

        rec.begin("registration")
        engine.execute(fx.EngineRegister(1, False))
        await rec.posted_one(of(ins.RegState, state="unregistered"))
        engine.execute(fx.EngineRegister(1, True))
        await rec.posted_one(of(ins.RegState, state="registered"))
        settings["account.1.password"] = "wrong"
        engine.execute(fx.EngineRegister(1, True))
        await rec.posted_one(of(ins.RegState, state="failed"))

        await engine.stop()
        await alice.close()
        await bob.close()
        return rec.events
    finally:
        lab.stop()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(asyncio.run(record(Path(tmp))), indent=1))
