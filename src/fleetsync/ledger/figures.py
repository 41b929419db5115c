"""Programme figures, aggregated by the database: loans counted into report periods and regions,
devices counted by state, region and connectivity.

Every function here is a few GROUP BY queries whose answer has one row per period and region (a
few hundred rows for a ledger of millions of loans); no loan row ever comes back to Python. The
same SQL runs on SQLite and PostgreSQL. Time zones stay out of SQL: the caller gives the period
boundaries as UTC instants and as local dates, and the UTC offsets in force, with which SQL turns
an instant into a local day number (see :mod:`fleetsync.reports.calendar`).

A loan falls in *bucket* ``k`` when the instant or date looked at lies in the k-th period;
``BEFORE`` (-1) is everything earlier, ``AFTER`` (the number of periods) everything later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from fleetsync.domain.lifecycle import Condition, Connectivity
from fleetsync.ledger.models import Device, Loan, LoanExtension

__all__ = [
    "BEFORE",
    "Cohort",
    "Lent",
    "Window",
    "cohorts",
    "devices_by_state",
    "devices_lent",
    "endings",
    "open_at_start",
    "overdue_changes",
]

BEFORE = -1
_SECONDS_PER_DAY = 86_400


class _EpochSeconds(FunctionElement[int]):
    """Whole seconds since 1970-01-01T00:00Z of a ``UtcDateTime`` column."""

    type = sa.BigInteger()
    inherit_cache = True


class _DayNumber(FunctionElement[int]):
    """Days since 1970-01-01 of a ``DATE`` column."""

    type = sa.Integer()
    inherit_cache = True


@compiles(_EpochSeconds, "sqlite")
def _epoch_sqlite(element: _EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps UTC times as text; strftime('%s') parses them and floors to the second.
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(_EpochSeconds, "postgresql")
def _epoch_postgresql(element: _EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(floor(extract(epoch FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


@compiles(_DayNumber, "sqlite")
def _day_sqlite(element: _DayNumber, compiler: SQLCompiler, **kw: Any) -> str:
    # julianday() of a date is exact (midnight is x.5): the difference is a whole number.
    return f"CAST(julianday({compiler.process(element.clauses, **kw)}) - 2440587.5 AS INTEGER)"


@compiles(_DayNumber, "postgresql")
def _day_postgresql(element: _DayNumber, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)} - DATE '1970-01-01')"


@dataclass(frozen=True, slots=True)
class Window:
    """The report's periods as the database sees them.

    ``dates``: each period's first local date, then the day after the last period;
    ``starts``: the UTC instants at which those local dates begin; ``offsets``: the server's UTC
    offsets, ``(since, seconds)``, in force from before ``starts[0]`` until now; ``region``: only
    loans made in this region.
    """

    dates: tuple[date, ...]
    starts: tuple[datetime, ...]
    offsets: tuple[tuple[datetime, int], ...]
    region: str | None = None

    def __post_init__(self) -> None:
        if len(self.dates) != len(self.starts) or len(self.starts) < 2:
            raise ValueError("a window needs one start per period and the end of the last one")
        if not self.offsets:
            raise ValueError("a window needs the UTC offset in force")


@dataclass(frozen=True, slots=True)
class Cohort:
    """The loans checked out in one period and region."""

    started: int
    #: Sum over them of (latest agreed end - checkout date), in days.
    agreed_days: int
    #: How many of them came back (lost ones did not), and the sum of their (return - checkout).
    returned: int
    actual_days: int


@dataclass(frozen=True, slots=True)
class Lent:
    """Distinct devices among loans checked out: all of them, and by connectivity at checkout."""

    devices: int
    wifi: int
    four_g: int


Key = tuple[int, str]


def _bucket_instant(column: Any, window: Window) -> sa.ColumnElement[int]:
    whens = [(column < start, k - 1) for k, start in enumerate(window.starts)]
    return sa.case(*whens, else_=len(window.starts) - 1)


def _bucket_day_after(column: Any, window: Window) -> sa.ColumnElement[int]:
    """The bucket of the day after the date in ``column``."""
    whens = [(column < first - timedelta(days=1), k - 1) for k, first in enumerate(window.dates)]
    return sa.case(*whens, else_=len(window.dates) - 1)


def _local_day(column: Any, window: Window) -> sa.ColumnElement[int]:
    """The local day number of the instant in ``column``, as ``services.local_date`` sees it."""
    pieces = window.offsets
    offset: sa.ColumnElement[int] = (
        sa.case(
            *[(column < since, pieces[i][1]) for i, (since, _) in enumerate(pieces[1:])],
            else_=pieces[-1][1],
        )
        if len(pieces) > 1
        else sa.literal(pieces[0][1], sa.Integer())
    )
    return (_EpochSeconds(column) + offset) // _SECONDS_PER_DAY


def _in_region(window: Window) -> sa.ColumnElement[bool]:
    return sa.true() if window.region is None else Loan.region == window.region


def _checked_out_in(window: Window) -> sa.ColumnElement[bool]:
    co = Loan.checked_out_at
    return sa.and_(co >= window.starts[0], co < window.starts[-1], _in_region(window))


def cohorts(session: Session, window: Window) -> dict[Key, Cohort]:
    """Loans checked out in each period and region, with the sums behind their averages."""
    start_day = _local_day(Loan.checked_out_at, window)
    came_back = sa.and_(
        Loan.returned_at.is_not(None), Loan.return_condition != Condition.LOST.value
    )
    # Bucket in a subquery and group outside: PostgreSQL cannot tell that a GROUP BY expression
    # with bound parameters is the one selected.
    inner = (
        sa.select(
            _bucket_instant(Loan.checked_out_at, window).label("k"),
            Loan.region.label("region"),
            (_DayNumber(Loan.agreed_end) - start_day).label("agreed"),
            sa.case((came_back, 1), else_=0).label("back"),
            sa.case((came_back, _local_day(Loan.returned_at, window) - start_day)).label("actual"),
        )
        .where(_checked_out_in(window))
        .subquery()
    )
    stmt = sa.select(
        inner.c.k,
        inner.c.region,
        sa.func.count(),
        sa.func.coalesce(sa.func.sum(inner.c.agreed), 0),
        sa.func.coalesce(sa.func.sum(inner.c.back), 0),
        sa.func.coalesce(sa.func.sum(inner.c.actual), 0),
    ).group_by(inner.c.k, inner.c.region)
    return {
        (int(k), region): Cohort(int(started), int(agreed), int(back), int(actual))
        for k, region, started, agreed, back, actual in session.execute(stmt)
    }


def devices_lent(
    session: Session, window: Window, *, by_period: bool, by_region: bool
) -> dict[tuple[int | None, str | None], Lent]:
    """Distinct devices among the loans checked out, per period and/or region (``None``: all
    of them together). Not additive: a device lent twice counts once in each group it is in."""
    inner = (
        sa.select(
            _bucket_instant(Loan.checked_out_at, window).label("k"),
            Loan.region.label("region"),
            Loan.device_id.label("device_id"),
            Loan.connectivity.label("connectivity"),
        )
        .where(_checked_out_in(window))
        .subquery()
    )
    keys = [c for c, wanted in ((inner.c.k, by_period), (inner.c.region, by_region)) if wanted]

    def distinct_with(connectivity: Connectivity) -> Any:
        device = sa.case((inner.c.connectivity == connectivity.value, inner.c.device_id))
        return sa.func.count(sa.distinct(device))

    stmt = sa.select(
        *keys,
        sa.func.count(sa.distinct(inner.c.device_id)),
        distinct_with(Connectivity.WIFI),
        distinct_with(Connectivity.FOUR_G),
    ).group_by(*keys)
    found = {}
    for row in session.execute(stmt):
        values = list(row)
        k = int(values.pop(0)) if by_period else None
        region = values.pop(0) if by_region else None
        found[(k, region)] = Lent(*(int(v) for v in values))
    return found


def endings(session: Session, window: Window) -> dict[Key, tuple[int, int]]:
    """Loans that ended in each period (by the region they were made in): (ended, of them lost)."""
    ended = Loan.returned_at
    inner = (
        sa.select(
            _bucket_instant(ended, window).label("k"),
            Loan.region.label("region"),
            sa.case((Loan.return_condition == Condition.LOST.value, 1), else_=0).label("lost"),
        )
        .where(ended >= window.starts[0], ended < window.starts[-1], _in_region(window))
        .subquery()
    )
    stmt = sa.select(
        inner.c.k, inner.c.region, sa.func.count(), sa.func.sum(inner.c.lost)
    ).group_by(inner.c.k, inner.c.region)
    return {
        (int(k), region): (int(count), int(lost))
        for k, region, count, lost in session.execute(stmt)
    }


def open_at_start(session: Session, window: Window) -> dict[str, int]:
    """Loans open when the first period begins, per region."""
    start = window.starts[0]
    stmt = (
        sa.select(Loan.region, sa.func.count())
        .where(
            Loan.checked_out_at < start,
            sa.or_(Loan.returned_at.is_(None), Loan.returned_at >= start),
            _in_region(window),
        )
        .group_by(Loan.region)
    )
    return {region: int(count) for region, count in session.execute(stmt)}


def overdue_changes(session: Session, window: Window) -> dict[Key, int]:
    """How the number of overdue loans changes in each period (``BEFORE``: all earlier changes,
    so the running sum is the number overdue at the end of each period).

    Overdue at the end of local day ``d``: not yet returned by the end of ``d``, and the agreed
    end *then in force* was before ``d``. A loan is overdue from the day after its agreed end
    until the day it is returned, except from the day after an earlier agreed end until the day
    of the extension that replaced it — an extension agreed late leaves the earlier figures as
    they were. Each overdue stretch counts +1 where it starts and -1 where it stops.
    """
    changes: dict[Key, int] = {}

    def add(stmt: sa.Select[int, str], sign: int) -> None:
        inner = stmt.subquery()
        grouped = sa.select(inner.c.k, inner.c.region, sa.func.count()).group_by(
            inner.c.k, inner.c.region
        )
        for k, region, count in session.execute(grouped):
            key = (int(k), region)
            changes[key] = changes.get(key, 0) + sign * int(count)

    returned = Loan.returned_at
    region = Loan.region.label("region")
    # Under the latest agreed end: from the day after it to the day of the return. A loan
    # returned before the window starts contributes nothing inside it: left out.
    overdue_at_all = sa.and_(
        Loan.agreed_end < window.dates[-1] - timedelta(days=1),
        sa.or_(
            returned.is_(None),
            sa.and_(
                returned >= window.starts[0],
                _local_day(returned, window) >= _DayNumber(Loan.agreed_end) + 2,
            ),
        ),
        _in_region(window),
    )
    starts = sa.select(_bucket_day_after(Loan.agreed_end, window).label("k"), region)
    add(starts.where(overdue_at_all), +1)
    stops = sa.select(_bucket_instant(returned, window).label("k"), region)
    add(stops.where(overdue_at_all, returned.is_not(None), returned < window.starts[-1]), -1)

    # Under an earlier agreed end: from the day after it to the day it was extended.
    extended = LoanExtension.extended_at
    extended_late = sa.and_(
        extended >= window.starts[0],
        _local_day(extended, window) >= _DayNumber(LoanExtension.previous_end) + 2,
        _in_region(window),
    )
    for k, sign in (
        (_bucket_day_after(LoanExtension.previous_end, window), +1),
        (_bucket_instant(extended, window), -1),
    ):
        stmt = (
            sa.select(k.label("k"), region)
            .select_from(LoanExtension)
            .join(Loan, Loan.id == LoanExtension.loan_id)
            .where(extended_late)
        )
        add(stmt, sign)
    return changes


def devices_by_state(session: Session) -> dict[tuple[str, str, str], int]:
    """Devices now, by (state, region, connectivity)."""
    stmt = sa.select(Device.state, Device.region, Device.connectivity, sa.func.count()).group_by(
        Device.state, Device.region, Device.connectivity
    )
    return {
        (state, region, connectivity): int(count)
        for state, region, connectivity, count in session.execute(stmt)
    }
