"""Log lines that anyone on the network can cause, held to a rate.

Every remote-control request costs a log line (who did what, or who was
refused): an audit trail. A flood of requests must not turn into a flood of
lines, which would fill the journal and cost more CPU than answering the
requests (measured: a fifth of the servlet's time per request at info level).
So each source gets ``burst`` lines per ``window`` seconds; beyond that its
lines are counted, and the next line that is written says how many were left
out. The first request of a burst is always logged.
"""

from __future__ import annotations

import time
from typing import Callable


class LogLimiter:
    def __init__(self, burst: int = 20, window: float = 10.0, max_sources: int = 256,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.burst, self.window, self.max_sources = burst, window, max_sources
        self.clock = clock
        # source -> [window start, lines written in it, lines left out since the last one]
        self._seen: dict[str, list[float]] = {}

    def allow(self, source: str) -> int | None:
        """None: leave this line out. Else log it, adding how many were left out before it."""
        now = self.clock()
        entry = self._seen.get(source)
        if entry is None:
            if len(self._seen) >= self.max_sources:
                # Bounded memory whatever the number of sources (spoofed IPv6, say).
                self._seen.pop(next(iter(self._seen)))
            entry = self._seen[source] = [now, 0, 0]
        if now - entry[0] >= self.window:
            entry[0], entry[1] = now, 0
        if entry[1] >= self.burst:
            entry[2] += 1
            return None
        entry[1] += 1
        left_out, entry[2] = int(entry[2]), 0
        return left_out


def left_out(count: int) -> str:
    """The tail of a line that follows lines left out: "" or " (and N more not logged)"."""
    return f" (and {count} more like it not logged)" if count else ""
