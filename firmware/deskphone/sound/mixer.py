"""ALSA mixer controls through pyalsaaudio: a route's volume and its microphone switch.

Every call opens the mixer, sets one control and closes it again, so a value
set by another program in the meantime (alsamixer, a test) is never
overwritten from a stale cache. The calls can block on a slow card: the
adapter runs them on its worker thread, never on the event loop.
"""

from __future__ import annotations

import logging

log = logging.getLogger("deskphone.sound")


class MixerError(Exception):
    pass


class AlsaMixer:
    def __init__(self, device: str, steps: int = 15) -> None:
        self.device = device            # an ALSA control device: hw:CARD=Device, hw:0, ...
        self.steps = steps

    def _open(self, control: str):
        import alsaaudio
        try:
            return alsaaudio.Mixer(control=control, device=self.device)
        except alsaaudio.ALSAAudioError as exc:
            raise MixerError(f"mixer control {control!r} on {self.device}: {exc}") from None

    def raw_for(self, low: int, high: int, level: int) -> int:
        """A level 0..steps as a raw control value: evenly spaced from low to high."""
        level = max(0, min(self.steps, level))
        return low + round((high - low) * level / self.steps)

    def set_level(self, control: str, level: int) -> int:
        """Set the playback volume of ``control`` to ``level``; returns the raw value set."""
        import alsaaudio
        mixer = self._open(control)
        try:
            low, high = mixer.getrange(pcmtype=alsaaudio.PCM_PLAYBACK,
                                       units=alsaaudio.VOLUME_UNITS_RAW)
            raw = self.raw_for(low, high, level)
            mixer.setvolume(raw, pcmtype=alsaaudio.PCM_PLAYBACK, units=alsaaudio.VOLUME_UNITS_RAW)
            return raw
        except alsaaudio.ALSAAudioError as exc:
            raise MixerError(f"volume of {control!r} on {self.device}: {exc}") from None
        finally:
            mixer.close()

    def set_capture(self, control: str, on: bool) -> None:
        """Switch the capture (microphone) switch of ``control`` on or off."""
        import alsaaudio
        mixer = self._open(control)
        try:
            mixer.setrec(1 if on else 0)
        except alsaaudio.ALSAAudioError as exc:
            raise MixerError(f"capture switch {control!r} on {self.device}: {exc}") from None
        finally:
            mixer.close()
