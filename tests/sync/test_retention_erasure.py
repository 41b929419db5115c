"""Retention reaches every borrower whose last loan ended before the retention period, whatever
Google has: one whose account was never created, one whose account Google still holds. Their
names and notes leave the ledger; the account's address goes as soon as the account is recorded
deleted. Against the sandbox, on both databases."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from fleetsync import clock, services
from fleetsync.ledger.erasure import flush_erased
from fleetsync.ledger.models import Base, Borrower, Loan, SyncJournalEntry
from fleetsync.services.retention import RetentionReport, apply_retention
from tests.sync.conftest import Fleet

YEAR = timedelta(days=365)


def _retention(fleet: Fleet) -> RetentionReport:
    """The daily retention job, run a year and a day after today."""
    with fleet.ledger.transaction() as session:
        return apply_retention(
            session,
            pseudonymise_after=timedelta(days=fleet.settings.accounts.pseudonymise_after_days),
            now=clock.now() + YEAR + timedelta(days=1),
        )


def _person(fleet: Fleet, desk_id: str) -> Borrower:
    with fleet.ledger.read() as session:
        return session.scalars(sa.select(Borrower).where(Borrower.desk_id == desk_id)).one()


def _notes(fleet: Fleet, person: Borrower) -> list[str | None]:
    with fleet.ledger.read() as session:
        return list(
            session.scalars(sa.select(Loan.return_note).where(Loan.borrower_id == person.id))
        )


def _retention_of_the_account_passed(fleet: Fleet, desk_id: str) -> None:
    with fleet.ledger.transaction() as session:
        person = session.scalars(sa.select(Borrower).where(Borrower.desk_id == desk_id)).one()
        assert person.account_status_since is not None
        person.account_status_since -= timedelta(days=fleet.settings.accounts.delete_after_days)


def _return(fleet: Fleet, serial: str) -> None:
    with fleet.ledger.transaction() as session:
        services.return_device(session, device=serial, actor="cli:tester", note="Amira's bag")


def test_a_borrower_whose_account_was_never_created_is_pseudonymised_after_the_retention(
    adopted: Fleet,
) -> None:
    [serial] = adopted.serials()[:1]
    # Lent and returned at once, before any sync: Google never had an account for them.
    lent = adopted.checkout(serial, "B-1")
    _return(adopted, serial)
    assert adopted.sync(force=True).status == "converged"
    assert lent.account_email is not None
    assert adopted.account(lent.account_email) is None
    _retention_of_the_account_passed(adopted, "B-1")
    settled = adopted.sync()
    assert settled.plan.summary() == {"record_account_gone": 1}

    report = _retention(adopted)

    assert report.pseudonymised == ("B-1",)
    person = _person(adopted, "B-1")
    assert (person.given_name, person.family_name, person.account_email) == (None, None, None)
    assert person.account_status == "deleted"
    assert _notes(adopted, person) == [None]
    assert adopted.sync().plan.actions == ()


def test_retention_erases_names_even_while_google_still_holds_the_account(
    adopted: Fleet,
) -> None:
    [serial] = adopted.serials()[:1]
    lent = adopted.checkout(serial, "B-2")
    adopted.sync()
    _return(adopted, serial)
    adopted.sync()
    email = lent.account_email or ""
    assert adopted.account(email) is not None  # suspended, not deleted yet

    report = _retention(adopted)

    assert report.pseudonymised == ("B-2",)
    person = _person(adopted, "B-2")
    assert (person.given_name, person.family_name) == (None, None)
    assert _notes(adopted, person) == [None]
    assert person.account_email == email  # until the account is deleted: it finds it

    _retention_of_the_account_passed(adopted, "B-2")
    assert adopted.sync().plan.summary() == {"delete_account": 1}
    assert adopted.account(email) is None
    person = _person(adopted, "B-2")
    assert (person.account_status, person.account_email) == ("deleted", None)
    assert _retention(adopted).pseudonymised == ()


def _lent_returned_synced(fleet: Fleet, serial: str, borrower: str) -> str:
    lent = fleet.checkout(serial, borrower)
    fleet.sync()
    _return(fleet, serial)
    fleet.sync()
    assert lent.account_email is not None
    return lent.account_email


def _two_borrowers_past_every_retention(fleet: Fleet) -> list[str]:
    """B-3's account is deleted before the retention job reaches them; B-4's after. Returns
    their addresses; by then the journal has copied both many times (created, annotated on the
    device, suspended, deleted)."""
    first, second = fleet.serials()[:2]
    early = _lent_returned_synced(fleet, first, "B-3")
    late = _lent_returned_synced(fleet, second, "B-4")
    _retention_of_the_account_passed(fleet, "B-3")
    assert fleet.sync().plan.summary() == {"delete_account": 1}
    assert _retention(fleet).pseudonymised == ("B-3", "B-4")
    _retention_of_the_account_passed(fleet, "B-4")
    assert fleet.sync().plan.summary() == {"delete_account": 1}
    return [early, late]


def test_retention_leaves_no_name_or_address_in_any_table(adopted: Fleet) -> None:
    with adopted.ledger.read() as session:
        before = session.scalar(
            sa.select(sa.func.count())
            .select_from(SyncJournalEntry)
            .where(SyncJournalEntry.target.like("%@%"))
        )
    addresses = _two_borrowers_past_every_retention(adopted)

    with adopted.ledger.read() as session:
        dumped = {
            table.name: repr(session.execute(sa.select(table)).all())
            for table in Base.metadata.sorted_tables
        }
        erased = session.scalars(
            sa.select(SyncJournalEntry.target).where(SyncJournalEntry.target.like("[erased: %"))
        ).all()
    for table, rows in dumped.items():
        for personal in [*addresses, "Haddad", "Amira"]:
            assert personal.lower() not in rows.lower(), f"{personal} is still in {table}"
    assert before == 0
    assert {"[erased: B-3]", "[erased: B-4]"} <= set(erased)
    assert adopted.sync().plan.actions == ()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_erased_names_and_addresses_are_gone_from_the_sqlite_files_bytes(adopted: Fleet) -> None:
    addresses = _two_borrowers_past_every_retention(adopted)
    flush_erased(adopted.ledger)  # as the daemon's retention job does after it

    database = Path(adopted.ledger.engine.url.database or "")
    files = [database, database.with_name(database.name + "-wal")]
    content = b"".join(path.read_bytes() for path in files if path.exists())
    assert len(content) > 100_000
    for personal in [*addresses, "Haddad", "Amira"]:
        assert personal.encode() not in content, f"{personal} is still in the file"
