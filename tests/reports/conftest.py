"""Reports count in local dates: every test here runs in Brussels time (CET in winter, CEST in
summer), so the time-zone edges are real ones; and, through the ledger fixtures, on SQLite and
on PostgreSQL."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from fleetsync import services
from fleetsync.ledger import Ledger
from tests.ledger.conftest import (  # noqa: F401 - the ledger tests' fixtures, shared
    _logging_to_the_current_stream,
    ledger,
    programme,
    settings,
)
from tests.reports.story import tell

TIME_ZONE = "Europe/Brussels"


@pytest.fixture(autouse=True)
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


@pytest.fixture
def story(ledger: Ledger, programme: services.Programme) -> Ledger:  # noqa: F811
    """The ledger after the winter told in :mod:`tests.reports.story`."""
    tell(ledger, programme)
    return ledger
