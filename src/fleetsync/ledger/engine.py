"""Opening the ledger: the engine, its connection settings, and units of work.

``open_ledger(settings)`` connects, brings the schema up to date, and returns a :class:`Ledger`.
Business actions run inside ``with ledger.transaction() as session:``: the service functions
change the session and never commit, the block commits once at its end (or rolls everything
back on an exception), so a webhook can record its delivery id in the very same transaction.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fleetsync.ledger import migrate
from fleetsync.settings import ConfigError, Settings

__all__ = ["Ledger", "create_ledger_engine", "open_ledger"]

#: How long an SQLite writer waits for another one before giving up.
SQLITE_BUSY_TIMEOUT_MS = 15_000
_READ_ONLY = "fleetsync_read_only"


def create_ledger_engine(url: str) -> sa.Engine:
    """An engine for the ledger: SQLite in WAL mode with foreign keys, or PostgreSQL."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)
    sa.event.listen(engine, "connect", _sqlite_connect)
    sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from the sqlite3 module (it would not BEGIN before a SELECT);
    # _sqlite_begin emits the BEGIN instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # The busy timeout first: switching a new database to WAL takes a lock another process
    # starting at the same moment may hold.
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Erased personal data (the retention's) is overwritten in the file, not left in free space.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(connection: sa.Connection) -> None:
    # A writer takes the write lock up front: a deferred transaction that reads and then writes
    # fails at once with "database is locked" when another writer got in between, whatever the
    # busy timeout. Readers stay deferred so a long `device list` never blocks a checkout.
    read_only = connection.get_execution_options().get(_READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class Ledger:
    """The open ledger. ``transaction()`` for changes, ``read()`` for queries."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._reader = engine.execution_options(**{_READ_ONLY: True})
        # SQLite has one writer at a time. Threads of one process (the API's request threads, its
        # outbox worker) queue here, in order, instead of in SQLite's busy handler, which polls
        # with sleeps of up to 100 ms: under concurrent webhooks that is most of the latency.
        self._writer = (
            threading.RLock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
        )

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commits at the end of the block, rolls back on an exception.

        Objects stay readable after the block (``expire_on_commit=False``), for rendering.
        """
        with (
            self._writer,
            Session(self.engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A unit of work for queries: never committed (on SQLite it does not take the write
        lock). Objects stay readable after the block: closing the session does not expire them."""
        with Session(self._reader, expire_on_commit=False) as session:
            yield session

    def vacuum(self) -> bool:
        """On SQLite, rebuild the database file (``VACUUM``) and empty the write-ahead log, so that
        nothing erased survives in a page's free space or an older copy of a page. Returns
        whether it ran (it does nothing on PostgreSQL, whose erased rows autovacuum reclaims)."""
        if self.engine.dialect.name != "sqlite":
            return False
        with self._writer:
            # The DB-API connection directly: it runs in autocommit (see _sqlite_connect), and
            # neither VACUUM nor a full checkpoint can run inside a transaction.
            connection = self.engine.raw_connection()
            try:
                cursor = connection.cursor()
                cursor.execute("VACUUM")
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                cursor.close()
            finally:
                connection.close()
        return True

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def open_ledger(settings: Settings, *, upgrade: bool = True) -> Ledger:
    """Connect to the configured ledger and apply any migrations it lacks.

    With ``upgrade=False`` the schema is left as it is (``fleetsync db current``); a ledger whose
    schema is behind then fails on first use.
    """
    url = settings.ledger_url
    engine = create_ledger_engine(url.get_secret_value())
    try:
        # Connecting first: a driver error here is about the URL or the server (an unknown
        # connection option is a ProgrammingError, not an OperationalError).
        with engine.connect():
            pass
        if upgrade:
            migrate.upgrade(engine)
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        if not isinstance(exc, sa.exc.OperationalError) and _connected(exc):
            raise
        # The driver's message may quote the URL or its parts: scrubbed of its credentials.
        raise ConfigError(
            f"cannot open the ledger at {url}: {url.scrub(str(exc.orig)).strip()}; check "
            "database_url in the config (or FLEETSYNC_DATABASE_URL) and that the database is up"
        ) from None
    except BaseException:
        engine.dispose()
        raise
    return Ledger(engine)


def _connected(exc: sa.exc.DBAPIError) -> bool:
    """Whether the error came from a statement (the connection was made), not the connect."""
    return exc.statement is not None
