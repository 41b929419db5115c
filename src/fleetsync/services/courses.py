"""Course periods: the calendar a programme lends by.

A course period has a name (``2026 Sept-Oct``), a first and a last day, and the regions it runs
in (all of the programme's when none are named). A region's course periods never overlap, so a
day of a region lies in at most one of them: a checkout that names no course belongs to the one
that contains its day. Its last day plus ``[loans] grace_days`` is the agreed end of a checkout
that gives none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from fleetsync.domain.errors import CoursesOverlap, InvalidInput, UnknownCourse
from fleetsync.ledger.audit import record
from fleetsync.ledger.models import CoursePeriod, CoursePeriodRegion, Loan, Reservation
from fleetsync.services._effects import check_actor, now_or
from fleetsync.services.programme import Programme

__all__ = [
    "Course",
    "CourseChange",
    "CourseCounts",
    "add_course",
    "change_end_date",
    "course_containing",
    "course_counts",
    "course_for_checkout",
    "find_course",
    "list_courses",
]

_MAX_NAME = 100


@dataclass(frozen=True, slots=True)
class Course:
    """A course period as people see it."""

    name: str
    first: date
    last: date
    regions: tuple[str, ...]

    @classmethod
    def of(cls, course: CoursePeriod) -> Course:
        return cls(course.name, course.first_day, course.last_day, course.region_names)

    @property
    def days(self) -> int:
        """Its length in days, both ends included."""
        return (self.last - self.first).days + 1


@dataclass(frozen=True, slots=True)
class CourseChange:
    name: str
    previous_last: date
    last: date


def _name(value: str) -> str:
    name = " ".join(value.split())
    if not name:
        raise InvalidInput("a course period needs a name, e.g. '2026 Sept-Oct'")
    if len(name) > _MAX_NAME or any(not c.isprintable() for c in name):
        raise InvalidInput(
            f"the course period's name must be at most {_MAX_NAME} printable characters"
        )
    return name


def _all(session: Session) -> list[CoursePeriod]:
    stmt = (
        sa.select(CoursePeriod)
        .options(selectinload(CoursePeriod.regions))
        .order_by(CoursePeriod.first_day, CoursePeriod.name)
    )
    return list(session.scalars(stmt))


def _known(courses: Sequence[CoursePeriod]) -> str:
    if not courses:
        return "there are none yet: add one with `fleetsync course add`"
    return "the course periods are " + ", ".join(repr(c.name) for c in courses)


def find_course(session: Session, name: str) -> CoursePeriod:
    """The course period of this name (any case); :class:`UnknownCourse` listing the known ones."""
    wanted = " ".join(name.split()).casefold()
    courses = _all(session)
    for course in courses:
        if course.name.casefold() == wanted:
            return course
    raise UnknownCourse(f"there is no course period {name.strip()!r}; {_known(courses)}")


def _check_overlap(
    courses: Sequence[CoursePeriod], *, name: str, first: date, last: date, regions: Sequence[str]
) -> None:
    clashes = [
        f"{c.name} ({c.first_day.isoformat()} to {c.last_day.isoformat()}) in "
        + ", ".join(r for r in c.region_names if r in regions)
        for c in courses
        if c.name != name
        and c.first_day <= last
        and first <= c.last_day
        and set(c.region_names) & set(regions)
    ]
    if clashes:
        raise CoursesOverlap(
            f"course period {name} ({first.isoformat()} to {last.isoformat()}) overlaps "
            + "; ".join(clashes)
            + ": a region's course periods do not overlap; choose other dates or regions"
        )


def add_course(
    session: Session,
    *,
    name: str,
    first: date,
    last: date,
    programme: Programme,
    actor: str,
    regions: Sequence[str] = (),
    now: datetime | None = None,
) -> Course:
    """Add a course period in ``regions`` (none: all the programme's regions)."""
    check_actor(actor)
    now = now_or(now)
    name = _name(name)
    if last < first:
        raise InvalidInput(
            f"course period {name} ends ({last.isoformat()}) before it starts "
            f"({first.isoformat()}); give --to on or after --from"
        )
    chosen = tuple(dict.fromkeys(programme.region(r) for r in regions)) or programme.regions
    courses = _all(session)
    same = [c.name for c in courses if c.name.casefold() == name.casefold()]
    if same:
        raise InvalidInput(
            f"there is a course period {same[0]!r} already; give the new one another name"
        )
    _check_overlap(courses, name=name, first=first, last=last, regions=chosen)
    course = CoursePeriod(
        name=name,
        first_day=first,
        last_day=last,
        created_at=now,
        regions=[CoursePeriodRegion(region=r) for r in sorted(chosen)],
    )
    session.add(course)
    session.flush()
    record(
        session,
        at=now,
        actor=actor,
        action="course_add",
        after={
            "course": name,
            "from": first.isoformat(),
            "to": last.isoformat(),
            "regions": sorted(chosen),
        },
    )
    return Course.of(course)


def list_courses(session: Session, *, region: str | None = None) -> list[Course]:
    """Every course period, earliest first (only ``region``'s when given)."""
    return [Course.of(c) for c in _all(session) if region is None or region in c.region_names]


def change_end_date(
    session: Session,
    *,
    name: str,
    last: date,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> CourseChange:
    """Move a course period's last day (still not before its first, nor into another course
    period of its regions). Loans already agreed keep their agreed end."""
    check_actor(actor)
    now = now_or(now)
    course = find_course(session, name)
    if last < course.first_day:
        raise InvalidInput(
            f"course period {course.name} starts on {course.first_day.isoformat()}; its last "
            f"day cannot be {last.isoformat()}"
        )
    _check_overlap(
        _all(session),
        name=course.name,
        first=course.first_day,
        last=last,
        regions=course.region_names,
    )
    previous = course.last_day
    course.last_day = last
    record(
        session,
        at=now,
        actor=actor,
        action="course_end_date",
        before={"course": course.name, "to": previous.isoformat()},
        after={"course": course.name, "to": last.isoformat()},
        reason=reason,
    )
    return CourseChange(course.name, previous, last)


def course_containing(session: Session, *, region: str, day: date) -> CoursePeriod | None:
    """The course period of ``region`` that contains ``day`` (at most one: they do not overlap)."""
    stmt = (
        sa.select(CoursePeriod)
        .join(CoursePeriodRegion)
        .where(
            CoursePeriodRegion.region == region,
            CoursePeriod.first_day <= day,
            CoursePeriod.last_day >= day,
        )
    )
    return session.scalars(stmt).first()


def course_for_checkout(
    session: Session, name: str | None, *, region: str, day: date
) -> CoursePeriod | None:
    """The course period a checkout in ``region`` on ``day`` belongs to: the one it names (which
    must run in the region), or the region's one containing the day, or none."""
    if name is None or not name.strip():
        return course_containing(session, region=region, day=day)
    course = find_course(session, name)
    if region not in course.region_names:
        raise InvalidInput(
            f"course period {course.name} does not run in {region} (it runs in "
            f"{', '.join(course.region_names)}); name a course period of the borrower's region"
        )
    return course


def default_end(
    course: CoursePeriod | None, programme: Programme, *, region: str, day: date
) -> date:
    """The agreed end of a checkout that gives none: the course's last day plus the grace."""
    if course is None:
        raise InvalidInput(
            f"give the loan's agreed end (--until, or agreed_end): no course period of {region} "
            f"contains {day.isoformat()} and none was named"
        )
    return course.last_day + timedelta(days=programme.loans.grace_days)


@dataclass(frozen=True, slots=True)
class CourseCounts:
    loans: int
    open_loans: int
    open_reservations: int
    fulfilled_reservations: int
    cancelled_reservations: int


def course_counts(session: Session, name: str) -> CourseCounts:
    """How many loans and reservations a course period has."""
    course = find_course(session, name)
    loans = session.execute(
        sa.select(
            sa.func.count(),
            sa.func.count(sa.case((Loan.returned_at.is_(None), 1))),
        ).where(Loan.course_period == course.name)
    ).one()
    statuses = dict(
        session.execute(
            sa.select(Reservation.status, sa.func.count())
            .where(Reservation.course_id == course.id)
            .group_by(Reservation.status)
        ).all()
    )
    return CourseCounts(
        loans=int(loans[0]),
        open_loans=int(loans[1]),
        open_reservations=int(statuses.get("open", 0)),
        fulfilled_reservations=int(statuses.get("fulfilled", 0)),
        cancelled_reservations=int(statuses.get("cancelled", 0)),
    )
