"""Retention: a borrower's personal data leaves the ledger after the legal retention, once their
account is gone; the loans' dates and regions stay for the figures."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from fleetsync import services
from fleetsync.domain.lifecycle import AccountStatus
from fleetsync.ledger import Ledger
from fleetsync.ledger.models import AuditEvent, Borrower, Loan
from fleetsync.services.retention import apply_retention
from tests.ledger.conftest import ACTOR, add_devices, later, lend

YEAR = timedelta(days=365)


def _returned_with_deleted_account(ledger: Ledger, programme: services.Programme) -> None:
    add_devices(ledger, "5CD1,CB-1,Acer,Antwerpen,wifi", "5CD2,CB-2,Acer,Antwerpen,wifi")
    lend(ledger, programme, "5CD1", "B-1")
    lend(ledger, programme, "5CD2", "B-2")
    for serial in ("5CD1", "5CD2"):
        with ledger.transaction() as session:
            services.return_device(session, device=serial, actor=ACTOR, note="keys sticky",
                                   now=later(10))  # fmt: skip
    with ledger.transaction() as session:
        person = session.scalars(sa.select(Borrower).where(Borrower.desk_id == "B-1")).one()
        person.account_status = AccountStatus.DELETED


def test_names_address_and_notes_are_erased_after_the_retention(
    ledger: Ledger, programme: services.Programme
) -> None:
    _returned_with_deleted_account(ledger, programme)
    with ledger.transaction() as session:
        early = apply_retention(session, pseudonymise_after=YEAR, now=later(10) + YEAR / 2)
    assert early.pseudonymised == ()

    with ledger.transaction() as session:
        report = apply_retention(session, pseudonymise_after=YEAR, now=later(11) + YEAR)
    # B-2's account is only suspended: their names go too, the address waits for the deletion.
    assert report.pseudonymised == ("B-1", "B-2")
    with ledger.read() as session:
        gone = session.scalars(sa.select(Borrower).where(Borrower.desk_id == "B-1")).one()
        kept = session.scalars(sa.select(Borrower).where(Borrower.desk_id == "B-2")).one()
        loan = session.scalars(sa.select(Loan).where(Loan.borrower_id == gone.id)).one()
        event = session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == "pseudonymise")
            .order_by(AuditEvent.id)
            .limit(1)
        ).one()
    assert (gone.given_name, gone.family_name, gone.account_email) == (None, None, None)
    assert gone.pseudonymised_at is not None
    assert (gone.region, loan.region, loan.return_note) == ("Antwerpen", "Antwerpen", None)
    assert loan.returned_at is not None
    assert (kept.given_name, kept.family_name) == (None, None)
    assert kept.account_email is not None
    assert event.borrower_id == gone.id

    with ledger.transaction() as session:
        again = apply_retention(session, pseudonymise_after=YEAR, now=later(12) + YEAR)
    assert again.pseudonymised == ()


def test_a_borrower_with_an_open_loan_is_never_pseudonymised(
    ledger: Ledger, programme: services.Programme
) -> None:
    _returned_with_deleted_account(ledger, programme)
    with ledger.transaction() as session:
        services.mark_ready(session, device="5CD1", actor=ACTOR, force=True,
                            reason="wiped by hand", now=later(19))  # fmt: skip
    lend(ledger, programme, "5CD1", "B-1", now=later(20))  # back for a second course
    with ledger.transaction() as session:
        report = apply_retention(session, pseudonymise_after=YEAR, now=later(30) + YEAR)
    assert report.pseudonymised == ("B-2",)  # B-1 borrows again; B-2's last loan ended
