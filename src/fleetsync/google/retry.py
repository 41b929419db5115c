"""The one retry layer for calls to Google (googleapiclient's own ``num_retries`` stays 0: it does
not retry ``quotaExceeded`` and ignores ``Retry-After``).

Backoff is exponential with full jitter, capped, and never shorter than Google's ``Retry-After``.
A non-idempotent call (``issueCommand``, ``users.insert``) is retried only when Google refused it
outright (quota, concurrency); when the outcome is unknown (5xx, dropped connection, timeout) it
raises :class:`GoogleOutcomeUnknown` instead, so the caller looks before issuing it again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from fleetsync.google.errors import (
    GoogleError,
    GoogleOutcomeUnknown,
    GoogleTransportError,
    GoogleUnavailable,
    from_exception,
)
from fleetsync.log import get_logger
from fleetsync.metrics import GOOGLE_RETRIES
from fleetsync.settings import RetrySettings

__all__ = ["backoff_seconds", "call_with_retry", "classify"]

T = TypeVar("T")
log = get_logger(__name__)


def backoff_seconds(
    attempt: int, settings: RetrySettings, retry_after: float | None = None
) -> float:
    """Full-jitter exponential backoff for the given (1-based) attempt, honouring Retry-After."""
    ceiling = min(
        settings.max_backoff_seconds, settings.initial_backoff_seconds * 2 ** (attempt - 1)
    )
    delay = random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def classify(exc: BaseException, *, method: str, idempotent: bool) -> BaseException:
    """What a failed attempt means: a :class:`GoogleError` (or the original, if not Google's)."""
    mapped = from_exception(exc, method=method)
    if mapped is None:
        return exc
    if not idempotent and isinstance(mapped, GoogleUnavailable | GoogleTransportError):
        return GoogleOutcomeUnknown(
            f"Google may or may not have carried this out ({mapped.message})",
            method=method,
            status=mapped.status,
            reason=mapped.reason,
        )
    return mapped


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, GoogleError) and exc.retryable


def call_with_retry(
    attempt: Callable[[], T],
    *,
    method: str,
    idempotent: bool,
    settings: RetrySettings,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``attempt`` until it succeeds, fails for good, or runs out of attempts."""

    def once() -> T:
        try:
            return attempt()
        except Exception as exc:
            mapped = classify(exc, method=method, idempotent=idempotent)
            if mapped is exc:
                raise
            raise mapped from exc

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = exc.retry_after if isinstance(exc, GoogleError) else None
        return backoff_seconds(state.attempt_number, settings, retry_after)

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        reason = exc.reason if isinstance(exc, GoogleError) and exc.reason else type(exc).__name__
        GOOGLE_RETRIES.labels(method=method, reason=reason).inc()
        log.info(
            "google.retry",
            method=method,
            reason=reason,
            attempt=state.attempt_number,
            wait_seconds=round(state.upcoming_sleep, 2),
        )

    retrying = Retrying(
        stop=stop_after_attempt(settings.max_attempts),
        wait=wait,
        retry=retry_if_exception(_is_retryable),
        before_sleep=before_sleep,
        sleep=sleep,
        reraise=True,
    )
    return retrying(once)
