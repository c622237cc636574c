"""A bell or buzzer on a GPIO pin (gpiozero), switched on and off with the ring cadence.

The cadence comes from the core (``Bell`` effect); a thread follows it, so the
event loop never sleeps. Consecutive "on" elements (the ringer's warble) are
one stretch of ringing for the bell.
"""

from __future__ import annotations

import threading
from typing import Any

from ..core.tones import FOREVER, Element


def on_off(cadence: tuple[Element, ...]) -> list[tuple[bool, float | None]]:
    """The cadence as (on, seconds) stretches, neighbours of the same kind merged."""
    out: list[tuple[bool, float | None]] = []
    for el in cadence:
        on = bool(el.freqs)
        secs = None if el.ms == FOREVER else el.ms / 1000
        if out and out[-1][0] == on and out[-1][1] is not None:
            out[-1] = (on, None if secs is None else out[-1][1] + secs)
        else:
            out.append((on, secs))
    return out


class GpioBell:
    def __init__(self, pin: int, *, active_high: bool = True, pin_factory: Any = None) -> None:
        from gpiozero import DigitalOutputDevice
        self.device = DigitalOutputDevice(pin, active_high=active_high, initial_value=False,
                                          pin_factory=pin_factory)
        self._cond = threading.Condition()
        self._stretches: list[tuple[bool, float | None]] = []
        self._generation = 0
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="sound-bell", daemon=True)
        self._thread.start()

    def ring(self, cadence: tuple[Element, ...]) -> None:
        """Follow ``cadence`` over and over; () stops the bell at once."""
        with self._cond:
            self._stretches = on_off(cadence)
            self._generation += 1
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(1.0)
        self.device.close()

    def _run(self) -> None:
        with self._cond:
            while not self._closing:
                gen, stretches = self._generation, self._stretches
                if not stretches:
                    self.device.off()
                    self._cond.wait()
                    continue
                for on, secs in stretches:
                    self.device.value = on
                    if secs is None:
                        self._cond.wait_for(lambda: self._closing or self._generation != gen)
                    else:
                        self._cond.wait_for(lambda: self._closing or self._generation != gen,
                                            timeout=secs)
                    if self._closing or self._generation != gen:
                        break
            self.device.off()
