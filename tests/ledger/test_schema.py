"""The schema: migrations that match the models, applied once even by replicas starting together,
and an audit trail the database itself keeps append-only."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from fleetsync.ledger import Ledger, create_ledger_engine, open_ledger
from fleetsync.ledger.audit import AppendOnlyViolation, record
from fleetsync.ledger.migrate import schema_version
from fleetsync.ledger.models import AuditEvent, Base
from fleetsync.settings import ConfigError, Settings

NOW = datetime(2026, 9, 1, 8, 30, tzinfo=UTC)


def test_migrations_build_exactly_the_models(ledger: Ledger) -> None:
    with ledger.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_the_head_read_without_alembic_is_alembics() -> None:
    # Every command compares the ledger's version with the head read from the files directly
    # (Alembic is imported only to migrate): the two readings must agree.
    from alembic.script import ScriptDirectory

    from fleetsync.ledger import migrate

    assert migrate._head() == ScriptDirectory.from_config(migrate._config()).get_current_head()


def test_open_applies_migrations_once_and_reports_the_version(settings: Settings) -> None:
    with open_ledger(settings) as first:
        version = schema_version(first.engine)
        assert version.up_to_date
        assert version.current == version.head
    with open_ledger(settings) as second:
        assert schema_version(second.engine).up_to_date


def test_open_without_upgrade_leaves_an_empty_database_alone(settings: Settings) -> None:
    with open_ledger(settings, upgrade=False) as ledger:
        version = schema_version(ledger.engine)
        assert version.current is None
        assert not version.up_to_date


def test_replicas_starting_together_migrate_once(settings: Settings) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def start() -> None:
        try:
            barrier.wait()
            open_ledger(settings).close()
        except BaseException as exc:  # the test reports it below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    engine = create_ledger_engine(settings.effective_database_url)
    try:
        assert schema_version(engine).up_to_date
    finally:
        engine.dispose()


def _one_event(ledger: Ledger) -> int:
    with ledger.transaction() as session:
        record(session, at=NOW, actor="cli:test", action="import", after={"state": "spare"})
    with ledger.read() as session:
        return session.scalars(sa.select(AuditEvent.id)).one()


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("UPDATE audit_events SET actor = 'someone else'", id="update"),
        pytest.param("DELETE FROM audit_events", id="delete"),
    ],
)
def test_the_database_refuses_to_change_the_audit_trail(ledger: Ledger, statement: str) -> None:
    _one_event(ledger)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), ledger.transaction() as session:
        session.execute(sa.text(statement))
    with ledger.read() as session:
        event = session.scalars(sa.select(AuditEvent)).one()
        assert event.actor == "cli:test"


def test_the_code_refuses_to_change_an_audit_event(ledger: Ledger) -> None:
    event_id = _one_event(ledger)
    with ledger.transaction() as session:
        session.get_one(AuditEvent, event_id).reason = "rewritten history"
        with pytest.raises(AppendOnlyViolation):
            session.flush()
        session.rollback()
    with pytest.raises(AppendOnlyViolation), ledger.transaction() as session:
        session.delete(session.get_one(AuditEvent, event_id))
    with ledger.read() as session:
        assert session.get_one(AuditEvent, event_id).reason is None


def test_times_come_back_aware_and_in_utc(ledger: Ledger) -> None:
    event_id = _one_event(ledger)
    with ledger.read() as session:
        assert session.get_one(AuditEvent, event_id).at == NOW
        assert session.get_one(AuditEvent, event_id).at.tzinfo is not None


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with open_ledger(settings) as ledger, ledger.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() >= 5000


def test_an_unreachable_database_is_a_configuration_error() -> None:
    settings = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/nothing")
    with pytest.raises(ConfigError, match="cannot open the ledger at"):
        open_ledger(settings)
