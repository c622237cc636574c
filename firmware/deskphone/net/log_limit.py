"""Log lines that anyone on the network can cause, held to a rate.

Every remote-control request costs a log line (who did what, or who was
refused): an audit trail. A flood of requests must not turn into a flood of
lines, which would fill the journal and cost more CPU than answering the
requests (measured: a fifth of the servlet's time per request at info level).
So each source gets ``burst`` lines per ``window`` seconds; beyond that its
lines are counted, and the next line that is written says how many were left
out. All sources together get ``total`` lines per window: a flood from
thousands of addresses (each with its "first" line) is a few lines too. The
table of sources is bounded; when it is full, new sources share one entry
(nothing is forgotten early, so nobody earns a fresh burst by flooding).
"""

from __future__ import annotations

import time
from typing import Callable

OVERFLOW = "\x00more sources"


class LogLimiter:
    def __init__(self, burst: int = 20, window: float = 10.0, max_sources: int = 256,
                 clock: Callable[[], float] = time.monotonic, total: int = 60) -> None:
        self.burst, self.window, self.max_sources = burst, window, max_sources
        self.clock, self.total = clock, total
        # source -> [window start, lines written in it, lines left out since the last one]
        self._seen: dict[str, list[float]] = {}
        self._all = [clock(), 0, 0]                 # the same, for every source together

    def allow(self, source: str) -> int | None:
        """None: leave this line out. Else log it, adding how many were left out before it."""
        now = self.clock()
        entry = self._seen.get(source)
        if entry is None:
            if len(self._seen) >= self.max_sources:
                for old in [s for s, e in self._seen.items() if now - e[0] >= self.window
                            and not e[2]]:
                    del self._seen[old]              # idle and owing nothing: forget
            if len(self._seen) >= self.max_sources:
                source = OVERFLOW
            entry = self._seen.setdefault(source, [now, 0, 0])
        for e in (entry, self._all):
            if now - e[0] >= self.window:
                e[0], e[1] = now, 0
        if entry[1] >= self.burst or self._all[1] >= self.total:
            entry[2] += 1
            self._all[2] += 1
            return None
        entry[1] += 1
        self._all[1] += 1
        left_out, entry[2] = int(entry[2]), 0
        return left_out


def left_out(count: int) -> str:
    """The tail of a line that follows lines left out: "" or " (and N more not logged)"."""
    return f" (and {count} more like it not logged)" if count else ""
