"""Which replica runs the scheduler.

On PostgreSQL every replica tries to take a session advisory lock on a dedicated connection; the
one that holds it is the leader. If it dies, its connection closes, PostgreSQL releases the lock,
and a standby polling every ``daemon.leader_poll_seconds`` takes over. A leader checks its
connection on each poll: a leader whose connection broke has lost the lock and stops its jobs.

On SQLite there are no replicas: the first daemon holds an ``flock`` on a file next to the
database for its whole life, and a second one refuses to start.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import sqlalchemy as sa

from fleetsync.ledger import Ledger
from fleetsync.settings import ConfigError

__all__ = ["DaemonAlreadyRunning", "Leadership"]

_KEY = "hashtext(current_schema() || '.fleetsync.daemon')"


class DaemonAlreadyRunning(ConfigError):
    """A second daemon on an SQLite ledger."""


class Leadership:
    def __init__(self, ledger: Ledger) -> None:
        self._engine = ledger.engine
        self._connection: sa.Connection | None = None
        self._fd: int | None = None
        self.leader = False
        if self._engine.dialect.name != "postgresql":
            self._lock_file()

    @property
    def shared(self) -> bool:
        """Several replicas can share this ledger (PostgreSQL)."""
        return self._engine.dialect.name == "postgresql"

    def _lock_file(self) -> None:
        database = self._engine.url.database or ""
        path = Path(database).resolve().with_name(Path(database).name + ".daemon-lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise DaemonAlreadyRunning(
                f"another fleetsync daemon is running on this ledger ({holder}); with SQLite "
                "only one may run. Stop it first, or use PostgreSQL (`database_url`) for "
                "several replicas with leader election"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
        self._fd = fd
        self.leader = True

    def poll(self) -> bool:
        """Try to become (or check still being) the leader. Returns whether this replica leads."""
        if not self.shared:
            return self.leader
        try:
            if self._connection is None:
                self._connection = self._engine.connect()
            if self.leader:
                self._connection.execute(sa.text("SELECT 1"))
            else:
                got = self._connection.scalar(sa.text(f"SELECT pg_try_advisory_lock({_KEY})"))
                self.leader = bool(got)
            self._connection.commit()
        except sa.exc.DBAPIError:
            # The connection broke: whatever lock it held is gone with it.
            self._drop_connection()
            self.leader = False
        return self.leader

    def _drop_connection(self) -> None:
        if self._connection is not None:
            try:
                self._connection.invalidate()
                self._connection.close()
            except sa.exc.DBAPIError:
                pass
            self._connection = None

    def release(self) -> None:
        if self._connection is not None and self.leader:
            try:
                self._connection.execute(sa.text(f"SELECT pg_advisory_unlock({_KEY})"))
                self._connection.commit()
            except sa.exc.DBAPIError:
                pass
        self._drop_connection()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.leader = False
