"""Sliding-window counters kept in this process.

Used where a per-process limit is enough (mails, support messages, the assistant, exports,
the unmetered routes) and as the fallback of the per-key windows shared through Redis
(services/shared_limits.py) while Redis is away."""

from __future__ import annotations

import math
import time
from collections import deque


class SlidingWindow:
    def __init__(self, limit: int, window_seconds: float, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window_seconds
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    def _live(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self.max_keys:
                self._evict(now)
            hits = self._hits[key] = deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def _evict(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]
        if len(self._hits) >= self.max_keys:  # still full: drop the oldest half
            for key in list(self._hits)[: self.max_keys // 2]:
                del self._hits[key]

    def retry_after(self, key: str, limit: int | None = None) -> int:
        """Seconds until one more hit is allowed; 0 when allowed now."""
        now = time.monotonic()
        hits = self._live(key, now)
        limit = self.limit if limit is None else limit
        if len(hits) < limit:
            return 0
        return max(1, math.ceil(hits[len(hits) - limit] + self.window - now))

    def hit(self, key: str) -> None:
        now = time.monotonic()
        self._live(key, now).append(now)

    def try_hit(self, key: str, limit: int | None = None) -> int:
        """Counts a hit if allowed and returns 0; otherwise returns seconds to wait."""
        wait = self.retry_after(key, limit)
        if not wait:
            self.hit(key)
        return wait

    def clear(self, key: str) -> None:
        self._hits.pop(key, None)
