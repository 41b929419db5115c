"""Reports count in local dates: every test here runs in Brussels time (CET in winter, CEST in
summer), so the time-zone edges are real ones; and on SQLite and on PostgreSQL.

The story's ledger (:mod:`tests.reports.story`) is told once per module and database: the
reports only read it.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from fleetsync import services
from fleetsync.ledger import Ledger, open_ledger
from fleetsync.services.programme import lendability_of
from fleetsync.settings import DEFAULT_REGIONS, AccountSettings, OrgUnitSettings, Settings
from tests.conftest import _postgres_schema_url
from tests.ledger.conftest import (  # noqa: F401 - the ledger tests' fixtures, shared
    _logging_to_the_current_stream,
    ledger,
    programme,
    settings,
)
from tests.reports.story import tell

TIME_ZONE = "Europe/Brussels"


@pytest.fixture(autouse=True, scope="package")
def _brussels_time() -> Iterator[None]:
    before = os.environ.get("TZ")
    os.environ["TZ"] = TIME_ZONE
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ],
)
def story_settings(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """Settings for a ledger holding the story's winter, told once per module and database."""
    data = tmp_path_factory.mktemp("story")
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{data / 'ledger.db'}"
    else:
        admin: sa.Engine = request.getfixturevalue("postgres_engine")
        schema = f"t_{uuid.uuid4().hex[:16]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'create schema "{schema}"'))
        url = _postgres_schema_url(schema)
    story_settings = Settings(database_url=url, data_dir=data / "data")
    key = Fernet.generate_key()
    programme_ = services.Programme(
        regions=DEFAULT_REGIONS,
        accounts=AccountSettings(),
        key=lambda: key,
        lendability=lendability_of(OrgUnitSettings(), lend_unconfirmed=True),
    )
    try:
        with open_ledger(story_settings) as opened:
            tell(opened, programme_)
        yield story_settings
    finally:
        if schema is not None:
            with admin.connect() as conn:
                conn.execute(sa.text(f'drop schema "{schema}" cascade'))


@pytest.fixture
def story(story_settings: Settings) -> Iterator[Ledger]:
    """The ledger after the winter told in :mod:`tests.reports.story` (read it, don't change it)."""
    with open_ledger(story_settings) as opened:
        yield opened
