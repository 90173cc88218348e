"""Per-device and per-client rate limits: token buckets on an injectable clock."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class TokenBucket:
    """``capacity`` tokens, refilled at ``rate_per_s``; :meth:`take` spends ``n`` if there are."""

    capacity: float
    rate_per_s: float
    clock: Callable[[], float] = time.monotonic
    tokens: float = field(init=False)
    _t: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = float(self.capacity)
        self._t = self.clock()

    def take(self, n: float = 1.0, /) -> bool:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self._t) * self.rate_per_s)
        self._t = now
        if self.tokens >= n:
            self.tokens -= n
            return True
        return False


class KeyedLimiter:
    """One :class:`TokenBucket` per key (a device, a client address), the oldest forgotten
    beyond ``max_keys`` so a flood of addresses cannot fill the memory."""

    def __init__(self, capacity: float, rate_per_s: float, *, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity, self.rate_per_s, self.max_keys, self.clock = capacity, rate_per_s, max_keys, clock
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, key: str, n: float = 1.0, /) -> bool:
        bucket = self._buckets.pop(key, None) or TokenBucket(self.capacity, self.rate_per_s, clock=self.clock)
        self._buckets[key] = bucket  # most recently used last
        while len(self._buckets) > self.max_keys:
            del self._buckets[next(iter(self._buckets))]
        return bucket.take(n)
