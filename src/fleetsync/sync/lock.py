"""One reconciler at a time per ledger: ``fleetsync sync`` from a terminal, the daemon's jobs and
the API's outbox drain all take this lock, so two runs never plan against each other's
half-applied changes.

PostgreSQL: a session advisory lock on a dedicated connection (released if the process dies, as
the connection closes). SQLite: an exclusive ``flock`` on a file next to the database (released by
the kernel when the process dies).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from fleetsync.domain.errors import Refused
from fleetsync.ledger import Ledger

__all__ = ["SyncBusy", "reconciler_lock"]

_KEY = "hashtext(current_schema() || '.fleetsync.reconcile')"
# In-process: flock locks belong to the open file description, so two threads of one process
# would both get it; a process-wide lock per path keeps them apart too.
_local_locks: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


class SyncBusy(Refused):
    """Another reconcile holds the ledger's lock."""


def _busy() -> SyncBusy:
    return SyncBusy(
        "another reconcile is running on this ledger (the daemon, or a `fleetsync sync` in "
        "another terminal); wait for it to finish and try again"
    )


@contextlib.contextmanager
def reconciler_lock(ledger: Ledger) -> Iterator[None]:
    """Hold the reconcile lock, or raise :class:`SyncBusy` at once."""
    engine = ledger.engine
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            got = connection.scalar(sa.text(f"SELECT pg_try_advisory_lock({_KEY})"))
            connection.commit()
            if not got:
                raise _busy()
            try:
                yield
            finally:
                connection.execute(sa.text(f"SELECT pg_advisory_unlock({_KEY})"))
                connection.commit()
        return
    database = engine.url.database
    path = Path(database).resolve() if database and database != ":memory:" else None
    name = str(path) if path else f"memory:{id(engine)}"
    with _local_guard:
        local = _local_locks.setdefault(name, threading.Lock())
    if not local.acquire(blocking=False):
        raise _busy()
    try:
        if path is None:
            yield
            return
        lock_file = path.with_name(path.name + ".sync-lock")
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise _busy() from None
            yield
        finally:
            os.close(fd)
    finally:
        local.release()
