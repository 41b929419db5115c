"""The course report's figures, aggregated by the database: loans per region, course period and
connectivity (with their agreed days), devices per region, connectivity, delivery day and the
day they left the programme, and open reservations per region and course period.

Each is one GROUP BY query returning a few hundred rows at most, whatever the size of the ledger.
Local dates as in :mod:`fleetsync.ledger.figures`: the caller gives the server's UTC offsets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fleetsync.domain.lifecycle import Condition, Connectivity, DeviceState
from fleetsync.ledger.figures import Window, _DayNumber, _local_day, _rows
from fleetsync.ledger.models import CoursePeriod, Device, Loan, Reservation

__all__ = [
    "CourseLoanSums",
    "DeviceGroup",
    "LoanSums",
    "course_loan_sums",
    "device_groups",
    "loan_sums",
    "open_reservations",
]

#: A device in one of these states left the programme on the day it entered it (as far as the
#: ledger knows: it keeps the current state and since when).
_GONE = (DeviceState.LOST, DeviceState.RETIRED, DeviceState.ICT_TEST)


@dataclass(frozen=True, slots=True)
class LoanSums:
    region: str
    #: ``None``: loans for no course period.
    course: str | None
    four_g: bool
    loans: int
    agreed_days: int


@dataclass(frozen=True, slots=True)
class DeviceGroup:
    region: str
    four_g: bool
    #: Local day number of the delivery (``available_from``; else the day it entered the ledger).
    delivered: int
    #: Local day number from which it is no longer available (lost, retired, ICT), or ``None``.
    gone: int | None
    devices: int


def _window(offsets: Sequence[tuple[datetime, int]]) -> Window:
    # Only the offsets matter to _local_day; the periods are not used.
    since = offsets[0][0]
    return Window(dates=(since.date(), since.date()), starts=(since, since), offsets=tuple(offsets))


def loan_sums(
    session: Session,
    offsets: Sequence[tuple[datetime, int]],
    *,
    region: str | None = None,
    days: tuple[int, int] | None = None,
) -> list[LoanSums]:
    """Every loan, grouped by the region it was made in, its course period and connectivity.
    ``days`` (local day numbers, both included): loans for no course period only when checked
    out within them (a course period's loans all count, whenever they were lent)."""
    window = _window(offsets)
    out_day = _local_day(Loan.checked_out_at, window)
    # One pass, no subquery to materialise: group by the stored columns themselves.
    keys = [Loan.region, Loan.course_period, Loan.connectivity]
    within = (
        sa.true()
        if days is None
        else sa.or_(Loan.course_period.is_not(None), out_day.between(days[0], days[1]))
    )
    stmt = (
        sa.select(
            *keys,
            sa.func.count(),
            sa.func.sum(_DayNumber(Loan.agreed_end) - out_day),
        )
        .where(within, sa.true() if region is None else Loan.region == region)
        .group_by(*keys)
    )
    return [
        LoanSums(r, c, g == Connectivity.FOUR_G, int(n), int(a or 0))
        for r, c, g, n, a in _rows(session, stmt)
    ]


def device_groups(
    session: Session, offsets: Sequence[tuple[datetime, int]], *, region: str | None = None
) -> list[DeviceGroup]:
    """Every device, grouped by region, connectivity, delivery day and the day it left."""
    window = _window(offsets)
    delivered = sa.func.coalesce(
        _DayNumber(Device.available_from), _local_day(Device.created_at, window)
    )
    gone = sa.case((Device.state.in_(_GONE), _local_day(Device.state_since, window)))
    dated = (
        sa.select(
            Device.region.label("region"),
            sa.case((Device.connectivity == Connectivity.FOUR_G, 1), else_=0).label("four_g"),
            delivered.label("delivered"),
            gone.label("gone"),
        )
        .where(sa.true() if region is None else Device.region == region)
        .offset(0)
        .subquery()
    )
    keys = [dated.c.region, dated.c.four_g, dated.c.delivered, dated.c.gone]
    stmt = sa.select(*keys, sa.func.count()).group_by(*keys)
    return [
        DeviceGroup(r, bool(g), int(d), None if x is None else int(x), int(n))
        for r, g, d, x, n in _rows(session, stmt)
    ]


def open_reservations(session: Session) -> dict[tuple[str, str, bool], int]:
    """Open reservations by (region, course period's name, needs data)."""
    stmt = (
        sa.select(Reservation.region, CoursePeriod.name, Reservation.needs_data, sa.func.count())
        .join(CoursePeriod)
        .where(Reservation.status == "open")
        .group_by(Reservation.region, CoursePeriod.name, Reservation.needs_data)
    )
    return {(r, c, bool(d)): int(n) for r, c, d, n in session.execute(stmt)}


@dataclass(frozen=True, slots=True)
class CourseLoanSums:
    """Loans of one course period, region, connectivity and fate (open / returned / lost)."""

    region: str
    course: str
    four_g: bool
    #: ``open``, ``returned`` or ``lost``.
    fate: str
    loans: int
    agreed_days: int
    #: Returned loans: the sum of their days from checkout to return.
    actual_days: int
    #: Open loans past their agreed end on ``today``.
    overdue: int


def course_loan_sums(
    session: Session,
    offsets: Sequence[tuple[datetime, int]],
    *,
    courses: Sequence[str],
    today_number: int,
    region: str | None = None,
) -> list[CourseLoanSums]:
    """The loans of ``courses`` (names), grouped for ``report loans --by course``."""
    if not courses:
        return []
    window = _window(offsets)
    out_day = _local_day(Loan.checked_out_at, window)
    back_day = _local_day(Loan.returned_at, window)
    end = _DayNumber(Loan.agreed_end)
    fate = sa.case(
        (Loan.returned_at.is_(None), "open"),
        (Loan.return_condition == Condition.LOST, "lost"),
        else_="returned",
    )
    dated = (
        sa.select(
            Loan.region.label("region"),
            Loan.course_period.label("course"),
            sa.case((Loan.connectivity == Connectivity.FOUR_G, 1), else_=0).label("four_g"),
            fate.label("fate"),
            (end - out_day).label("agreed"),
            sa.case((fate == "returned", back_day - out_day), else_=0).label("actual"),
            sa.case((sa.and_(Loan.returned_at.is_(None), end < today_number), 1), else_=0).label(
                "overdue"
            ),
        )
        .where(
            Loan.course_period.in_(courses),
            sa.true() if region is None else Loan.region == region,
        )
        .offset(0)
        .subquery()
    )
    keys = [dated.c.region, dated.c.course, dated.c.four_g, dated.c.fate]
    stmt = sa.select(
        *keys,
        sa.func.count(),
        sa.func.sum(dated.c.agreed),
        sa.func.sum(dated.c.actual),
        sa.func.sum(dated.c.overdue),
    ).group_by(*keys)
    return [
        CourseLoanSums(r, c, bool(g), str(f), int(n), int(a or 0), int(x or 0), int(o or 0))
        for r, c, g, f, n, a, x, o in _rows(session, stmt)
    ]
