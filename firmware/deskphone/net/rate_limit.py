"""Token buckets per source and for everyone together: what a sender may cost the phone.

``take(source)`` is True while the source has a token and so has the shared
bucket. The table of sources is bounded: when it is full, the sources that
have their whole burst again (idle ones, who lose nothing by being forgotten)
go first; if none has, a new source shares one overflow bucket, so a flood of
spoofed addresses is held to one source's rate and pushes nobody out.
"""

from __future__ import annotations

import time
from typing import Callable

OVERFLOW = "\x00overflow"


class RateLimiter:
    def __init__(self, rate: float, burst: float, *, total_rate: float, total_burst: float,
                 max_sources: int = 4096, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst = rate, burst
        self.total_rate, self.total_burst = total_rate, total_burst
        self.max_sources, self.clock = max_sources, clock
        self._buckets: dict[str, list[float]] = {}      # source -> [tokens, when counted]
        self._total = [total_burst, clock()]
        self._swept = float("-inf")

    def take(self, source: str) -> bool:
        now = self.clock()
        bucket = self._buckets.get(source)
        if bucket is None:
            bucket = self._new(source, now)
        if not self._refill(bucket, now, self.rate, self.burst) \
                or not self._refill(self._total, now, self.total_rate, self.total_burst):
            return False
        bucket[0] -= 1
        self._total[0] -= 1
        return True

    def __len__(self) -> int:
        return len(self._buckets)

    def _new(self, source: str, now: float) -> list[float]:
        if len(self._buckets) >= self.max_sources and now - self._swept >= 1.0:
            self._swept = now                           # one sweep a second, not one a packet
            for old in [s for s, b in self._buckets.items()
                        if b[0] + (now - b[1]) * self.rate >= self.burst]:
                del self._buckets[old]
        if len(self._buckets) >= self.max_sources:
            return self._buckets.setdefault(OVERFLOW, [self.burst, now])
        bucket = self._buckets[source] = [self.burst, now]
        return bucket

    @staticmethod
    def _refill(bucket: list[float], now: float, rate: float, burst: float) -> bool:
        bucket[0] = min(burst, bucket[0] + (now - bucket[1]) * rate)
        bucket[1] = now
        return bucket[0] >= 1
