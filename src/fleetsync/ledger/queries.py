"""Finding things in the ledger: one device, borrower or loan by what people type, and the bulk
reads behind ``device list``, ``device show`` and ``loan list`` (one query each, no N+1)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fleetsync.domain.errors import InvalidInput, NotFound
from fleetsync.domain.lifecycle import Connectivity, DeviceState
from fleetsync.ledger.models import (
    AuditEvent,
    Borrower,
    Device,
    DeviceCommand,
    Loan,
    LoanExtension,
    Repair,
    loan_ref,
)

__all__ = [
    "MAX_LOAN_NUMBER",
    "POWERWASH",
    "device_commands",
    "device_history",
    "device_repairs",
    "device_rows",
    "find_borrower",
    "find_device",
    "find_loan",
    "latest_powerwash",
    "loan_extensions",
    "loan_number",
    "loan_row",
    "loan_rows",
    "normalise_ref",
    "open_loan",
    "open_loan_of_borrower",
    "open_repair",
]

POWERWASH = "REMOTE_POWERWASH"
#: The largest loan number the ledger's integer ids can hold.
MAX_LOAN_NUMBER = 2**31 - 1


def normalise_ref(ref: str) -> str:
    """Serials and asset tags are stored upper case; what people type matches case-insensitively."""
    return ref.strip().upper()


def find_device(session: Session, ref: str, *, lock: bool = False) -> Device:
    """The device whose serial or asset tag is exactly ``ref`` (any case). Never a prefix match:
    a destructive action on the wrong device is worse than a "not found"."""
    key = normalise_ref(ref)
    if not key:
        raise InvalidInput("give a device's serial or asset tag", variant="no_device_ref")
    stmt = sa.select(Device).where(sa.or_(Device.serial == key, Device.asset_tag == key))
    if lock:
        stmt = stmt.with_for_update()
    found = session.scalars(stmt).all()
    if not found:
        raise NotFound(
            f"no device has serial or asset tag {key} (they must match exactly, not by prefix); "
            "find the device with `fleetsync device list` (e.g. `--region`, `--state`, `--json`)",
            params={"ref": key},
            variant="device",
        )
    if len(found) > 1:
        by_serial = next(d for d in found if d.serial == key)
        by_tag = next(d for d in found if d.asset_tag == key)
        raise InvalidInput(
            f"{key} is the serial of device {by_serial.serial} and the asset tag of device "
            f"{by_tag.serial}; give the other device's serial to say which one you mean",
            params={"ref": key, "serial": by_serial.serial, "other": by_tag.serial},
            variant="ambiguous_ref",
        )
    return found[0]


def find_borrower(session: Session, desk_id: str, *, lock: bool = False) -> Borrower | None:
    stmt = sa.select(Borrower).where(Borrower.desk_id == desk_id.strip())
    if lock:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def loan_number(ref: str) -> int:
    """The number of a loan id as people type it: ``L-88`` (or ``88``) → 88."""
    text = ref.strip().upper().removeprefix("L-")
    # ASCII digits only: str.isdigit() says yes to "²", which int() refuses.
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise InvalidInput(
            f"{ref!r} is not a loan id; loan ids look like L-88",
            params={"loan": ref.strip()[:64]},
            variant="loan_id",
        )
    return int(text)


def find_loan(session: Session, ref: str) -> Loan:
    """A loan by its id as people see it: ``L-88`` (or ``88``)."""
    number = loan_number(ref)
    # A number beyond the id column's range names no loan (and PostgreSQL refuses to compare).
    loan = session.get(Loan, number) if number <= MAX_LOAN_NUMBER else None
    if loan is None:
        raise NotFound(
            f"there is no loan {loan_ref(number)}; see the loans with `fleetsync loan list --all`",
            params={"loan": loan_ref(number)},
            variant="loan",
        )
    return loan


def open_loan(session: Session, device_id: int) -> Loan | None:
    stmt = sa.select(Loan).where(Loan.device_id == device_id, Loan.returned_at.is_(None))
    return session.scalars(stmt).one_or_none()


def open_loan_of_borrower(session: Session, borrower_id: int) -> Loan | None:
    stmt = sa.select(Loan).where(Loan.borrower_id == borrower_id, Loan.returned_at.is_(None))
    return session.scalars(stmt).one_or_none()


def open_repair(session: Session, device_id: int) -> Repair | None:
    stmt = sa.select(Repair).where(Repair.device_id == device_id, Repair.closed_at.is_(None))
    return session.scalars(stmt.order_by(Repair.id.desc()).limit(1)).first()


def device_repairs(session: Session, device_id: int) -> list[dict[str, Any]]:
    """The device's repairs, oldest first: opened and closed, by whom, with their notes."""
    stmt = sa.select(Repair).where(Repair.device_id == device_id).order_by(Repair.id)
    return [
        {
            "opened_at": _iso(repair.opened_at),
            "opened_by": repair.opened_by,
            "loan": None if repair.loan_id is None else loan_ref(repair.loan_id),
            "note": repair.note,
            "closed_at": _iso(repair.closed_at),
            "closed_by": repair.closed_by,
            "close_note": repair.close_note,
            "outcome": repair.outcome,
        }
        for repair in session.scalars(stmt)
    ]


def latest_powerwash(session: Session, device_id: int) -> DeviceCommand | None:
    """The device's most recent powerwash: every entry into refurbishment asks for a new one, so
    this is the one the current stay waits for."""
    stmt = (
        sa.select(DeviceCommand)
        .where(DeviceCommand.device_id == device_id, DeviceCommand.kind == POWERWASH)
        .order_by(DeviceCommand.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def _iso(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def device_rows(
    session: Session,
    *,
    state: DeviceState | None = None,
    region: str | None = None,
    connectivity: Connectivity | None = None,
    today: date,
) -> list[dict[str, Any]]:
    """Every device (filtered) with its open loan, what Google last confirmed and when its open
    repair began, in one query, ordered by region and serial."""
    repairing = (
        sa.select(Repair.device_id, sa.func.min(Repair.opened_at).label("since"))
        .where(Repair.closed_at.is_(None))
        .group_by(Repair.device_id)
        .subquery()
    )
    stmt = (
        sa.select(
            Device.serial,
            Device.asset_tag,
            Device.model,
            Device.region,
            Device.connectivity,
            Device.state,
            Device.state_since,
            Device.google_device_id,
            Loan.id,
            Loan.checked_out_at,
            Loan.agreed_end,
            Borrower.desk_id,
            Device.google_status,
            Device.google_org_unit,
            Device.google_checked_at,
            repairing.c.since,
        )
        .outerjoin(Loan, sa.and_(Loan.device_id == Device.id, Loan.returned_at.is_(None)))
        .outerjoin(Borrower, Borrower.id == Loan.borrower_id)
        .outerjoin(repairing, repairing.c.device_id == Device.id)
        .order_by(Device.region, Device.serial)
    )
    if state is not None:
        stmt = stmt.where(Device.state == state)
    if region is not None:
        stmt = stmt.where(Device.region == region)
    if connectivity is not None:
        stmt = stmt.where(Device.connectivity == connectivity)
    rows = []
    for (
        serial,
        asset_tag,
        model,
        dev_region,
        dev_connectivity,
        dev_state,
        state_since,
        google_id,
        loan_id,
        checked_out_at,
        agreed_end,
        desk_id,
        google_status,
        google_org_unit,
        google_checked_at,
        repair_since,
    ) in session.execute(stmt):
        loan = None
        if loan_id is not None:
            loan = {
                "loan": loan_ref(loan_id),
                "borrower": desk_id,
                "checked_out_at": _iso(checked_out_at),
                "agreed_end": _iso(agreed_end),
                "overdue": agreed_end < today,
            }
        rows.append(
            {
                "serial": serial,
                "asset_tag": asset_tag,
                "model": model,
                "region": dev_region,
                "connectivity": dev_connectivity,
                "state": dev_state,
                "state_since": _iso(state_since),
                "google_device_id": google_id,
                "current_loan": loan,
                "google_status": google_status,
                "google_org_unit": google_org_unit,
                "google_checked_at": _iso(google_checked_at),
                "in_repair_since": _iso(repair_since),
            }
        )
    return rows


def loan_rows(
    session: Session,
    *,
    today: date,
    include_returned: bool = False,
    overdue: bool = False,
    region: str | None = None,
    borrower: str | None = None,
    device_id: int | None = None,
) -> list[dict[str, Any]]:
    """Loans (open ones unless ``include_returned``) with device and borrower, in one query."""
    stmt = (
        sa.select(Loan, Device.serial, Device.asset_tag, Borrower.desk_id)
        .join(Device, Device.id == Loan.device_id)
        .join(Borrower, Borrower.id == Loan.borrower_id)
        .order_by(Loan.agreed_end, Loan.id)
    )
    if not include_returned or overdue:
        stmt = stmt.where(Loan.returned_at.is_(None))
    if overdue:
        stmt = stmt.where(Loan.agreed_end < today)
    if region is not None:
        stmt = stmt.where(Loan.region == region)
    if borrower is not None:
        stmt = stmt.where(Borrower.desk_id == borrower.strip())
    if device_id is not None:
        stmt = stmt.where(Loan.device_id == device_id).order_by(None).order_by(Loan.id)
    return [
        loan_row(loan, serial=serial, asset_tag=asset_tag, borrower=desk_id, today=today)
        for loan, serial, asset_tag, desk_id in session.execute(stmt)
    ]


def loan_row(
    loan: Loan, *, serial: str, asset_tag: str | None, borrower: str, today: date
) -> dict[str, Any]:
    open_ = loan.returned_at is None
    days_overdue = (today - loan.agreed_end).days if open_ else 0
    return {
        "loan": loan.ref,
        "serial": serial,
        "asset_tag": asset_tag,
        "borrower": borrower,
        "region": loan.region,
        "connectivity": loan.connectivity,
        "needs_data": loan.needs_data,
        "course_period": loan.course_period,
        "checked_out_at": _iso(loan.checked_out_at),
        "agreed_end": _iso(loan.agreed_end),
        "returned_at": _iso(loan.returned_at),
        "condition": loan.return_condition,
        "return_note": loan.return_note,
        "overdue": days_overdue > 0,
        "days_overdue": max(days_overdue, 0),
    }


def loan_extensions(session: Session, loan_id: int) -> list[dict[str, Any]]:
    stmt = sa.select(LoanExtension).where(LoanExtension.loan_id == loan_id)
    return [
        {
            "previous_end": _iso(ext.previous_end),
            "new_end": _iso(ext.new_end),
            "at": _iso(ext.extended_at),
            "actor": ext.actor,
            "reason": ext.reason,
        }
        for ext in session.scalars(stmt.order_by(LoanExtension.id))
    ]


def device_history(session: Session, device_id: int) -> list[dict[str, Any]]:
    """The device's audit trail, oldest first."""
    stmt = (
        sa.select(AuditEvent, Borrower.desk_id)
        .outerjoin(Borrower, Borrower.id == AuditEvent.borrower_id)
        .where(AuditEvent.device_id == device_id)
        .order_by(AuditEvent.id)
    )
    return [
        {
            "at": _iso(event.at),
            "actor": event.actor,
            "action": event.action,
            "loan": None if event.loan_id is None else loan_ref(event.loan_id),
            "borrower": desk_id,
            "before": event.before,
            "after": event.after,
            "reason": event.reason,
        }
        for event, desk_id in session.execute(stmt)
    ]


def device_commands(session: Session, device_id: int) -> list[dict[str, Any]]:
    stmt = (
        sa.select(DeviceCommand)
        .where(DeviceCommand.device_id == device_id)
        .order_by(DeviceCommand.id)
    )
    return [
        {
            "kind": cmd.kind,
            "reason": cmd.reason,
            "loan": None if cmd.loan_id is None else loan_ref(cmd.loan_id),
            "state": cmd.state,
            "result": cmd.result,
            "google_command_id": cmd.google_command_id,
            "requested_at": _iso(cmd.requested_at),
            "requested_by": cmd.requested_by,
            "issued_at": _iso(cmd.issued_at),
            "executed_at": _iso(cmd.executed_at),
            "error": cmd.error,
        }
        for cmd in session.scalars(stmt)
    ]
