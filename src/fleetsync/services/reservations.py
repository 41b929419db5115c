"""Reservations: a person registered for a course period who needs a device.

A reservation is demand, never a particular device: it holds none back. It stays open until a
checkout of that borrower for that course period fulfils it, or until it is cancelled (with a
reason). One borrower has at most one open reservation per course period. A desk sees and
cancels its own reservations; a technician every one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fleetsync.domain.actors import desk_of
from fleetsync.domain.errors import InvalidInput, NotFound, Refused, ReservationClosed
from fleetsync.ledger.audit import record
from fleetsync.ledger.models import CoursePeriod, Loan, Reservation
from fleetsync.services._effects import check_actor, clean_text, local_date, now_or
from fleetsync.services.courses import find_course
from fleetsync.services.programme import Programme

__all__ = [
    "OPEN",
    "ReservationView",
    "add_reservation",
    "cancel_reservation",
    "find_reservation",
    "fulfil_reservation",
    "list_reservations",
]

OPEN, FULFILLED, CANCELLED = "open", "fulfilled", "cancelled"
_REF = re.compile(r"^(?:[Rr]-)?([0-9]{1,9})$")
_DESK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")
_MAX_NAME = 120


@dataclass(frozen=True, slots=True)
class ReservationView:
    """A reservation as people see it (no names: the desk knows them)."""

    reservation: str
    borrower: str
    course: str
    course_from: date
    course_to: date
    region: str
    needs_data: bool
    status: str
    created_at: datetime
    closed_at: datetime | None
    cancel_reason: str | None
    loan: str | None
    desk: str | None

    @classmethod
    def of(cls, r: Reservation, course: CoursePeriod) -> ReservationView:
        return cls(
            reservation=r.ref,
            borrower=r.borrower,
            course=course.name,
            course_from=course.first_day,
            course_to=course.last_day,
            region=r.region,
            needs_data=r.needs_data,
            status=r.status,
            created_at=r.created_at,
            closed_at=r.closed_at,
            cancel_reason=r.cancel_reason,
            loan=None if r.loan_id is None else f"L-{r.loan_id}",
            desk=r.desk,
        )

    def row(self) -> dict[str, Any]:
        return {
            "reservation": self.reservation,
            "borrower": self.borrower,
            "course": self.course,
            "region": self.region,
            "needs_data": self.needs_data,
            "status": self.status,
            "created": local_date(self.created_at).isoformat(),
            "closed": None if self.closed_at is None else local_date(self.closed_at).isoformat(),
            "loan": self.loan,
            "cancel_reason": self.cancel_reason,
        }


def _borrower(value: str) -> str:
    value = value.strip()
    if not _DESK_ID.match(value):
        raise InvalidInput(
            f"borrower id {value!r} is not a loan desk id (letters, digits and . _ : / -, "
            "at most 64, e.g. B-1017)"
        )
    return value


def _name(value: str, what: str) -> str:
    value = " ".join(value.split())
    if len(value) > _MAX_NAME or any(not c.isprintable() for c in value):
        raise InvalidInput(f"the {what} must be at most {_MAX_NAME} printable characters")
    return value


def add_reservation(
    session: Session,
    *,
    borrower: str,
    given_name: str,
    region: str,
    course: str,
    programme: Programme,
    actor: str,
    family_name: str = "",
    needs_data: bool = False,
    now: datetime | None = None,
) -> ReservationView:
    """Reserve a device (demand) for a borrower in a course period of their region."""
    check_actor(actor)
    now = now_or(now)
    desk_id = _borrower(borrower)
    given, family = _name(given_name, "given name"), _name(family_name, "family name")
    if not given and not family:
        raise InvalidInput(f"borrower {desk_id} needs a given name or a family name")
    where = programme.region(region)
    period = find_course(session, course)
    if where not in period.region_names:
        raise InvalidInput(
            f"course period {period.name} does not run in {where} (it runs in "
            f"{', '.join(period.region_names)}); reserve for a course period of the borrower's "
            "region"
        )
    today = local_date(now)
    if period.last_day < today:
        raise InvalidInput(
            f"course period {period.name} ended on {period.last_day.isoformat()}; reserve for "
            "one that has not ended"
        )
    existing = session.scalars(
        sa.select(Reservation).where(
            Reservation.course_id == period.id,
            Reservation.borrower == desk_id,
            Reservation.status == OPEN,
        )
    ).first()
    if existing is not None:
        raise Refused(
            f"borrower {desk_id} has an open reservation for {period.name} already "
            f"({existing.ref}); cancel it first to change it"
        )
    reservation = Reservation(
        course_id=period.id,
        borrower=desk_id,
        given_name=given,
        family_name=family,
        region=where,
        needs_data=needs_data,
        status=OPEN,
        desk=desk_of(actor),
        created_at=now,
    )
    session.add(reservation)
    session.flush()
    record(
        session,
        at=now,
        actor=actor,
        action="reservation_add",
        after={
            "reservation": reservation.ref,
            "borrower": desk_id,
            "course": period.name,
            "region": where,
            "needs_data": needs_data,
        },
    )
    return ReservationView.of(reservation, period)


def find_reservation(session: Session, ref: str, *, actor: str) -> Reservation:
    """A reservation by its id (``R-12`` or ``12``) as ``actor`` may see it."""
    match = _REF.match(ref.strip())
    if match is None:
        raise InvalidInput(f"{ref!r} is not a reservation id; reservation ids look like R-12")
    found = session.get(Reservation, int(match[1]))
    desk = desk_of(actor)
    if found is None or (desk is not None and found.desk != desk):
        raise NotFound(
            f"there is no reservation R-{int(match[1])}"
            + (f" of desk {desk}" if desk is not None else "")
            + "; see them with `fleetsync reservation list`"
        )
    return found


def cancel_reservation(
    session: Session,
    *,
    reservation: str,
    reason: str,
    actor: str,
    now: datetime | None = None,
) -> ReservationView:
    """Cancel an open reservation (the person will not come, or needs no device after all)."""
    check_actor(actor)
    now = now_or(now)
    why = clean_text(reason, "reason")
    if why is None:
        raise InvalidInput("say why the reservation is cancelled (--reason)")
    found = find_reservation(session, reservation, actor=actor)
    if found.status != OPEN:
        raise ReservationClosed(
            f"reservation {found.ref} is {found.status} already"
            + (f" (loan L-{found.loan_id})" if found.loan_id is not None else "")
            + "; only an open reservation can be cancelled"
        )
    found.status = CANCELLED
    found.closed_at = now
    found.cancel_reason = why
    # Personal data kept no longer than needed: a closed reservation keeps the desk id only.
    found.given_name = found.family_name = None
    record(
        session,
        at=now,
        actor=actor,
        action="reservation_cancel",
        before={"reservation": found.ref, "status": OPEN},
        after={"reservation": found.ref, "status": CANCELLED, "borrower": found.borrower},
        reason=why,
    )
    return ReservationView.of(found, found.course)


def fulfil_reservation(
    session: Session, *, borrower: str, course: CoursePeriod, loan: Loan, actor: str, now: datetime
) -> str | None:
    """A checkout of ``borrower`` for ``course``: their open reservation for it is fulfilled.
    Returns its id, or ``None`` when they had none."""
    found = session.scalars(
        sa.select(Reservation)
        .where(
            Reservation.course_id == course.id,
            Reservation.borrower == borrower,
            Reservation.status == OPEN,
        )
        .with_for_update()
    ).first()
    if found is None:
        return None
    found.status = FULFILLED
    found.closed_at = now
    found.loan_id = loan.id
    found.given_name = found.family_name = None  # the borrower's record has them now
    record(
        session,
        at=now,
        actor=actor,
        action="reservation_fulfil",
        loan_id=loan.id,
        before={"reservation": found.ref, "status": OPEN},
        after={"reservation": found.ref, "status": FULFILLED, "loan": loan.ref},
    )
    return found.ref


def list_reservations(
    session: Session,
    *,
    actor: str | None = None,
    course: str | None = None,
    region: str | None = None,
    status: str | None = None,
) -> list[ReservationView]:
    """Reservations (filtered), by course period, region and id; a desk sees its own."""
    stmt = sa.select(Reservation, CoursePeriod).join(CoursePeriod)
    if course is not None:
        stmt = stmt.where(Reservation.course_id == find_course(session, course).id)
    if region is not None:
        stmt = stmt.where(Reservation.region == region)
    if status is not None:
        stmt = stmt.where(Reservation.status == status)
    desk = None if actor is None else desk_of(actor)
    if desk is not None:
        stmt = stmt.where(Reservation.desk == desk)
    stmt = stmt.order_by(
        CoursePeriod.first_day, CoursePeriod.name, Reservation.region, Reservation.id
    )
    return [ReservationView.of(r, c) for r, c in session.execute(stmt)]
