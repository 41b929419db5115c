"""The throttle never lets more calls through in any window than the quota allows."""

from __future__ import annotations

import threading

import pytest

from fleetsync.google.throttle import Quota, SlidingWindow, Throttle
from fleetsync.settings import QuotaSettings


class FakeClock:
    """Time that passes only when someone sleeps (so the test is exact and instant)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def max_in_any_window(stamps: list[float], window: float) -> int:
    stamps = sorted(stamps)
    best, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.mark.parametrize(("limit", "calls", "batch"), [(60, 200, 1), (60, 200, 50), (30, 95, 7)])
def test_no_window_exceeds_the_quota(limit: int, calls: int, batch: int) -> None:
    clock = FakeClock()
    window = SlidingWindow(limit, window=61.0, clock=clock, sleep=clock.sleep)
    stamps: list[float] = []
    sent = 0
    while sent < calls:
        n = min(batch, calls - sent)
        window.acquire(n)
        stamps.extend([clock.now] * n)
        sent += n
    assert max_in_any_window(stamps, 61.0) <= limit
    # ...and it does not wait longer than needed: the last call goes out in the window it must.
    assert clock.now - 1000.0 <= 61.0 * (calls // limit) + 1


def test_a_batch_larger_than_the_quota_is_refused() -> None:
    window = SlidingWindow(60)
    with pytest.raises(ValueError, match="send smaller batches"):
        window.acquire(61)


def test_batches_are_sized_by_the_smallest_quota() -> None:
    throttle = Throttle(QuotaSettings(device_writes_per_minute=60, policy_writes_per_minute=30))
    assert throttle.max_batch(None) == 2400
    assert throttle.max_batch(Quota.DEVICE_WRITES) == 60
    assert throttle.max_batch(Quota.POLICY_WRITES) == 30
