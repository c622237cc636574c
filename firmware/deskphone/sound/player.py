"""One sound device played by a thread of its own: the route's tone plus one-shots over it.

The runtime loop only hands over what to play (``play``, ``stop``, ``set_gain``
return at once); the thread synthesises 10 ms blocks and writes them to the
ALSA PCM, which blocks it, never the loop. It opens the device when there is
something to play and closes it again as soon as the route's tone is stopped
and nothing else plays, or after a short idle spell following key tones: a
device held by the phone is a device baresip may find busy, when it is not a
shared (dmix) one.

The thread also paces itself: it never gets more than ``LEAD`` seconds of
sound ahead of the clock. A real card blocks the writes anyway; a device that
swallows data at any speed (ALSA's ``null``, the test devices) would
otherwise be filled as fast as the CPU goes.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Protocol

from ..core.tones import Element
from .synth import ToneSynth, interleave, mix

log = logging.getLogger("deskphone.sound")

LEAD = 0.06             # seconds of sound written ahead of the clock, at most
IDLE_CLOSE = 0.5        # after one-shots end by themselves: keep the device this long


class Pcm(Protocol):
    def write(self, data: bytes) -> object: ...
    def close(self) -> None: ...


OpenPcm = Callable[[str, int, int, int], Pcm]     # device, rate, channels, period frames


def open_alsa_pcm(device: str, rate: int, channels: int, period: int) -> Pcm:
    """A blocking 16-bit playback PCM through pyalsaaudio (imported here, lazily)."""
    import alsaaudio
    return alsaaudio.PCM(type=alsaaudio.PCM_PLAYBACK, mode=alsaaudio.PCM_NORMAL, device=device,
                         rate=rate, channels=channels, format=alsaaudio.PCM_FORMAT_S16_LE,
                         periodsize=period, periods=4)


class RoutePlayer:
    def __init__(self, name: str, device: str, rate: int, channels: int, *,
                 open_pcm: OpenPcm = open_alsa_pcm, block_ms: int = 10) -> None:
        self.name = name
        self.device = device
        self.rate = rate
        self.channels = channels
        self.block = max(1, rate * block_ms // 1000)
        self._open_pcm = open_pcm
        self._cond = threading.Condition()
        self._tone: ToneSynth | None = None
        self._overlays: list[ToneSynth] = []
        self._gain = 1.0
        self._stop_now = False          # the route's tone was stopped: release the device
        self._closing = False
        self._failed_at = 0.0
        self.opened = 0                 # how many times the device was opened (tests, logs)
        self._thread = threading.Thread(target=self._run, name=f"sound-{name}", daemon=True)
        self._thread.start()

    # ------------------------------------------------- from the runtime loop

    def play(self, cadence: tuple[Element, ...], *, overlay: bool = False) -> None:
        synth = ToneSynth(cadence, self.rate, repeat=not overlay)
        with self._cond:
            if overlay:
                self._overlays.append(synth)
            else:
                self._tone = synth
            self._stop_now = False
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            if self._tone is not None:
                self._tone = None
                self._stop_now = True
                self._cond.notify()

    def set_gain(self, gain: float) -> None:
        with self._cond:
            self._gain = gain

    @property
    def playing(self) -> bool:
        with self._cond:
            return self._tone is not None or bool(self._overlays)

    def close(self, timeout: float = 1.0) -> None:
        self.request_close()
        self._thread.join(timeout)

    def request_close(self) -> None:
        """Stop playing and let the thread end (``close`` also waits for it)."""
        with self._cond:
            self._closing = True
            self._tone = None
            self._overlays.clear()
            self._cond.notify()

    # ------------------------------------------------------------ the thread

    def _next_block(self) -> tuple[bytes | None, bool]:
        """(the next block or None when nothing plays, whether to release the device now)."""
        with self._cond:
            self._overlays = [o for o in self._overlays if not o.done]
            if self._tone is not None and self._tone.done:
                self._tone = None
            if self._tone is None and not self._overlays:
                release, self._stop_now = self._stop_now, False
                return None, release
            blocks = [s.read(self.block) for s in (self._tone, *self._overlays) if s is not None]
            gain = self._gain
        return interleave(mix(blocks, gain), self.channels), False

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closing and self._tone is None and not self._overlays:
                    self._cond.wait()
                if self._closing:
                    return
            pcm = self._open()
            if pcm is None:
                continue
            try:
                self._play(pcm)
            finally:
                try:
                    pcm.close()
                except Exception:
                    log.exception("closing sound device %s failed", self.device)

    def _open(self) -> Pcm | None:
        try:
            pcm = self._open_pcm(self.device, self.rate, self.channels, self.block)
        except Exception as exc:
            # Drop what was asked; say so once in a while, not for every key tone.
            with self._cond:
                self._tone = None
                self._overlays.clear()
            now = time.monotonic()
            if now - self._failed_at > 30:
                log.error("sound device %r (%s) cannot be opened: %s%s", self.device, self.name,
                          exc, " (in use? a shared dmix device such as default:CARD=... avoids "
                          "that)" if "busy" in str(exc).lower() else "")
            self._failed_at = now
            return None
        self.opened += 1
        log.debug("sound device %s (%s) open", self.device, self.name)
        return pcm

    def _play(self, pcm: Pcm) -> None:
        start = time.monotonic()
        written = 0                     # frames
        idle_since: float | None = None
        silence = bytes(2 * self.block * self.channels)
        while True:
            data, release = self._next_block()
            now = time.monotonic()
            if data is None:
                if release or self._closing:
                    return
                idle_since = idle_since or now
                if now - idle_since >= IDLE_CLOSE:
                    return
                data = silence           # keep the device (and its clock) running a moment
            else:
                idle_since = None
            try:
                pcm.write(data)
            except Exception as exc:
                log.error("sound device %s: write failed: %s", self.device, exc)
                with self._cond:
                    self._tone = None
                    self._overlays.clear()
                return
            written += self.block
            ahead = written / self.rate - (time.monotonic() - start) - LEAD
            if ahead > 0:
                with self._cond:
                    # Woken early by play/stop: the next block then comes at once.
                    self._cond.wait(ahead)
