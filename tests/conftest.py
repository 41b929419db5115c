"""Shared fixtures: a fresh ledger database per test, on SQLite and on the real PostgreSQL.

PostgreSQL comes from ``FLEETSYNC_TEST_POSTGRES_URL`` (default: the local server on
127.0.0.1:5432, database ``test``). Each test gets its own schema, so several test runs can share
the server. When the server is unreachable the PostgreSQL cases are skipped, except under
``CI=true``, where a missing database is a failure.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from fleetsync import clock
from fleetsync.sandbox.testing import RunningSandbox, running_sandbox
from tests.pinned import PINNED_AT

POSTGRES_URL = os.environ.get(
    "FLEETSYNC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
LEND_UNCONFIRMED = "FLEETSYNC_LOANS__LEND_UNCONFIRMED"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# Every process of the run (this one, the CLI, `serve` and the daemon started as subprocesses, the
# sandbox) reads the same pinned clock: the moment in tests/pinned.py, from the start of the run.
PINNED_CLOCK = f"{PINNED_AT.isoformat()}@{time.time()!r}"
os.environ[clock.ENV] = PINNED_CLOCK


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A developer's own FLEETSYNC_* variables or ~/.local/share must never leak into a test.
    for name in list(os.environ):
        if name.startswith("FLEETSYNC_") and name != "FLEETSYNC_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv(clock.ENV, PINNED_CLOCK)
    # Most tests lend devices they imported without a sync first: they may (the refusal of an
    # unconfirmed device is tested where lend_unconfirmed is set back to false).
    monkeypatch.setenv(LEND_UNCONFIRMED, "true")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[sa.Engine]:
    """An engine on the PostgreSQL test database (administrative: creates and drops schemas)."""
    engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        message = (
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({exc.orig}); start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` or set "
            "FLEETSYNC_TEST_POSTGRES_URL"
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    yield engine
    engine.dispose()


def _postgres_schema_url(schema: str) -> str:
    sep = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{sep}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database: a new SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    admin: sa.Engine = request.getfixturevalue("postgres_engine")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'create schema "{schema}"'))
    try:
        yield _postgres_schema_url(schema)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'drop schema "{schema}" cascade'))


# ------------------------------------------------------------------------------- sandbox
@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    """A fresh, empty Google Workspace tenant served by the sandbox on a free port.

    ``sandbox.url``, ``.key_file``, ``.admin``, ``.control``, ``.tenant``,
    ``.write_config(path)``; ``.directory()`` / ``.policy()`` build Google's own clients on it.
    """
    with running_sandbox(tmp_path / "sandbox") as running:
        yield running


@pytest.fixture
def agency_sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    """The sandbox seeded with the agency's 1,000 Chromebooks in /Chromebooks/Staging."""
    with running_sandbox(tmp_path / "sandbox", fleet="agency") as running:
        yield running
