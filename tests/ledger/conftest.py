"""A fresh, migrated ledger per test, on SQLite and on PostgreSQL (``database_url``), and the
few steps most tests start from."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import structlog
from cryptography.fernet import Fernet

from fleetsync import services
from fleetsync.domain.inventory import parse_devices_csv
from fleetsync.ledger import Ledger, open_ledger
from fleetsync.ledger.models import AuditEvent
from fleetsync.services.programme import lendability_of
from fleetsync.settings import DEFAULT_REGIONS, AccountSettings, OrgUnitSettings, Settings

#: Midday UTC: the same calendar date in every time zone a test machine may be in.
NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
UNTIL = date(2026, 11, 30)
ACTOR = "cli:tester"


@pytest.fixture(autouse=True)
def _logging_to_the_current_stream() -> None:
    # A CLI test run earlier in this process configured structlog to write to the CliRunner's
    # captured stderr, closed since; opening a ledger logs its migration. Write wherever the
    # test's output goes instead.
    structlog.reset_defaults()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path / "data")


@pytest.fixture
def ledger(settings: Settings) -> Iterator[Ledger]:
    with open_ledger(settings) as opened:
        yield opened


@pytest.fixture
def programme() -> services.Programme:
    """The default programme, except that devices no sync has seen may be lent: these tests are
    about the ledger's own rules (tests/ledger/test_care.py checks lendability itself)."""
    key = Fernet.generate_key()
    return services.Programme(
        regions=DEFAULT_REGIONS,
        accounts=AccountSettings(),
        key=lambda: key,
        lendability=lendability_of(OrgUnitSettings(), lend_unconfirmed=True),
    )


@pytest.fixture
def stocked(ledger: Ledger) -> Ledger:
    """Three spare devices: two of Antwerpen (4G, wifi) and one of Limburg."""
    add_devices(
        ledger,
        "5CD1234XYZ,CB-0001,Acer C733,Antwerpen,4g",
        "5CD5678ABC,CB-0002,Acer C733,Antwerpen,wifi",
        "5CD9999QRS,CB-0003,HP 11 G9,Limburg,wifi",
    )
    return ledger


def add_devices(ledger: Ledger, *lines: str) -> None:
    """``add_devices(ledger, "5CD1,CB-1,Acer,Antwerpen,wifi", ...)`` through the import."""
    text = "serial,asset_tag,model,region,connectivity\n" + "\n".join(lines) + "\n"
    rows = parse_devices_csv(text, regions=DEFAULT_REGIONS)
    with ledger.transaction() as session:
        services.import_devices(session, rows, actor=ACTOR, now=NOW)


def lend(
    ledger: Ledger,
    programme: services.Programme,
    device: str,
    borrower: str = "B-1017",
    *,
    given_name: str = "Jan",
    family_name: str = "Peeters",
    region: str = "Antwerpen",
    needs_data: bool = False,
    now: datetime = NOW,
) -> services.CheckoutResult:
    with ledger.transaction() as session:
        return services.checkout(
            session,
            device=device,
            borrower=borrower,
            given_name=given_name,
            family_name=family_name,
            region=region,
            until=UNTIL,
            needs_data=needs_data,
            programme=programme,
            actor=ACTOR,
            now=now,
        )


def audit_count(ledger: Ledger) -> int:
    with ledger.read() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) or 0


def later(days: int) -> datetime:
    return NOW + timedelta(days=days)
