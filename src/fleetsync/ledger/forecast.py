"""The forecast: for a course period, per region and connectivity, the open reservations against
the devices expected to be lendable on its first day, and the shortfall or surplus.

Expected lendable on day D in region R (the device's current region), per connectivity: devices
delivered by D (``available_from``; a device adopted from Google has none and counts) that are
spare now, in refurbishment now, or on loan with an agreed end before D. Lost, retired and ICT
devices are not lendable. A wifi reservation can be served by a 4G device: 4G devices left over
after the 4G reservations count towards wifi (never the other way round).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fleetsync.domain.lifecycle import Connectivity, DeviceState
from fleetsync.ledger.models import CoursePeriod, CoursePeriodRegion, Device, Loan, Reservation

__all__ = ["ForecastRow", "course_rows", "forecast", "shortfalls", "upcoming_courses"]


@dataclass(frozen=True, slots=True)
class ForecastRow:
    course: str
    first: date
    region: str
    connectivity: Connectivity
    #: Open reservations (``needs_data``: 4G, else wifi).
    reserved: int
    spare: int
    in_refurbishment: int
    #: On loan now, with an agreed end before the first day.
    returning: int
    #: 4G devices left over after the 4G reservations (wifi rows only).
    from_4g: int
    #: expected lendable (spare + in refurbishment + returning + from_4g) - reserved.
    balance: int

    @property
    def expected(self) -> int:
        return self.spare + self.in_refurbishment + self.returning

    @property
    def shortfall(self) -> int:
        return max(0, -self.balance)


def upcoming_courses(session: Session, *, today: date) -> list[CoursePeriod]:
    """The course periods that have not started yet (first day today or later), earliest first."""
    stmt = (
        sa.select(CoursePeriod)
        .where(CoursePeriod.first_day >= today)
        .order_by(CoursePeriod.first_day, CoursePeriod.name)
    )
    return list(session.scalars(stmt))


def forecast(session: Session, course: CoursePeriod) -> list[ForecastRow]:
    """The forecast of one course period: a row per region it runs in and connectivity."""
    day = course.first_day
    regions = [
        r
        for (r,) in session.execute(
            sa.select(CoursePeriodRegion.region)
            .where(CoursePeriodRegion.course_id == course.id)
            .order_by(CoursePeriodRegion.region)
        )
    ]
    delivered = sa.or_(Device.available_from <= day, Device.available_from.is_(None))
    counts: dict[tuple[str, Connectivity, str], int] = {}
    for region, link, state, n in session.execute(
        sa.select(Device.region, Device.connectivity, Device.state, sa.func.count())
        .where(
            Device.region.in_(regions),
            Device.state.in_([DeviceState.SPARE, DeviceState.IN_REFURBISHMENT]),
            delivered,
        )
        .group_by(Device.region, Device.connectivity, Device.state)
    ):
        counts[(region, link, state)] = int(n)
    for region, link, n in session.execute(
        sa.select(Device.region, Device.connectivity, sa.func.count())
        .join(Loan, sa.and_(Loan.device_id == Device.id, Loan.returned_at.is_(None)))
        .where(
            Device.region.in_(regions),
            Device.state == DeviceState.ON_LOAN,
            Loan.agreed_end < day,
        )
        .group_by(Device.region, Device.connectivity)
    ):
        counts[(region, link, "returning")] = int(n)
    reserved: dict[tuple[str, Connectivity], int] = {}
    for region, needs_data, n in session.execute(
        sa.select(Reservation.region, Reservation.needs_data, sa.func.count())
        .where(Reservation.course_id == course.id, Reservation.status == "open")
        .group_by(Reservation.region, Reservation.needs_data)
    ):
        key = (region, Connectivity.FOUR_G if needs_data else Connectivity.WIFI)
        reserved[key] = reserved.get(key, 0) + int(n)

    rows: list[ForecastRow] = []
    for region in regions:

        def row(link: Connectivity, extra: int = 0, *, region: str = region) -> ForecastRow:
            spare = counts.get((region, link, DeviceState.SPARE), 0)
            refurb = counts.get((region, link, DeviceState.IN_REFURBISHMENT), 0)
            back = counts.get((region, link, "returning"), 0)
            wanted = reserved.get((region, link), 0)
            return ForecastRow(
                course=course.name,
                first=day,
                region=region,
                connectivity=link,
                reserved=wanted,
                spare=spare,
                in_refurbishment=refurb,
                returning=back,
                from_4g=extra,
                balance=spare + refurb + back + extra - wanted,
            )

        four_g = row(Connectivity.FOUR_G)
        rows.append(row(Connectivity.WIFI, max(0, four_g.balance)))
        rows.append(four_g)
    return rows


def shortfalls(session: Session, *, today: date) -> list[ForecastRow]:
    """The forecast rows with a shortfall, over every course period that has not started."""
    return [
        row
        for course in upcoming_courses(session, today=today)
        for row in forecast(session, course)
        if row.shortfall
    ]


def course_rows(session: Session, courses: Sequence[CoursePeriod]) -> list[ForecastRow]:
    return [row for course in courses for row in forecast(session, course)]
