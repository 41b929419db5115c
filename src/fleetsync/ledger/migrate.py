"""Bring the ledger's schema to the version this fleetsync knows (Alembic, shipped in the package).

Several replicas may start together against one PostgreSQL database: the upgrade runs under an
advisory lock, so exactly one of them migrates and the others wait and then find nothing to do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from fleetsync.log import get_logger
from fleetsync.settings import ConfigError

__all__ = ["SchemaVersion", "schema_version", "upgrade"]

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Alembic says "Context impl SQLiteImpl." at INFO each time the version is read, i.e. on every
# command; fleetsync logs the one line that matters (a migration ran) itself.
logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
_log = get_logger(__name__)
# One lock per schema: migrations are per schema, and test runs share a server with many schemas.
_LOCK_KEY = "hashtext(current_schema() || '.fleetsync.migrations')"


@dataclass(frozen=True, slots=True)
class SchemaVersion:
    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def _head() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None  # the package always ships its migrations
    return head


def _current(connection: sa.Connection) -> str | None:
    current = MigrationContext.configure(connection).get_current_revision()
    connection.rollback()
    return current


def schema_version(engine: sa.Engine) -> SchemaVersion:
    """Where the database's schema is, and where this fleetsync would take it."""
    with engine.connect() as connection:
        return SchemaVersion(current=_current(connection), head=_head())


def upgrade(engine: sa.Engine) -> str | None:
    """Apply the migrations this database lacks, all in one transaction. Returns the revision it
    started from (``None``: an empty database); the head when there was nothing to do."""
    head = _head()
    with engine.connect() as connection:
        before = _current(connection)
        if before == head:
            return before
        # The lock: on PostgreSQL an advisory lock released at commit; on SQLite the write lock
        # that BEGIN IMMEDIATE takes (see engine.py). Whoever waited finds the work done.
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})"))
            before = MigrationContext.configure(connection).get_current_revision()
            if before != head:
                _check_known(before)
                config = _config()
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                _log.info("ledger schema migrated", from_revision=before, to_revision=head)
    return before


def _check_known(revision: str | None) -> None:
    if revision is None:
        return
    script = ScriptDirectory.from_config(_config())
    if revision not in {rev.revision for rev in script.walk_revisions()}:
        raise ConfigError(
            f"the ledger's schema is at revision {revision}, which this fleetsync does not know "
            "(a newer fleetsync migrated it); upgrade fleetsync to at least that version"
        )
