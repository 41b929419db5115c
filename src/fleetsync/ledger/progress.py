"""What the loan desk may see of a loan, read from the ledger alone (no Google call): the loan, its
device and borrower, the facts :mod:`fleetsync.domain.progress` compares, and whether a first
password waits for collection. (Which desk may see it: :mod:`fleetsync.services.desks`.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fleetsync.domain.progress import (
    AccountSeen,
    CommandSeen,
    DeviceSeen,
    LoanFacts,
    PolicySeen,
)
from fleetsync.ledger.models import DeviceCommand, Loan, PendingCredential, PolicyState
from fleetsync.ledger.queries import POWERWASH

__all__ = [
    "FirstPasswordInGoogle",
    "FirstPasswordState",
    "first_password_in_google",
    "first_password_state",
    "loan_facts",
]

FirstPasswordState = Literal["waiting", "collected", "expired", "none"]


def loan_facts(session: Session, loan: Loan, *, policy_org_units: tuple[str, ...]) -> LoanFacts:
    device, borrower = loan.device, loan.borrower
    next_device_loan = _next_loan(session, Loan.device_id == loan.device_id, loan.id)
    next_borrower_loan = _next_loan(session, Loan.borrower_id == loan.borrower_id, loan.id)
    policies = session.scalars(
        sa.select(PolicyState).where(PolicyState.org_unit.in_(policy_org_units))
    ).all()
    return LoanFacts(
        condition=loan.return_condition,
        account=AccountSeen(
            email=borrower.account_email,
            google_user_id=borrower.google_user_id,
            google_suspended=borrower.google_suspended,
        ),
        device=DeviceSeen(
            state=device.state,
            google_org_unit=device.google_org_unit,
            google_annotated_user=device.google_annotated_user,
            google_status=device.google_status,
        ),
        powerwash=_return_powerwash(session, loan, until=next_device_loan),
        policies=tuple(PolicySeen(p.org_unit, p.namespace, p.in_place) for p in policies),
        device_lent_again=None if next_device_loan is None else next_device_loan.ref,
        borrower_borrowed_again=None if next_borrower_loan is None else next_borrower_loan.ref,
    )


def _next_loan(session: Session, same: sa.ColumnElement[bool], after: int) -> Loan | None:
    stmt = sa.select(Loan).where(same, Loan.id > after).order_by(Loan.id).limit(1)
    return session.scalars(stmt).first()


def _return_powerwash(session: Session, loan: Loan, *, until: Loan | None) -> CommandSeen | None:
    """The latest powerwash asked for between the loan's end and the device's next loan: the
    return's own, or one asked for again after it failed or expired."""
    if loan.returned_at is None:
        return None
    stmt = (
        sa.select(DeviceCommand)
        .where(
            DeviceCommand.device_id == loan.device_id,
            DeviceCommand.kind == POWERWASH,
            DeviceCommand.requested_at >= loan.returned_at,
        )
        .order_by(DeviceCommand.id.desc())
        .limit(1)
    )
    if until is not None:
        stmt = stmt.where(DeviceCommand.requested_at < until.checked_out_at)
    wash = session.scalars(stmt).first()
    if wash is None:
        return None
    return CommandSeen(
        state=wash.state,
        google_command_id=wash.google_command_id,
        result=wash.result,
        error=wash.error,
    )


def first_password_state(session: Session, loan: Loan, now: datetime) -> FirstPasswordState:
    """Whether a first password sealed for this loan waits for collection: the checkout's, or
    one sealed later in the loan when the reconciler created the account again."""
    stmt = sa.select(PendingCredential).where(PendingCredential.loan_id == loan.id)
    credential = session.scalars(stmt.order_by(PendingCredential.id.desc()).limit(1)).first()
    if credential is None:
        return "none"
    if credential.collected_at is not None:
        return "collected"
    if credential.expires_at <= now:
        return "expired"
    return "waiting"


@dataclass(frozen=True, slots=True)
class FirstPasswordInGoogle:
    """Whether Google has the loan's latest first password: ``since`` when it has (the account
    was created with it, or the reconciler set it), else ``waits`` while it is still to be sent
    (a new one a desk issued, or the checkout's before the account exists)."""

    waits: bool = False
    since: datetime | None = None


def first_password_in_google(session: Session, loan: Loan, now: datetime) -> FirstPasswordInGoogle:
    stmt = sa.select(PendingCredential).where(PendingCredential.loan_id == loan.id)
    credential = session.scalars(stmt.order_by(PendingCredential.id.desc()).limit(1)).first()
    if credential is None:
        return FirstPasswordInGoogle()
    if credential.used_at is not None:
        return FirstPasswordInGoogle(since=credential.used_at)
    return FirstPasswordInGoogle(waits=credential.expires_at > now and loan.returned_at is None)
