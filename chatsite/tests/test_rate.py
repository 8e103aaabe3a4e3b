"""The per-connection rate limit: bursts are allowed, then the average rate."""

from types import SimpleNamespace

import pytest

from chatsite import rate
from chatsite.rate import TokenBucket


class Clock:
    def __init__(self, now: float):
        self.now = now

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def bucket_and_clock(monkeypatch):
    """A bucket of 5 events a second, bursts of 10, and the clock it reads."""
    bucket = TokenBucket(rate=5, burst=10)
    clock = Clock(now=bucket.updated)
    monkeypatch.setattr(rate, "time", SimpleNamespace(monotonic=clock.monotonic))
    return bucket, clock


def allowed(bucket: TokenBucket, attempts: int) -> int:
    return sum(bucket.allow() for _ in range(attempts))


def test_a_burst_is_allowed_then_further_events_are_refused(bucket_and_clock):
    bucket, _ = bucket_and_clock
    assert allowed(bucket, 10) == 10
    assert bucket.allow() is False


def test_the_allowance_refills_with_time_at_the_rate(bucket_and_clock):
    bucket, clock = bucket_and_clock
    allowed(bucket, 10)
    clock.now += 0.2
    assert allowed(bucket, 5) == 1
    clock.now += 1.0
    assert allowed(bucket, 10) == 5


def test_a_long_pause_refills_no_more_than_one_burst(bucket_and_clock):
    bucket, clock = bucket_and_clock
    allowed(bucket, 10)
    clock.now += 3_600
    assert allowed(bucket, 50) == 10


def test_a_rate_of_zero_means_no_limit():
    bucket = TokenBucket(rate=0, burst=0)
    assert allowed(bucket, 10_000) == 10_000
