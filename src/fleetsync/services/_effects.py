"""The one path of every business action on a device (checkout, return, extension, lost, found,
reprovision, ready, retire, repair, repaired, ICT test):

    check the input and the actor → :func:`lock` the device (its facts as the actor may see
    them) → the lifecycle decides (:mod:`fleetsync.domain.lifecycle`) → :func:`apply`

:func:`apply` is the one place that carries out what the lifecycle allowed: the loan it starts,
extends or ends (and the overdue lock that ending or extending lifts), the powerwash and repair
it asks for or closes, the new state, the audit event and the outbox entries that wake the
reconciler. So every action writes its history the same way."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fleetsync import clock
from fleetsync.domain import lifecycle
from fleetsync.domain.actors import check_actor
from fleetsync.domain.errors import InvalidInput
from fleetsync.domain.lifecycle import (
    AccountStatus,
    CommandState,
    Condition,
    LifecycleAction,
    Transition,
)
from fleetsync.domain.overdue import LOCK, LOCK_HELD, EscalationState
from fleetsync.ledger import queries
from fleetsync.ledger.audit import record, wake
from fleetsync.ledger.models import (
    Borrower,
    Device,
    DeviceCommand,
    Loan,
    LoanEscalation,
    LoanExtension,
    Repair,
)
from fleetsync.services.desks import check_device_loan, may_see

__all__ = [
    "DeviceChange",
    "NewLoan",
    "Target",
    "apply",
    "check_actor",
    "clean_text",
    "lift_lock",
    "local_date",
    "lock",
    "lock_device",
    "now_or",
    "suspend_account",
    "today",
    "write_history",
]

MAX_TEXT = 500


@dataclass(frozen=True, slots=True)
class DeviceChange:
    """What a device action did, for the CLI and the API to show."""

    action: str
    serial: str
    asset_tag: str | None
    before: str
    after: str
    loan: str | None = None
    borrower: str | None = None
    forced: bool = False
    #: ``requested`` or ``cancelled`` when the action touched the device's powerwash.
    powerwash: str | None = None
    #: The borrower's account status when the action changed it (``suspended``).
    account: str | None = None
    #: ``opened``, ``repaired`` or ``written_off`` when the action touched a repair.
    repair: str | None = None


def now_or(now: datetime | None) -> datetime:
    if now is None:
        return clock.now()
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now


local_date = clock.local_date
today = clock.today


def clean_text(value: str | None, what: str) -> str | None:
    """Free text from a person (a reason, a note): trimmed, ``None`` when empty, bounded."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise InvalidInput(
            f"the {what} is {len(value)} characters long; keep it under {MAX_TEXT}",
            params={"length": len(value), "max": MAX_TEXT},
            variant="too_long",
        )
    return value


def lock_device(session: Session, ref: str) -> Device:
    """The device by serial or asset tag, locked for this transaction (PostgreSQL; SQLite's
    writer already holds the database's write lock)."""
    return queries.find_device(session, ref, lock=True)


@dataclass(frozen=True, slots=True)
class Target:
    """The device a business action is about, locked for the transaction: its row, its open
    loan, and what the lifecycle knows of it."""

    device: Device
    loan: Loan | None
    known: lifecycle.Device


def lock(
    session: Session,
    ref: str,
    *,
    actor: str | None = None,
    loan_action: bool = False,
    all_desks: bool = False,
) -> Target:
    """Lock the device ``ref`` (serial or asset tag) and load what the lifecycle needs, as
    ``actor`` may see it when given (another desk's loan is only "elsewhere"; ``all_desks``: a
    desk admin sees every desk's). An action on the device's loan (``loan_action``: a return, an
    extension, a loss report) is refused to a desk when the loan is another desk's."""
    device = lock_device(session, ref)
    if loan_action:
        assert actor is not None  # the desk acting is who the loan is checked against
        check_device_loan(session, device, actor=actor, all_desks=all_desks)
    loan = queries.open_loan(session, device.id)
    seen_by = None if all_desks else actor
    return Target(device, loan, _facts(session, device, loan, actor=seen_by))


def _facts(
    session: Session, device: Device, loan: Loan | None, *, actor: str | None
) -> lifecycle.Device:
    wash = queries.latest_powerwash(session, device.id)
    repair = queries.open_repair(session, device.id)
    return lifecycle.Device(
        serial=device.serial,
        state=device.state,
        since=local_date(device.state_since),
        connectivity=device.connectivity,
        region=device.region,
        loan=None if loan is None else loan_facts(loan, device.serial, actor=actor),
        powerwash=None
        if wash is None
        else lifecycle.Powerwash(
            state=wash.state,
            result=wash.result,
            since=local_date(wash.executed_at or wash.issued_at or wash.requested_at),
            error=wash.error,
        ),
        repair=None
        if repair is None
        else lifecycle.OpenRepair(since=local_date(repair.opened_at), note=repair.note),
        google=lifecycle.GoogleConfirmed(
            status=device.google_status,
            org_unit=device.google_org_unit,
            checked=None
            if device.google_checked_at is None
            else local_date(device.google_checked_at),
        ),
    )


def loan_facts(loan: Loan, serial: str, *, actor: str | None = None) -> lifecycle.OpenLoan:
    return lifecycle.OpenLoan(
        ref=loan.ref,
        serial=serial,
        borrower=loan.borrower.desk_id,
        since=local_date(loan.checked_out_at),
        agreed_end=loan.agreed_end,
        elsewhere=actor is not None and not may_see(loan, actor),
    )


def suspend_account(borrower: Borrower, now: datetime) -> bool:
    """The borrower has no device any more: their account is suspended (deleted later)."""
    if borrower.account_status != AccountStatus.ACTIVE:
        return False
    borrower.account_status = AccountStatus.SUSPENDED
    borrower.account_status_since = now
    return True


@dataclass(frozen=True, slots=True)
class NewLoan:
    """The loan a checkout starts, made by the caller with its borrower and their account, and
    what the audit event says beyond the loan itself (the account, the contact, the course...)."""

    loan: Loan
    before: Mapping[str, Any] = field(default_factory=dict)
    after: Mapping[str, Any] = field(default_factory=dict)


#: Why the overdue lock of a loan is lifted, by the action that ends or extends the loan.
_LOCK_LIFTED = {
    LifecycleAction.RETURN: "returned",
    LifecycleAction.LOST: "lost",
    LifecycleAction.EXTEND: "extended",
}


def apply(
    session: Session,
    target: Target,
    transition: Transition,
    *,
    actor: str,
    now: datetime,
    reason: str | None = None,
    condition: Condition | None = None,
    note: str | None = None,
    repair_note: str | None = None,
    repair_outcome: str = "repaired",
    new_loan: NewLoan | None = None,
    until: date | None = None,
) -> DeviceChange:
    """Apply an allowed transition: the loan it starts (``new_loan``), extends (to ``until``) or
    ends, the powerwash it asks for or cancels, the repair it opens or closes, the new state,
    the audit event, the outbox entries, and the overdue lock the loan no longer wants."""
    device = target.device
    # An extension changes the loan, not the device: its audit event is about the agreed end.
    moves = not transition.extends_loan
    before: dict[str, Any] = {"state": transition.before} if moves else {}
    after: dict[str, Any] = {"state": transition.after} if moves else {}
    loan: Loan | None = None
    account: str | None = None
    if transition.starts_loan:
        assert new_loan is not None  # a checkout makes the loan it starts
        loan = new_loan.loan
        before |= new_loan.before
        after |= {
            "loan": loan.ref,
            "borrower": loan.borrower.desk_id,
            "agreed_end": loan.agreed_end.isoformat(),
            "needs_data": loan.needs_data,
        } | dict(new_loan.after)
    if transition.extends_loan:
        loan = target.loan
        assert loan is not None
        assert until is not None
        session.add(
            LoanExtension(
                loan_id=loan.id,
                previous_end=loan.agreed_end,
                new_end=until,
                extended_at=now,
                actor=actor,
                reason=reason,
            )
        )
        before["agreed_end"] = loan.agreed_end.isoformat()
        after["agreed_end"] = until.isoformat()
        loan.agreed_end = until
    if transition.ends_loan:
        loan = target.loan
        assert loan is not None  # the lifecycle only ends a loan that exists
        ended_as = condition or Condition.OK
        loan.returned_at = now
        loan.return_condition = ended_as
        loan.return_note = note
        before |= {"loan": loan.ref, "borrower": loan.borrower.desk_id}
        after["condition"] = ended_as
        if suspend_account(loan.borrower, now):
            account = AccountStatus.SUSPENDED
            before["account"] = AccountStatus.ACTIVE
            after["account"] = account
        wake(session, "borrower", loan.borrower.desk_id, transition.action, at=now)
    powerwash: str | None = None
    if transition.cancels_requested_powerwash and _cancel_requested_powerwash(
        session, device, now, why=f"not issued: the device left refurbishment ({transition.action})"
    ):
        powerwash = after["powerwash"] = "cancelled"
    if transition.requests_powerwash:
        session.add(
            DeviceCommand(
                device_id=device.id,
                kind=queries.POWERWASH,
                reason=transition.action,
                loan_id=None if loan is None else loan.id,
                state=CommandState.REQUESTED,
                requested_at=now,
                requested_by=actor,
                updated_at=now,
            )
        )
        powerwash = after["powerwash"] = "requested"
    if transition.opens_repair:
        session.add(
            Repair(
                device_id=device.id,
                loan_id=None if loan is None else loan.id,
                opened_at=now,
                opened_by=actor,
                note=repair_note,
            )
        )
        after["repair"] = "opened"
    if transition.closes_repair:
        open_ = queries.open_repair(session, device.id)
        if open_ is not None:
            open_.closed_at, open_.closed_by = now, actor
            open_.close_note, open_.outcome = repair_note, repair_outcome
            before["repair"] = "open"
            after["repair"] = repair_outcome
    if transition.after != transition.before:
        device.state = transition.after
        device.state_since = now
    if transition.forced:
        after["forced"] = True
    write_history(
        session,
        device,
        transition.action,
        actor=actor,
        now=now,
        before=before,
        after=after,
        reason=reason,
        loan=loan,
    )
    if transition.starts_loan:
        assert loan is not None
        wake(session, "borrower", loan.borrower.desk_id, transition.action, at=now)
    if loan is not None and (transition.ends_loan or transition.extends_loan):
        # The new end is today at the earliest, or the loan ended: it is no longer overdue.
        lift_lock(
            session,
            loan,
            why=_LOCK_LIFTED[transition.action],
            actor=actor,
            now=now,
            lost=transition.action is LifecycleAction.LOST,
        )
    return DeviceChange(
        action=transition.action,
        serial=device.serial,
        asset_tag=device.asset_tag,
        before=transition.before,
        after=transition.after,
        loan=None if loan is None else loan.ref,
        borrower=None if loan is None else loan.borrower.desk_id,
        forced=transition.forced,
        powerwash=powerwash,
        account=account,
        repair=after.get("repair"),
    )


def write_history(
    session: Session,
    device: Device,
    action: str,
    *,
    actor: str,
    now: datetime,
    before: dict[str, Any],
    after: dict[str, Any],
    reason: str | None = None,
    loan: Loan | None = None,
) -> None:
    """What every action on a device writes beside its change: the audit event and the outbox
    entry that wakes the reconciler for the device."""
    record(
        session,
        at=now,
        actor=actor,
        action=action,
        device_id=device.id,
        borrower_id=None if loan is None else loan.borrower_id,
        loan_id=None if loan is None else loan.id,
        before=before,
        after=after,
        reason=reason,
    )
    wake(session, "device", device.serial, action, at=now)


def lift_lock(
    session: Session, loan: Loan, *, why: str, actor: str, now: datetime, lost: bool = False
) -> bool:
    """The loan no longer wants its device locked (returned, extended, withdrawn): the device
    is re-enabled by the reconciler. A lost device stays disabled: its lock simply ends."""
    row = session.scalars(
        sa.select(LoanEscalation).where(
            LoanEscalation.loan_id == loan.id,
            LoanEscalation.step == LOCK,
            LoanEscalation.state.in_(LOCK_HELD),
        )
    ).first()
    if row is None:
        return False
    before = row.state
    row.state = EscalationState.UNLOCKED if lost else EscalationState.UNLOCKING
    row.detail = why
    if lost:
        row.done_at = now
    record(
        session,
        at=now,
        actor=actor,
        action="overdue_unlock",
        device_id=loan.device_id,
        borrower_id=loan.borrower_id,
        loan_id=loan.id,
        before={"lock": before},
        after={"lock": row.state},
        reason=why,
    )
    wake(session, "device", loan.device.serial, "overdue_unlock", at=now)
    return True


def _cancel_requested_powerwash(session: Session, device: Device, now: datetime, why: str) -> bool:
    # Only a powerwash not yet issued can be called off: one Google already has will run when
    # the device next checks in (Google offers no way to withdraw it).
    result = session.execute(
        sa.update(DeviceCommand)
        .where(
            DeviceCommand.device_id == device.id,
            DeviceCommand.state == CommandState.REQUESTED,
        )
        .values(state=CommandState.CANCELLED, updated_at=now, error=why)
    )
    return bool(getattr(result, "rowcount", 0))
