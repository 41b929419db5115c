"""The outbox worker: runs the targeted reconcile for what the webhooks changed, in the background.

Every business action writes its outbox entries in its own transaction (see
``fleetsync.ledger.audit.wake``), so the answer to the desk never waits for Google and a crash
between the answer and the reconcile loses nothing: whoever drains the outbox next (this worker
after a restart, another replica, the daemon) finds the entries still pending.

The worker is one thread around an injected ``drain(stopping) -> int`` (how many entries it
handled; ``stopping`` is set when the app shuts down, so a long reconcile finishes the action in
flight and stops). It drains once at start (what a previous process left), whenever a webhook
wakes it, and on a timer.
An exception is logged and the worker carries on, waiting longer after each consecutive failure;
it stops with the app.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from fleetsync.log import get_logger

__all__ = ["Drain", "OutboxWorker"]

Drain = Callable[[threading.Event], int]
_log = get_logger(__name__)
#: The longest wait after repeated failures (a database that is down), in seconds.
MAX_BACKOFF_SECONDS = 60.0


class OutboxWorker:
    def __init__(self, drain: Drain, *, interval_seconds: float) -> None:
        self._drain = drain
        self._interval = interval_seconds
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the outbox worker is already running")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="fleetsync-outbox", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Drain soon: something was just written to the outbox."""
        self._wake.set()

    def stop(self, timeout_seconds: float = 30.0) -> None:
        """Stop after the drain in progress, if any (waiting at most ``timeout_seconds``)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        self._wake.set()
        thread.join(timeout_seconds)
        if thread.is_alive():
            _log.warning(
                "outbox drain still running at shutdown; its entries stay pending for the next run",
                waited_seconds=timeout_seconds,
            )

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            self._drain_once()
            self._wake.wait(self._next_wait())

    def _drain_once(self) -> None:
        try:
            handled = self._drain(self._stopping)
        except Exception as exc:
            self._failures += 1
            _log.error(
                "outbox drain failed; its entries stay pending and are retried",
                failures=self._failures,
                retry_in_seconds=self._next_wait(),
                exc_info=exc,
            )
            return
        self._failures = 0
        if handled:
            _log.info("outbox drained", entries=handled)

    def _next_wait(self) -> float:
        if not self._failures:
            return self._interval
        backoff: float = self._interval * 2.0 ** min(self._failures, 16)
        return min(backoff, MAX_BACKOFF_SECONDS)
