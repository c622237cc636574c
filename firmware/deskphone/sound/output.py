"""The sound adapter: carries out the core's sound effects on the board's devices.

``AlsaSound`` plays on ALSA (a ``RoutePlayer`` thread per device), sets the
mixer (on a worker thread) and rings the GPIO bell. ``SimSound`` is its twin
for boards without sound devices: it keeps what would be playing, for the
simulator and tests. ``execute`` never blocks; both are built by
``make_sound`` in the composition root.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from ..core import effects as fx
from ..config.board_sound import ROUTES, SoundConfig
from .mixer import AlsaMixer, MixerError
from .player import OpenPcm, RoutePlayer, open_alsa_pcm
from .synth import gain_for

log = logging.getLogger("deskphone.sound")


class _Worker:
    """One thread for calls that may block (mixer); jobs run in order."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="sound-mixer", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        self._jobs.put(job)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job()
            except MixerError as exc:
                log.error("%s", exc)
            except Exception:
                log.exception("sound job failed")

    def close(self, timeout: float = 1.0) -> None:
        self._jobs.put(None)
        self._thread.join(timeout)


class AlsaSound:
    def __init__(self, config: SoundConfig, *, open_pcm: OpenPcm = open_alsa_pcm,
                 bell: Any = None) -> None:
        self.config = config
        self.players: dict[str, RoutePlayer] = {}     # by route, fallbacks sharing a player
        for route in ROUTES:
            device = config.device(route)
            if device is None:
                continue
            if device.route in self.players:
                self.players[route] = self.players[device.route]
            else:
                self.players[route] = RoutePlayer(device.route, device.playback, config.srate,
                                                  config.channels, open_pcm=open_pcm)
        self.mixer = AlsaMixer(config.mixer) if config.mixer else None
        self.bell = bell
        self._worker = _Worker()
        self.levels: dict[str, int] = {}

    def execute(self, effect: fx.Effect) -> None:
        match effect:
            case fx.PlayTone():
                player = self.players.get(effect.route)
                if player is not None:
                    player.play(effect.cadence, overlay=effect.overlay)
            case fx.StopTone():
                player = self.players.get(effect.route)
                if player is not None:
                    player.stop()
            case fx.SetVolume():
                self._volume(effect.route, effect.level)
            case fx.SetMicMute():
                device = self.config.routes.get(effect.route)
                if device is not None and device.mic_switch and self.mixer is not None:
                    mixer, control, on = self.mixer, device.mic_switch, not effect.on
                    self._worker.submit(lambda: mixer.set_capture(control, on))
            case fx.Bell():
                if self.bell is not None:
                    self.bell.ring(effect.cadence)

    def _volume(self, route: str, level: int) -> None:
        device = self.config.routes.get(route)
        player = self.players.get(route)
        if device is None or player is None or player.name != route:
            return
        self.levels[route] = level
        if device.volume_control and self.mixer is not None:
            # The card's control sets the level of everything on the device, calls included.
            player.set_gain(1.0)
            mixer, control = self.mixer, device.volume_control
            self._worker.submit(lambda: mixer.set_level(control, level))
        else:
            # No control: only the phone's own tones can follow the level.
            player.set_gain(gain_for(level))

    async def close(self) -> None:
        players = set(self.players.values())
        for player in players:
            player.request_close()

        def wait() -> None:                 # joins block: not on the event loop
            for player in players:
                player.close(0.5)
            self._worker.close(0.5)
            if self.bell is not None:
                self.bell.close()
        await asyncio.to_thread(wait)


@dataclass
class SimSound:
    """What would be heard, without a sound card: per route the tone now playing."""
    tones: dict[str, str] = field(default_factory=dict)
    levels: dict[str, int] = field(default_factory=dict)
    muted: dict[str, bool] = field(default_factory=dict)
    ringing_bell: bool = False
    log: list[fx.Effect] = field(default_factory=list)

    def execute(self, effect: fx.Effect) -> None:
        self.log.append(effect)
        del self.log[:-200]
        match effect:
            case fx.PlayTone(overlay=False):
                self.tones[effect.route] = effect.tone
            case fx.StopTone():
                self.tones.pop(effect.route, None)
            case fx.SetVolume():
                self.levels[effect.route] = effect.level
            case fx.SetMicMute():
                self.muted[effect.route] = effect.on
            case fx.Bell():
                self.ringing_bell = bool(effect.cadence)

    async def close(self) -> None:
        pass


def make_sound(config: SoundConfig, *, pin_factory: Any = None) -> AlsaSound | SimSound:
    """The real adapter when the board names sound devices, else the simulated one."""
    if not config.routes:
        return SimSound()
    bell = None
    if config.bell_pin is not None:
        from .bell import GpioBell
        bell = GpioBell(config.bell_pin, active_high=config.bell_active_high,
                        pin_factory=pin_factory)
    return AlsaSound(config, bell=bell)
