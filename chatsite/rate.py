"""A token bucket: the one rate limit the project uses (events, frames, roster updates)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """`rate` events a second on average, bursts up to `burst`; rate 0 means no limit."""

    rate: float
    burst: int
    tokens: float = 0.0
    updated: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)

    def allow(self, cost: float = 1) -> bool:
        """Take `cost` tokens if there are that many; False (and nothing taken) otherwise."""
        if self.rate <= 0:
            return True
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < cost - 1e-9:  # elapsed-time sums in floats fall short by a hair
            return False
        self.tokens -= cost
        return True

    def seconds_until(self, cost: float = 1) -> float:
        """How long until `cost` tokens are there (0 when they are now)."""
        if self.rate <= 0:
            return 0.0
        tokens = min(self.burst, self.tokens + (time.monotonic() - self.updated) * self.rate)
        return max(0.0, (cost - tokens) / self.rate)
