"""The one runtime loop: inbox -> core -> effects -> adapters.

Adapters put inputs in the inbox (``post``; ``post_threadsafe`` from foreign
threads such as gpiozero's). The inbox may be made before the runtime (the
composition root does, so the board's parts can post from the moment they are
built and the runtime gets them complete). The loop hands each input to the core with the
current time and gives every effect to the adapter that owns it. Nothing here
waits on I/O: adapters queue their work and return.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Protocol

from .core import effects as fx
from .core import inputs as ins
from .core.events import BY_ID
from .core.phone import Phone
from .core.screens import Screen
from .engine.port import Engine

log = logging.getLogger("deskphone.runtime")


class Display(Protocol):
    def show(self, screen: Screen) -> None: ...


class Leds(Protocol):
    def set(self, led: str, pattern: str) -> None: ...


class EventSink(Protocol):
    def submit(self, event_id: str, variables: Any) -> None: ...


class Sound(Protocol):
    """The phone's own sounds (sound.output.AlsaSound / SimSound): tones, volume, mic, bell."""

    def execute(self, effect: fx.Effect) -> None: ...

    async def close(self) -> None: ...


class SettingsSink(Protocol):
    """Where the core's ``Persist`` goes: config.writer.SettingsWriter.persist."""

    def persist(self, key: str, value: object) -> object: ...


@dataclass
class Adapters:
    display: Display
    leds: Leds
    sound: Sound
    engine: Engine
    events: EventSink
    settings: SettingsSink
    on_status: Callable[[str], None] = lambda text: None
    on_restart: Callable[[bool], None] = lambda reset: None
    provision: Callable[[], Awaitable[ins.AutoProvisionDone]] | None = None
    listeners: list[Callable[[fx.Effect], None]] = field(default_factory=list)
    # Effects of the core's own rooms that name their adapter by type (the call log's
    # SaveCallLog, the XML browser's FetchXml): effect type -> what executes it.
    more: dict[type, Callable[[Any], None]] = field(default_factory=dict)


class Runtime:
    def __init__(self, phone: Phone, adapters: Adapters,
                 clock: Callable[[], float] = time.time, *,
                 inbox: "asyncio.Queue[ins.Input] | None" = None) -> None:
        self.phone = phone
        self.adapters = adapters
        self.clock = clock
        self.inbox: asyncio.Queue[ins.Input] = asyncio.Queue() if inbox is None else inbox
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.handled = 0
        # The screen to draw once the current input's other effects are under way
        # (see _show); None when nothing waits.
        self._screen: Any = None

    # ------------------------------------------------------------- inputs

    def post(self, inp: ins.Input) -> None:
        self.inbox.put_nowait(inp)

    def post_threadsafe(self, inp: ins.Input) -> None:
        """For callbacks on foreign threads: the only way they may reach the phone."""
        assert self._loop is not None, "runtime not running"
        self._loop.call_soon_threadsafe(self.inbox.put_nowait, inp)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            while True:
                inp = await self.inbox.get()
                if self.react(inp):
                    # An event's Action URL GET is written in this turn of the loop, before
                    # the screen, LEDs and sounds are worked out (most of an input's time).
                    # Nothing else reaches the core in between: this loop is its only caller.
                    await asyncio.sleep(0)
                self.settle()
        finally:
            for handle in self._timers.values():
                handle.cancel()
            self._timers.clear()
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    def step(self, inp: ins.Input) -> None:
        """One input, whole: its own effects, then the devices'."""
        self.react(inp)
        self.settle()

    def react(self, inp: ins.Input) -> bool:
        """The input's own effects carried out; True when an event was among them."""
        try:
            effects = self.phone.react(inp, self.clock())
        except Exception:
            # A bug in the core must not take the phone down: log it and keep serving.
            log.exception("the phone could not handle %r", inp)
            return False
        self.handled += 1
        self._apply(effects)
        return any(type(e) is fx.Emit for e in effects)

    def settle(self) -> None:
        """The screen, LEDs, status and sounds as the last input left the state."""
        try:
            effects = self.phone.settle()
        except Exception:
            log.exception("the phone could not work out its outputs")
            return
        self._apply(effects)

    def _apply(self, effects: list[fx.Effect]) -> None:
        drawing = self._screen is not None
        for effect in effects:
            try:
                self._dispatch(effect)
            except Exception:
                log.exception("effect %r failed", effect)
            for listener in self.adapters.listeners:
                listener(effect)
        if self._screen is not None and not drawing:
            if self._loop is None:
                self._draw()
            else:
                self._loop.call_soon(self._draw)

    # ------------------------------------------------------------ effects

    def _dispatch(self, e: fx.Effect) -> None:
        a = self.adapters
        match e:
            case fx.Emit():
                # The request first, then the line: writing a log line (the journal, at
                # info) must not hold up an Action URL whose host is idle.
                a.events.submit(e.event, e.variables)
                log.info("event %s", BY_ID[e.event].name)
            case fx.Render():
                # Drawn after this input's effects, in the next turn of the loop: an
                # Action URL's GET is written before the frame is rendered (about
                # 0.3 ms of Pillow), and of several screens in a row only the last
                # is drawn.
                self._screen = e.screen
            case fx.SetLed():
                a.leds.set(e.led, e.pattern)
            case fx.StartTimer():
                self._cancel(e.name)
                assert self._loop is not None
                self._timers[e.name] = self._loop.call_later(
                    e.delay, self._fire, e.name)
            case fx.CancelTimer():
                self._cancel(e.name)
            case fx.Persist():
                a.settings.persist(e.key, e.value)
            case fx.Status():
                a.on_status(e.text)
            case fx.Restart():
                a.on_restart(e.reset)
            case fx.StartAutoProvision():
                self._spawn(self._provision())
            case _ if isinstance(e, fx.SOUND_EFFECTS):
                a.sound.execute(e)
            case _ if isinstance(e, fx.ENGINE_COMMANDS):
                a.engine.execute(e)
            case _ if type(e) in a.more:
                a.more[type(e)](e)
            case _:
                log.warning("no adapter for %r", e)

    def _draw(self) -> None:
        screen, self._screen = self._screen, None
        if screen is None:
            return
        try:
            self.adapters.display.show(screen)
        except Exception:
            log.exception("drawing %r failed", screen)

    def _fire(self, name: str) -> None:
        self._timers.pop(name, None)
        self.post(ins.TimerFired(name))

    def _cancel(self, name: str) -> None:
        handle = self._timers.pop(name, None)
        if handle is not None:
            handle.cancel()

    async def _provision(self) -> None:
        if self.adapters.provision is None:
            self.post(ins.AutoProvisionDone(False, "no provisioning server configured"))
            return
        self.post(await self.adapters.provision())

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
