"""The runtime between the core and the adapters: an input's events leave before its devices.

The real ``Phone`` and the simulated board's display and LEDs; the event sink,
sound, engine and settings are small recorders (they are where the order shows).
"""

from __future__ import annotations

import asyncio

from deskphone.core import effects as fx
from deskphone.core import inputs as ins
from deskphone.core.phone import DeviceInfo, Phone
from deskphone.runtime import Adapters, Runtime
from deskphone.sim.board import SimDisplay, SimLeds
from support.waiting import until

SETTINGS = {"account.1.enable": True, "account.1.user_name": "100",
            "account.1.sip_server.1.address": "pbx.test", "deskphone.hook.debounce_ms": 0}


class Recorder:
    """Every adapter call, in order, as (what, detail); ``submit`` also notes when the
    loop next turns, which is when a sender's task would write the GET."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []

    def submit(self, event: str, variables) -> None:
        self.log.append(("event", event))
        asyncio.get_running_loop().call_soon(self.log.append, ("loop turned", event))

    def execute(self, effect: fx.Effect) -> None:
        self.log.append(("command", type(effect).__name__))

    def persist(self, key: str, value: object) -> None:
        self.log.append(("persist", key))

    async def close(self) -> None:
        pass


def runtime(rec: Recorder) -> tuple[Runtime, SimDisplay]:
    display = SimDisplay()
    phone = Phone(SETTINGS, DeviceInfo("001565000001", "deskphone", "1.0", "10.0.0.2"))
    rt = Runtime(phone, Adapters(display=display, leds=SimLeds(), sound=rec, engine=rec,
                                 events=rec, settings=rec, listeners=[
                                     lambda e: rec.log.append(("effect", type(e).__name__))]))
    return rt, display


async def test_the_events_go_out_and_the_loop_turns_before_the_screen_leds_and_sounds():
    rec = Recorder()
    rt, display = runtime(rec)
    task = asyncio.create_task(rt.run())
    try:
        rt.post(ins.Start())
        rt.post(ins.RegState(1, "registered"))
        await until(lambda: display.screen is not None and display.screen.kind == "idle")
        rec.log.clear()
        rt.post(ins.HookChanged(True))                  # off hook: two events, then devices
        await until(lambda: display.screen.kind == "dialing",
                    what=lambda: f"the screen is {display.screen}")
        log = rec.log
        events = [d for w, d in log if w == "event"]
        assert events == ["off_hook", "idle_to_busy"]
        turned = log.index(("loop turned", "off_hook"))
        devices = [i for i, (w, d) in enumerate(log) if w == "effect"
                   and d in ("Render", "SetLed", "Status", "PlayTone", "StopTone", "SetVolume")]
        assert devices and min(devices) > turned, log
        assert log.index(("event", "idle_to_busy")) < turned        # both events first
        assert ("command", "PlayTone") in log                        # the dial tone, after
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_step_outside_the_loop_is_still_the_whole_input():
    rec = Recorder()
    rt, display = runtime(rec)
    rec.submit = lambda event, variables: rec.log.append(("event", event))  # type: ignore
    rt.step(ins.Start())
    rt.step(ins.RegState(1, "registered"))
    rt.step(ins.HookChanged(True))
    assert display.screen is not None and display.screen.kind == "dialing"
    assert [d for w, d in rec.log if w == "event"][-2:] == ["off_hook", "idle_to_busy"]
    assert rt.phone.settle() == []                   # nothing left over for a second call
