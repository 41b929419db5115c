"""Retention: the borrowers are vulnerable people, and their personal data must not outlive its
purpose.

- A borrower's Workspace account is deleted ``accounts.delete_after_days`` after the return: the
  reconciler plans that (the ledger only says when the account was suspended).
- ``accounts.pseudonymise_after_days`` after their last loan ended, a borrower's names, account
  address, the free-text notes and contact details of their loans are erased from the ledger,
  whatever Google has:
  every borrower whose last loan ended before the retention period is reached, also one whose
  account was never created. What remains is the loan desk's id for them (pseudonymous), their
  region and the loans' dates: enough for the programme's figures, nothing that names a person.
  Only while the ledger does not yet record their account deleted is its address kept (the
  reconciler needs it to find and delete the account); it is erased when the deletion is
  recorded. The address goes from every table that copied it (the sync journal, the runs'
  summaries, devices, first passwords: :mod:`fleetsync.ledger.erasure`), the names from the
  borrower's closed reservations. The audit trail never held personal data, so it stays whole.
  On SQLite the erased bytes are overwritten in the file (``secure_delete``); the caller then
  calls :func:`fleetsync.ledger.erasure.flush_erased` to empty the write-ahead log.
- First passwords nobody collected are deleted when they expire; the loan desks' webhook
  deliveries are forgotten ``api.delivery_retention_days`` after they arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fleetsync.domain.lifecycle import AccountStatus
from fleetsync.ledger.audit import record
from fleetsync.ledger.deliveries import purge_deliveries
from fleetsync.ledger.erasure import erase_addresses, erased_address
from fleetsync.ledger.models import Borrower, Loan, Reservation
from fleetsync.services._effects import check_actor, now_or
from fleetsync.services.accounts import purge_credentials
from fleetsync.services.contacts import erase_contacts

__all__ = ["RetentionReport", "apply_retention"]

#: Values per IN list (PostgreSQL takes at most 65,535 parameters in a statement).
_IN_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class RetentionReport:
    pseudonymised: tuple[str, ...]
    credentials_purged: int
    deliveries_purged: int = 0


def apply_retention(
    session: Session,
    *,
    pseudonymise_after: timedelta,
    deliveries_kept: timedelta = timedelta(days=30),
    actor: str = "sync",
    now: datetime | None = None,
) -> RetentionReport:
    check_actor(actor)
    now = now_or(now)
    last_end = (
        sa.select(Loan.borrower_id, sa.func.max(Loan.returned_at).label("ended"))
        .group_by(Loan.borrower_id)
        .subquery()
    )
    still_open = sa.select(Loan.id).where(
        Loan.borrower_id == Borrower.id, Loan.returned_at.is_(None)
    )
    due = session.scalars(
        sa.select(Borrower)
        .join(last_end, last_end.c.borrower_id == Borrower.id)
        .where(
            Borrower.pseudonymised_at.is_(None),
            last_end.c.ended <= now - pseudonymise_after,
            ~sa.exists(still_open),
        )
        .order_by(Borrower.id)
        .with_for_update(of=Borrower)
    ).all()
    gone = {AccountStatus.NONE, AccountStatus.DELETED}
    erased: dict[str, str] = {}
    for person in due:
        person.given_name = None
        person.family_name = None
        address_kept = person.account_status not in gone and person.account_email is not None
        if not address_kept and person.account_email is not None:
            erased[person.account_email] = erased_address(person.desk_id)
            person.account_email = None
        person.pseudonymised_at = now
        reason = f"the legal retention of {pseudonymise_after.days} days after the last loan "
        reason += "has passed"
        if address_kept:
            reason += "; the account's address is kept until its deletion is recorded"
        record(
            session,
            at=now,
            actor=actor,
            action="pseudonymise",
            borrower_id=person.id,
            reason=reason,
        )
    # The loans' notes, the closed reservations' names, and every copy of the erased
    # addresses: a few statements for the whole cohort (Core: no objects to synchronise).
    connection = session.connection()
    loans = cast(sa.Table, Loan.__table__)
    reservations = cast(sa.Table, Reservation.__table__)
    for start in range(0, len(due), _IN_CHUNK):
        chunk = due[start : start + _IN_CHUNK]
        connection.execute(
            loans.update()
            .where(loans.c.borrower_id.in_([p.id for p in chunk]))
            .values(return_note=None)
        )
        connection.execute(
            reservations.update()
            .where(
                reservations.c.borrower.in_([p.desk_id for p in chunk]),
                reservations.c.status != "open",
            )
            .values(given_name=None, family_name=None)
        )
        erase_contacts(session, [p.id for p in chunk])
    erase_addresses(session, erased)
    return RetentionReport(
        pseudonymised=tuple(p.desk_id for p in due),
        credentials_purged=purge_credentials(session, now=now),
        deliveries_purged=purge_deliveries(session, before=now - deliveries_kept),
    )
