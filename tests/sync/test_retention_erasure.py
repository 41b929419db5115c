"""Retention reaches every borrower whose last loan ended before the retention period, whatever
Google has: one whose account was never created, one whose account Google still holds. Their
names and notes leave the ledger; the account's address goes as soon as the account is recorded
deleted. Against the sandbox, on both databases."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from fleetsync import clock, services
from fleetsync.ledger.models import Borrower, Loan
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
