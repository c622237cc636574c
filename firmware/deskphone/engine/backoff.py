"""How long a supervisor waits before starting a child again (sans-I/O).

Doubling from ``first`` up to ``most``; a run that lasted ``stable_after``
seconds or more starts the count again, so one crash after a long good run is
retried at once and a child that cannot start is not restarted in a busy loop.
"""

from __future__ import annotations


class Backoff:
    def __init__(self, first: float, most: float, stable_after: float) -> None:
        self.first, self.most, self.stable_after = first, most, stable_after
        self._next = first

    def after(self, ran_for: float) -> float:
        """The wait before the next start, after a run of ``ran_for`` seconds."""
        if ran_for >= self.stable_after:
            self._next = self.first
        delay = self._next
        self._next = min(self._next * 2, self.most)
        return delay
