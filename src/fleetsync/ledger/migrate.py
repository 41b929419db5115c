"""Bring the ledger's schema to the version this fleetsync knows (Alembic, shipped in the package).

Several replicas may start together against one PostgreSQL database: the upgrade runs under an
advisory lock, so exactly one of them migrates and the others wait and then find nothing to do.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from fleetsync.log import get_logger
from fleetsync.settings import ConfigError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["SchemaVersion", "schema_version", "upgrade"]

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Alembic says "Context impl SQLiteImpl." (and names its plugins) at INFO; fleetsync logs the one
# line that matters (a migration ran) itself.
logging.getLogger("alembic").setLevel(logging.WARNING)
_REVISION = re.compile(
    r"^(down_revision|revision)\s*=\s*(?:None|[\"']([^\"']+)[\"'])", re.MULTILINE
)
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
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


@cache
def _head() -> str:
    """The newest revision, read from the migration files without Alembic: every command opens
    the ledger, and Alembic costs it 0.2 s of imports when there is nothing to migrate (the chain
    is linear, which ``tests/ledger/test_schema.py`` checks against Alembic's own reading)."""
    revisions: dict[str, str | None] = {}
    for script in (_MIGRATIONS / "versions").glob("v*.py"):
        found = {m[1]: m[2] for m in _REVISION.finditer(script.read_text(encoding="utf-8"))}
        if found.get("revision"):
            revisions[found["revision"]] = found.get("down_revision")
    heads = set(revisions) - set(revisions.values())
    if len(heads) != 1:  # pragma: no cover - the land checks keep the chain linear
        raise RuntimeError(f"the migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def _current(connection: sa.Connection) -> str | None:
    current = _read_version(connection)
    connection.rollback()
    return current


def _read_version(connection: sa.Connection) -> str | None:
    # Alembic's own table, read directly (what MigrationContext.get_current_revision does).
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


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
            before = _read_version(connection)
            if before != head:
                from alembic import command

                _check_known(before)
                config = _config()
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                _log.info("ledger schema migrated", from_revision=before, to_revision=head)
    return before


def _check_known(revision: str | None) -> None:
    if revision is None:
        return
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_config())
    if revision not in {rev.revision for rev in script.walk_revisions()}:
        raise ConfigError(
            f"the ledger's schema is at revision {revision}, which this fleetsync does not know "
            "(a newer fleetsync migrated it); upgrade fleetsync to at least that version"
        )
