"""The client-side throttle: stay inside Google's quotas instead of bouncing off them.

Every call counts against the per-user query quota; Chrome device writes (moves, patches, status
changes, commands) and Chrome Policy org-unit writes have much smaller quotas of their own. Each
quota is a sliding window: in *any* window of a minute (plus a second of margin for network
jitter between our clock and Google's), no more calls are sent than the quota allows. A fixed
or token-bucket limiter can put a burst and a full minute's refill into one of Google's windows.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum

from fleetsync.metrics import GOOGLE_THROTTLE_WAIT
from fleetsync.settings import QuotaSettings

__all__ = ["Quota", "SlidingWindow", "Throttle"]

_WINDOW_SECONDS = 61.0


class Quota(Enum):
    QUERIES = "queries"
    DEVICE_WRITES = "device_writes"
    POLICY_WRITES = "policy_writes"


class SlidingWindow:
    """At most ``limit`` acquisitions in any ``window`` seconds. Thread-safe."""

    def __init__(
        self,
        limit: int,
        window: float = _WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1:
            raise ValueError("a quota must allow at least one call per window")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self, n: int = 1) -> float:
        """Block until ``n`` calls fit in the window, record them, return the seconds waited."""
        if n > self.limit:
            raise ValueError(
                f"{n} calls can never fit a quota of {self.limit} per window: send smaller batches"
            )
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                while self._sent and now - self._sent[0] >= self.window:
                    self._sent.popleft()
                if len(self._sent) + n <= self.limit:
                    self._sent.extend([now] * n)
                    return waited
                # The oldest call that must leave the window before n more fit.
                delay = self._sent[len(self._sent) + n - self.limit - 1] + self.window - now
            delay = max(delay, 0.001)
            self._sleep(delay)
            waited += delay


class Throttle:
    """All of a tenant's quotas plus the concurrency limit, shared by every thread of a process."""

    def __init__(
        self,
        quota: QuotaSettings,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._windows = {
            Quota.QUERIES: SlidingWindow(quota.queries_per_minute, clock=clock, sleep=sleep),
            Quota.DEVICE_WRITES: SlidingWindow(
                quota.device_writes_per_minute, clock=clock, sleep=sleep
            ),
            Quota.POLICY_WRITES: SlidingWindow(
                quota.policy_writes_per_minute, clock=clock, sleep=sleep
            ),
        }
        self._in_flight = threading.BoundedSemaphore(quota.max_concurrent_requests)

    def max_batch(self, quota: Quota | None) -> int:
        """The largest number of calls that one HTTP batch may carry for this quota."""
        limit = self._windows[Quota.QUERIES].limit
        if quota is not None:
            limit = min(limit, self._windows[quota].limit)
        return limit

    @contextmanager
    def slot(self, quota: Quota | None = None, calls: int = 1) -> Iterator[None]:
        """Wait for quota for ``calls`` calls (a batch counts each); hold a concurrency slot."""
        for name in (Quota.QUERIES, quota):
            if name is None:
                continue
            waited = self._windows[name].acquire(calls)
            if waited:
                GOOGLE_THROTTLE_WAIT.labels(quota=name.value).inc(waited)
        with self._in_flight:
            yield
