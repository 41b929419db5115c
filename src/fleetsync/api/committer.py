"""The webhooks' writer: one thread applies the deliveries, several per transaction.

A desk's event is answered only once it is committed, and a commit is the costly part (a disk
flush on SQLite, a round trip and a WAL flush on PostgreSQL; on SQLite moreover one writer at a
time). Request threads each running their own transaction queue for the write lock and pay one
commit each. Here the requests hand their delivery to one thread, which takes every delivery
waiting at that moment (up to ``max_batch``) and applies them in one transaction, each in a
savepoint of its own (:func:`fleetsync.ledger.deliveries.deliver_batch`): under load many
deliveries share a commit, alone a delivery is applied at once — nothing waits for a batch to
fill.

Each request gets its own answer, and only after the commit that holds it.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from concurrent.futures import Future

from fleetsync.ledger.deliveries import Delivery, Job, deliver_batch
from fleetsync.ledger.engine import Ledger
from fleetsync.log import get_logger
from fleetsync.metrics import WEBHOOK_BATCH_SIZE

__all__ = ["Committer"]

_log = get_logger(__name__)
_Item = tuple[Job, "Future[Delivery]"]
#: Deliveries that share one transaction at most: enough to amortise the commit, few enough
#: that the first of them does not wait long for the last.
MAX_BATCH = 64


class Committer:
    def __init__(self, ledger: Ledger, *, max_batch: int = MAX_BATCH) -> None:
        self._ledger = ledger
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()

    def start(self) -> None:
        """Start the thread (``submit`` does it too when nobody did: an app run without its
        lifespan, as some test clients run it)."""
        if self._thread is not None:
            return
        with self._starting:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="fleetsync-committer", daemon=True
                )
                self._thread.start()

    def stop(self, timeout_seconds: float = 30.0) -> None:
        """Apply what was handed over already, then stop."""
        with self._starting:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        self._queue.put(None)
        thread.join(timeout_seconds)
        if thread.is_alive():
            _log.warning("webhook committer still busy at shutdown", waited_seconds=timeout_seconds)

    def submit(self, job: Job) -> Future[Delivery]:
        """Hand ``job`` over; the future holds its delivery once committed (or its exception)."""
        self.start()
        future: Future[Delivery] = Future()
        self._queue.put((job, future))
        return future

    async def deliver(self, job: Job) -> Delivery:
        """:meth:`submit`, awaited from the event loop."""
        return await asyncio.wrap_future(self.submit(job))

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, items: list[_Item]) -> None:
        # A request abandoned before its turn (the desk hung up) is not applied: it was not
        # answered either, and the desk sends it again.
        batch = [(job, future) for job, future in items if future.set_running_or_notify_cancel()]
        if not batch:
            return
        WEBHOOK_BATCH_SIZE.observe(len(batch))
        try:
            results = deliver_batch(self._ledger, [job for job, _ in batch])
        except BaseException as exc:  # the database is gone: every request hears of it
            for _, future in batch:
                future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            _log.error("webhook batch failed", deliveries=len(batch), exc_info=exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
