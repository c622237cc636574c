"""Tone cadences (core.tones) as 16-bit samples, block by block. Standard library only.

Each set of frequencies is computed once as a wavetable one common period long
(``rate / gcd(rate, f1, f2, ...)`` samples: 100 ms for 350+440 Hz), so playing
a tone costs slicing, not sines: a Pi Zero keeps up. The phase runs on across
blocks and elements; a sound that starts or stops after silence is faded over
4 ms, so cadences do not click.
"""

from __future__ import annotations

import functools
import math
import sys
from array import array

from ..core.tones import FOREVER, Element

FULL_SCALE = 32767
TONE_PEAK = 0.5          # all frequencies of a tone together: -6 dBFS at full volume
FADE_MS = 4


@functools.lru_cache(maxsize=48)
def wavetable(freqs: tuple[int, ...], rate: int, peak: int) -> array:
    """One common period of the sum of ``freqs``, ``peak`` at most, as signed 16-bit."""
    g = rate
    for f in freqs:
        g = math.gcd(g, f)
    period = rate // g
    each = peak / len(freqs)
    w = [2 * math.pi * f / rate for f in freqs]
    return array("h", (int(round(each * sum(math.sin(wi * n) for wi in w))) for n in range(period)))


def gain_for(level: int, steps: int = 15) -> float:
    """Software gain of a volume level: 0 is silent, each step 2.5 dB, ``steps`` is 0 dB."""
    if level <= 0:
        return 0.0
    return 10 ** (-(steps - min(level, steps)) * 2.5 / 20)


class ToneSynth:
    """The samples of one cadence. ``repeat`` False: once through, then ``done``."""

    def __init__(self, cadence: tuple[Element, ...], rate: int, *, repeat: bool,
                 peak: float = TONE_PEAK) -> None:
        self.cadence = cadence
        self.rate = rate
        self.repeat = repeat
        self.peak = int(FULL_SCALE * peak)
        self.n = 0                       # samples produced (the phase clock)
        self._first = True
        self._index = 0
        self._pos = 0                    # samples into the current element
        self._left = self._length(0) if cadence else 0
        self.done = not cadence
        self._fade = max(1, rate * FADE_MS // 1000)

    def _length(self, i: int) -> int | None:
        ms = self.cadence[i].ms
        return None if ms == FOREVER else max(1, round(ms * self.rate / 1000))

    def _advance(self) -> None:
        """To the next element that plays on this pass; ``done`` when there is none."""
        while True:
            self._index += 1
            if self._index >= len(self.cadence):
                if not self.repeat or all(el.once for el in self.cadence):
                    self.done = True
                    return
                self._index = 0
                self._first = False
            if self._first or not self.cadence[self._index].once:
                self._left = self._length(self._index)
                self._pos = 0
                return

    def _silent_at(self, i: int) -> bool:
        return not self.cadence[i % len(self.cadence)].freqs

    def read(self, frames: int) -> array:
        """The next ``frames`` samples (mono); after the end, silence."""
        out = array("h")
        while len(out) < frames:
            if self.done:
                out.extend(array("h", bytes(2 * (frames - len(out)))))
                break
            el = self.cadence[self._index]
            want = frames - len(out)
            take = want if self._left is None else min(want, self._left)
            if el.freqs:
                out.extend(self._sound(el, take))
            else:
                out.extend(array("h", bytes(2 * take)))
            self.n += take
            self._pos += take
            if self._left is not None:
                self._left -= take
                if self._left == 0:
                    self._advance()
        return out

    def _sound(self, el: Element, take: int) -> array:
        table = wavetable(el.freqs, self.rate, self.peak)
        period = len(table)
        start = self.n % period
        chunk = array("h")
        while len(chunk) < take:
            end = min(period, start + take - len(chunk))
            chunk.extend(table[start:end])
            start = 0
        # Fades where the sound meets silence: at the element's start and end.
        length = self._length(self._index)
        prev_silent = (self._index == 0 and self._first) or self._silent_at(self._index - 1)
        next_silent = length is not None and self._next_is_silent()
        fade = self._fade
        if not (prev_silent and self._pos < fade) and not (
                next_silent and length is not None and length - (self._pos + take) < fade):
            return chunk
        for k in range(take):
            pos = self._pos + k
            scale = 1.0
            if prev_silent and pos < fade:
                scale = pos / fade
            if next_silent and length is not None and length - pos <= fade:
                scale = min(scale, (length - pos - 1) / fade)
            if scale < 1.0:
                chunk[k] = int(chunk[k] * max(0.0, scale))
        return chunk

    def _next_is_silent(self) -> bool:
        nxt = self._index + 1
        if nxt >= len(self.cadence):
            if not self.repeat:
                return True
            nxt = 0
        return self._silent_at(nxt)


def mix(blocks: list[array], gain: float) -> array:
    """Sum of equally long blocks, times ``gain``, clipped to 16 bits."""
    if len(blocks) == 1 and gain == 1.0:
        return blocks[0]
    out = array("h", bytes(2 * len(blocks[0])))
    for i in range(len(out)):
        v = int(sum(b[i] for b in blocks) * gain)
        out[i] = FULL_SCALE if v > FULL_SCALE else -FULL_SCALE if v < -FULL_SCALE else v
    return out


def interleave(block: array, channels: int) -> bytes:
    """Mono samples to ``channels`` identical channels, as little-endian bytes."""
    if channels > 1:
        wide = array("h", bytes(2 * len(block) * channels))
        for c in range(channels):
            wide[c::channels] = block
        block = wide
    if sys.byteorder != "little":
        block = array("h", block)
        block.byteswap()
    return block.tobytes()
