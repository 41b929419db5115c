"""What a real tenant does to a client on a bad day: quotas, concurrency limits, failures.

Quotas are sliding windows of one *real* minute: queries per user per API, Chrome device writes,
Chrome Policy org-unit writes. Over a quota the Directory API answers 403
``userRateLimitExceeded`` and the Chrome Policy API 429 ``RESOURCE_EXHAUSTED``, with
``Retry-After``; over the concurrency limit both answer 429 ``rateLimitExceeded``. Faults are a
rate of 5xx ``backendError`` answers, added latency, dropped connections (before or after the call
took effect), and "fail the next N calls of this method" for tests.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from fleetsync.sandbox.errors import Api, ApiError

__all__ = [
    "DEVICE_WRITES",
    "POLICY_WRITES",
    "ConcurrencyGate",
    "FaultInjector",
    "Faults",
    "QuotaMeter",
    "Quotas",
]

DEVICE_WRITES = frozenset(
    {
        "directory.chromeosdevices.patch",
        "directory.chromeosdevices.update",
        "directory.chromeosdevices.moveDevicesToOu",
        "directory.chromeosdevices.action",
        "admin.customer.devices.chromeos.batchChangeStatus",
        "admin.customer.devices.chromeos.issueCommand",
    }
)
POLICY_WRITES = frozenset(
    {
        "chromepolicy.customers.policies.orgunits.batchModify",
        "chromepolicy.customers.policies.orgunits.batchInherit",
    }
)
_WINDOW = 60.0
_SERVICE = {
    "admin": "admin.googleapis.com",
    "chromepolicy": "chromepolicy.googleapis.com",
    "gmail": "gmail.googleapis.com",
}


def _settings_update(target: Any, changes: dict[str, Any], what: str) -> None:
    known = target.__dataclass_fields__
    for key, value in changes.items():
        if key not in known:
            raise ValueError(f"unknown {what} setting {key!r}; known: {sorted(known)}")
        setattr(target, key, tuple(value) if isinstance(value, list) else value)


# ------------------------------------------------------------------------------ quotas
@dataclass
class Quotas:
    """Per real minute; None means unlimited."""

    queries_per_minute: int | None = None
    device_writes_per_minute: int | None = None
    policy_writes_per_minute: int | None = None
    max_concurrent_requests: int | None = None

    @classmethod
    def google(cls) -> Quotas:
        """Google's documented defaults for an Education tenant."""
        return cls(2400, 60, 30, 20)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def update(self, changes: dict[str, Any]) -> None:
        _settings_update(self, changes, "quota")


class QuotaMeter:
    def __init__(self, quotas: Quotas) -> None:
        self.quotas = quotas
        self._windows: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()

    def charge(self, method_id: str, api: Api, user: str) -> None:
        """Count one call, or refuse it (nothing counted) when a window is full."""
        buckets: list[tuple[tuple[str, str], int, ApiError]] = []
        quotas = self.quotas
        if quotas.queries_per_minute is not None:
            buckets.append(
                (
                    (f"queries/{api}", user),
                    quotas.queries_per_minute,
                    self._exceeded(api, "Queries", "Queries per minute per user"),
                )
            )
        if quotas.device_writes_per_minute is not None and method_id in DEVICE_WRITES:
            buckets.append(
                (
                    ("device-writes", ""),
                    quotas.device_writes_per_minute,
                    self._exceeded(api, "Chrome device writes", "Chrome device writes per minute"),
                )
            )
        if quotas.policy_writes_per_minute is not None and method_id in POLICY_WRITES:
            buckets.append(
                (
                    ("policy-writes", ""),
                    quotas.policy_writes_per_minute,
                    self._exceeded(api, "Org unit writes", "Org unit policy writes per minute"),
                )
            )
        if not buckets:
            return
        now = time.monotonic()
        with self._lock:
            for key, limit, error in buckets:
                window = self._windows.setdefault(key, deque())
                while window and window[0] <= now - _WINDOW:
                    window.popleft()
                if len(window) >= limit:
                    error.retry_after = max(1, math.ceil(window[0] + _WINDOW - now))
                    raise error
            for key, _, _ in buckets:
                self._windows[key].append(now)

    @staticmethod
    def _exceeded(api: Api, metric: str, limit: str) -> ApiError:
        message = (
            f"Quota exceeded for quota metric '{metric}' and limit '{limit}' of service "
            f"'{_SERVICE[api]}' for consumer 'project_number:000000000000'."
        )
        if api == "chromepolicy":
            return ApiError(429, "rateLimitExceeded", message)
        return ApiError(403, "userRateLimitExceeded", message)


class ConcurrencyGate:
    """At most N Google calls in flight; the next one is refused at once, not queued."""

    def __init__(self, quotas: Quotas) -> None:
        self.quotas = quotas
        self._in_flight = 0
        self._lock = threading.Lock()

    def enter(self) -> None:
        with self._lock:
            limit = self.quotas.max_concurrent_requests
            if limit is not None and self._in_flight >= limit:
                error = ApiError(
                    429,
                    "rateLimitExceeded",
                    "Rate Limit Exceeded: too many concurrent requests for this account.",
                )
                error.retry_after = 1
                raise error
            self._in_flight += 1

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1


# ------------------------------------------------------------------------------ faults
#: A planned "failure" with this status is no answer at all: the call takes effect, then the
#: connection drops (what a caller sees as a lost answer).
DROP_AFTER_PROCESSING = 0


@dataclass
class PlannedFailure:
    method: str | None
    status: int
    reason: str
    remaining: int
    #: The error's message (default: Google's usual words for the reason).
    message: str | None = None


@dataclass
class Faults:
    #: Share of Google calls (batch parts included) answered with a 5xx.
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (503,)
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    #: Share of HTTP requests whose connection is dropped without an answer.
    drop_rate: float = 0.0
    #: Drop after the call took effect (the nasty case: it happened, the client cannot know).
    drop_after_processing: bool = True
    seed: int | None = None
    planned: list[PlannedFailure] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["error_statuses"] = list(self.error_statuses)
        return data


class FaultInjector:
    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._random = random.Random(faults.seed)  # noqa: S311 - reproducible faults
        self._lock = threading.Lock()

    def update(self, changes: dict[str, Any]) -> None:
        with self._lock:
            planned = changes.pop("planned", None)
            _settings_update(self.faults, changes, "fault")
            if planned == []:
                self.faults.planned.clear()
            for rate in ("error_rate", "drop_rate"):
                if not 0.0 <= float(getattr(self.faults, rate)) <= 1.0:
                    raise ValueError(f"{rate} is a share between 0 and 1")
            if "seed" in changes:
                self._random = random.Random(self.faults.seed)  # noqa: S311

    def fail_next(
        self,
        *,
        method: str | None,
        status: int = 503,
        count: int = 1,
        reason: str | None = None,
        message: str | None = None,
    ) -> None:
        default_reason = {
            429: "rateLimitExceeded",
            403: "userRateLimitExceeded",
            500: "backendError",
            503: "backendError",
        }
        with self._lock:
            self.faults.planned.append(
                PlannedFailure(
                    method=method,
                    status=status,
                    reason=reason or default_reason.get(status, "backendError"),
                    remaining=count,
                    message=message,
                )
            )

    def latency(self) -> float:
        faults = self.faults
        if faults.latency_ms <= 0 and faults.latency_jitter_ms <= 0:
            return 0.0
        with self._lock:
            jitter = self._random.uniform(0, faults.latency_jitter_ms)
        return max(0.0, faults.latency_ms + jitter) / 1000.0

    def drop(self) -> bool:
        if self.faults.drop_rate <= 0:
            return False
        with self._lock:
            return self._random.random() < self.faults.drop_rate

    def _take(self, method_id: str, *, drop: bool) -> PlannedFailure | None:
        for planned in self.faults.planned:
            if (planned.status == DROP_AFTER_PROCESSING) != drop:
                continue
            if planned.remaining > 0 and planned.method in (None, method_id):
                planned.remaining -= 1
                if planned.remaining == 0:
                    self.faults.planned.remove(planned)
                return planned
        return None

    def drop_after(self, method_id: str) -> bool:
        """Whether a planned drop takes this call's answer away (it has taken effect)."""
        with self._lock:
            return self._take(method_id, drop=True) is not None

    def error_for(self, method_id: str) -> ApiError | None:
        with self._lock:
            planned = self._take(method_id, drop=False)
            if planned is not None:
                return _failure(planned.status, planned.reason, planned.message)
            if self.faults.error_rate > 0 and self._random.random() < self.faults.error_rate:
                return _failure(self._random.choice(self.faults.error_statuses), "backendError")
        return None


def _failure(status: int, reason: str, message: str | None = None) -> ApiError:
    messages = {
        "backendError": "Backend Error",
        "internalError": "Internal Error",
        "rateLimitExceeded": "Rate Limit Exceeded",
        "userRateLimitExceeded": "User Rate Limit Exceeded",
    }
    error = ApiError(status, reason, message or messages.get(reason, "Injected failure"))
    if status == 429 or reason in {"rateLimitExceeded", "userRateLimitExceeded"}:
        error.retry_after = 1
    return error
