"""One authenticated connection to Google (or the sandbox) per process.

It holds the credentials, the two discovery-based services (built from the discovery documents
shipped in google-api-python-client, so no discovery call at start), an HTTP connection per
thread (httplib2 is not thread-safe), the throttle, and the retry layer. Every call to Google goes
through :meth:`GoogleSession.execute` or :meth:`GoogleSession.execute_batch`; calls whose order
does not matter go out side by side through :meth:`GoogleSession.fan_out` (the throttle and the
quotas are shared by every thread).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import google_auth_httplib2
import httplib2
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest, HttpRequest

from fleetsync.google.auth import load_credentials
from fleetsync.google.errors import GoogleError
from fleetsync.google.retry import backoff_seconds, call_with_retry, classify
from fleetsync.google.throttle import Quota, Throttle
from fleetsync.google.transport import OneShotHttp
from fleetsync.log import get_logger
from fleetsync.metrics import GOOGLE_CALLS, GOOGLE_RETRIES
from fleetsync.settings import GoogleSettings

__all__ = ["BatchOutcome", "GoogleSession"]

K = TypeVar("K", bound=Hashable)
X = TypeVar("X")
T = TypeVar("T")
log = get_logger(__name__)

_PRODUCTION_ROOTS = {
    "admin": "https://admin.googleapis.com/",
    "chromepolicy": "https://chromepolicy.googleapis.com/",
}


@dataclass(frozen=True)
class BatchOutcome(Generic[K]):
    """Per item of a batch: Google's answer, or the error that item ended with."""

    results: dict[K, Any]
    errors: dict[K, GoogleError]


class GoogleSession:
    def __init__(
        self,
        settings: GoogleSettings,
        *,
        throttle: Throttle | None = None,
        batch_size: int = 100,
        concurrency: int = 1,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.throttle = throttle or Throttle(settings.quota, sleep=sleep)
        self.batch_size = batch_size
        #: Calls :meth:`fan_out` keeps in flight at once (never more than the throttle allows).
        self.concurrency = max(1, min(concurrency, settings.quota.max_concurrent_requests))
        self._pool: ThreadPoolExecutor | None = None
        #: Calls sent to Google by this session (a batch counts each call it carries, as Google's
        #: quotas do; retries count again).
        self.calls = 0
        self._sleep = sleep
        self._credentials = load_credentials(settings)
        self._calls_lock = threading.Lock()
        self._local = threading.local()
        self._connections: list[google_auth_httplib2.AuthorizedHttp] = []
        options = {"api_endpoint": settings.endpoint} if settings.endpoint else None
        self.directory: Any = build(
            "admin",
            "directory_v1",
            http=self.http(),
            client_options=options,
            static_discovery=True,
            cache_discovery=False,
        )
        self.policy: Any = build(
            "chromepolicy",
            "v1",
            http=self.http(),
            client_options=options,
            static_discovery=True,
            cache_discovery=False,
        )

    @property
    def customer(self) -> str:
        return self.settings.customer

    def http(self) -> google_auth_httplib2.AuthorizedHttp:
        """This thread's authorised HTTP connection (credentials are shared between threads)."""
        http = getattr(self._local, "http", None)
        if http is None:
            http = google_auth_httplib2.AuthorizedHttp(
                self._credentials, http=httplib2.Http(timeout=self.settings.timeout_seconds)
            )
            self._local.http = http
            with self._calls_lock:
                self._connections.append(http)
        return http

    def one_shot_http(self) -> google_auth_httplib2.AuthorizedHttp:
        """A connection that sends each request exactly once (see ``transport.py``)."""
        return google_auth_httplib2.AuthorizedHttp(
            self._credentials, http=OneShotHttp(timeout=self.settings.timeout_seconds)
        )

    def close(self) -> None:
        """Close every connection this session opened (in any thread)."""
        with self._calls_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        with self._calls_lock:
            connections, self._connections = self._connections, []
        for http in connections:
            http.close()
        self._local = threading.local()

    # ---------------------------------------------------------------- side by side
    def fan_out(self, call: Callable[[X], T], items: Iterable[X]) -> list[T | Exception]:
        """``call(item)`` for every item, up to :attr:`concurrency` at once; per item, in the
        order given, what it returned or the exception it raised (nothing is cancelled when one
        fails). With a concurrency of 1, or from inside a fanned-out call, they run one after
        another in the calling thread: a fan-out never waits for its own pool."""
        work = list(items)
        if self.concurrency <= 1 or len(work) <= 1 or getattr(self._local, "pooled", False):
            return [_outcome(call, item) for item in work]
        with self._calls_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.concurrency, thread_name_prefix="google"
                )
            pool = self._pool
        futures = [pool.submit(self._pooled, call, item) for item in work]
        return [future.result() for future in futures]

    def _pooled(self, call: Callable[[X], T], item: X) -> T | Exception:
        self._local.pooled = True
        return _outcome(call, item)

    def _count(self, calls: int) -> None:
        with self._calls_lock:
            self.calls += calls

    # ---------------------------------------------------------------- single calls
    def execute(
        self, request: HttpRequest, *, quota: Quota | None = None, idempotent: bool = True
    ) -> Any:
        """Send one call through the throttle and the retry layer; return Google's JSON."""
        method = str(getattr(request, "methodId", "") or "unknown")

        http = self.http() if idempotent else self.one_shot_http()

        def attempt() -> Any:
            with self.throttle.slot(quota):
                self._count(1)
                try:
                    result = request.execute(http=http, num_retries=0)
                except HttpError as exc:
                    GOOGLE_CALLS.labels(method=method, status=str(exc.resp.status)).inc()
                    raise
                except Exception:
                    GOOGLE_CALLS.labels(method=method, status="error").inc()
                    raise
            GOOGLE_CALLS.labels(method=method, status="200").inc()
            return result

        return call_with_retry(
            attempt,
            method=method,
            idempotent=idempotent,
            settings=self.settings.retry,
            sleep=self._sleep,
        )

    # ---------------------------------------------------------------- batches
    def batch_uri(self, api: str) -> str:
        # service.new_batch_http_request() always targets Google's production batch URL, even
        # with api_endpoint overridden: build the batch on the configured endpoint ourselves.
        return (self.settings.endpoint or _PRODUCTION_ROOTS[api]) + "batch"

    def execute_batch(
        self,
        items: Sequence[tuple[K, HttpRequest]],
        *,
        api: str = "admin",
        quota: Quota | None = None,
    ) -> BatchOutcome[K]:
        """Send per-item calls in HTTP batches (each item counts against the quotas).

        Items that fail with a retryable error are sent again in a later batch, after backoff,
        up to the configured attempts; every other error is returned for its item. Only
        idempotent calls belong in a batch.
        """
        results: dict[K, Any] = {}
        errors: dict[K, GoogleError] = {}
        pending = list(items)
        size = max(1, min(self.batch_size, 1000, self.throttle.max_batch(quota)))
        for round_number in range(1, self.settings.retry.max_attempts + 1):
            retry: list[tuple[K, HttpRequest]] = []
            retry_after: float | None = None
            chunks = [pending[start : start + size] for start in range(0, len(pending), size)]
            # The batches of a round go out side by side: each item is its own call to Google.
            sent = self.fan_out(lambda chunk: self._send_batch(chunk, api=api, quota=quota), chunks)
            for chunk, answers in zip(chunks, sent, strict=True):
                if isinstance(answers, Exception):
                    raise answers
                for (key, request), answer in zip(chunk, answers, strict=True):
                    if not isinstance(answer, GoogleError):
                        results[key] = answer
                        errors.pop(key, None)
                        continue
                    errors[key] = answer
                    if answer.retryable:
                        retry.append((key, request))
                        if answer.retry_after is not None:
                            retry_after = max(retry_after or 0.0, answer.retry_after)
            if not retry or round_number == self.settings.retry.max_attempts:
                break
            for key, request in retry:
                GOOGLE_RETRIES.labels(
                    method=str(getattr(request, "methodId", "")), reason=errors[key].reason
                ).inc()
            delay = backoff_seconds(round_number, self.settings.retry, retry_after)
            log.info("google.batch.retry", items=len(retry), wait_seconds=round(delay, 2))
            self._sleep(delay)
            pending = retry
        return BatchOutcome(results, errors)

    def _send_batch(
        self, chunk: Sequence[tuple[K, HttpRequest]], *, api: str, quota: Quota | None
    ) -> list[Any]:
        """One HTTP batch; a failure of the batch as a whole is retried by the retry layer."""
        if len(chunk) == 1:
            # A batch of one is a plain call: cheaper for Google, same quota.
            _key, request = chunk[0]
            try:
                return [self.execute(request, quota=quota)]
            except GoogleError as exc:
                return [exc]

        def attempt() -> list[Any]:
            answers: dict[str, Any] = {}

            def collect(request_id: str, response: Any, exception: Exception | None) -> None:
                method = str(getattr(requests[request_id], "methodId", "") or "unknown")
                if exception is None:
                    GOOGLE_CALLS.labels(method=method, status="200").inc()
                    answers[request_id] = response
                    return
                status = str(exception.resp.status) if isinstance(exception, HttpError) else "error"
                GOOGLE_CALLS.labels(method=method, status=status).inc()
                answers[request_id] = classify(exception, method=method, idempotent=True)

            batch = BatchHttpRequest(callback=collect, batch_uri=self.batch_uri(api))
            requests: dict[str, HttpRequest] = {}
            for index, (_key, request) in enumerate(chunk):
                request_id = str(index)
                requests[request_id] = request
                batch.add(request, request_id=request_id)
            with self.throttle.slot(quota, calls=len(chunk)):
                self._count(len(chunk))
                http = self.http()
                if not self._credentials.valid:
                    # A batch refreshes an expired token on an httplib2.Http of its own that it
                    # never closes (a leaked socket per token): refresh on this connection.
                    self._credentials.refresh(google_auth_httplib2.Request(http.http))
                batch.execute(http=http)
            return [answers[str(index)] for index in range(len(chunk))]

        try:
            return call_with_retry(
                attempt,
                method="batch",
                idempotent=True,
                settings=self.settings.retry,
                sleep=self._sleep,
            )
        except GoogleError as exc:
            # The whole batch failed for good: every item carries that failure.
            return [exc for _ in chunk]


def _outcome(call: Callable[[X], T], item: X) -> T | Exception:
    try:
        return call(item)
    except Exception as exc:  # handed to the caller, item by item
        return exc
