"""Programme figures, aggregated by the database: loans counted into report periods and regions,
devices counted by state, region and connectivity.

Each function is one GROUP BY query whose answer has a row per combination of region and
periods (a few thousand rows for a ledger of millions of loans): no loan row comes back to
Python. The same SQL runs on SQLite and PostgreSQL. Time zones stay out of SQL: the caller
gives the periods as local dates and the server's UTC offsets in force, with which SQL turns an
instant into the local day number people mean (see :mod:`fleetsync.reports.calendar`).

A day falls in *bucket* ``k`` when it lies in the k-th period; ``BEFORE`` (-1) is every day
earlier, the number of periods (``AFTER``) every day later.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from fleetsync.domain.lifecycle import Condition, Connectivity
from fleetsync.ledger.models import Device, Loan, LoanExtension, Repair

__all__ = [
    "BEFORE",
    "Fate",
    "LateExtensions",
    "LoanGroup",
    "Window",
    "devices_by_state",
    "devices_in_repair",
    "late_extensions",
    "loan_groups",
]

BEFORE = -1
_SECONDS_PER_DAY = 86_400
_EPOCH = date(1970, 1, 1)
#: unixepoch() is SQLite's fastest way from a stored time to seconds (3.38 and later).
_UNIXEPOCH = sqlite3.sqlite_version_info >= (3, 38)


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
    # SQLite keeps UTC times as text; both functions parse it and floor to the second.
    column = compiler.process(element.clauses, **kw)
    if _UNIXEPOCH:
        return f"unixepoch({column})"
    return f"CAST(strftime('%s', {column}) AS INTEGER)"


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

    @property
    def days(self) -> tuple[int, ...]:
        return tuple((d - _EPOCH).days for d in self.dates)


class Fate:
    """How a loan stands now: the ``fate`` of a :class:`LoanGroup`."""

    OPEN = 0
    RETURNED = 1
    LOST = 2


@dataclass(frozen=True, slots=True)
class LoanGroup:
    """Loans alike in every way the loan report counts them."""

    region: str
    four_g: bool
    fate: int
    #: The bucket of the checkout date (``BEFORE``: checked out before the window).
    out: int
    #: The bucket of the return date (meaningless while the loan is open).
    end: int
    #: The bucket of the first day after the latest agreed end date.
    due: int
    loans: int
    #: For loans checked out in the window: the sum of (latest agreed end - checkout date), and
    #: for the returned ones (not lost) the sum of (return date - checkout date), in days.
    agreed_days: int
    actual_days: int


@dataclass(frozen=True, slots=True)
class LateExtensions:
    """Extensions agreed after the loan was already overdue: the loans were overdue from the
    first day after the earlier agreed end (bucket ``start``) to the day before the extension
    (bucket ``stop``: the day of the extension)."""

    region: str
    start: int
    stop: int
    extensions: int


def _bucket(day: Any, bounds: Sequence[int]) -> sa.ColumnElement[int]:
    """The bucket of a local day number: a balanced tree of comparisons, so each row makes four
    or five of them whatever the number of periods (SQLite evaluates every one, row by row)."""

    def between(lo: int, hi: int) -> Any:  # day is known to lie in bounds[lo] .. bounds[hi]
        if hi - lo == 1:
            return sa.literal(lo)
        mid = (lo + hi) // 2
        return sa.case((day < bounds[mid], between(lo, mid)), else_=between(mid, hi))

    last = len(bounds) - 1
    return sa.case(
        (day < bounds[0], sa.literal(BEFORE)),
        (day >= bounds[last], sa.literal(last)),
        else_=between(0, last),
    )


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


def _fenced(stmt: sa.Select[*tuple[Any, ...]]) -> sa.Subquery:
    # OFFSET 0 keeps both databases from merging the subquery into the one around it, which
    # would compute each of its expressions again wherever the outer query names it.
    return stmt.offset(0).subquery()


def _rows(session: Session, stmt: sa.Select[*tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in session.execute(stmt)]


def loan_groups(session: Session, window: Window) -> list[LoanGroup]:
    """Every loan that touches the window (checked out before its end and not returned before
    its start), counted by region, connectivity, fate and the buckets of its checkout, return
    and first overdue day."""
    returned = Loan.returned_at
    days = window.days
    dated = _fenced(
        sa.select(
            Loan.region.label("region"),
            sa.case((Loan.connectivity == Connectivity.FOUR_G, 1), else_=0).label("four_g"),
            sa.case(
                (returned.is_(None), Fate.OPEN),
                (Loan.return_condition == Condition.LOST, Fate.LOST),
                else_=Fate.RETURNED,
            ).label("fate"),
            _local_day(Loan.checked_out_at, window).label("out_day"),
            _local_day(returned, window).label("end_day"),
            _DayNumber(Loan.agreed_end).label("agreed_end"),
        ).where(
            Loan.checked_out_at < window.starts[-1],
            sa.or_(returned.is_(None), returned >= window.starts[0]),
            _in_region(window),
        )
    )
    in_window = dated.c.out_day >= days[0]
    # The group's buckets and flags packed into one integer: SQLite groups by sorting every row,
    # and sorting on (region, one integer) takes half the time six columns take.
    size = len(days) + 1  # bucket values: BEFORE .. AFTER
    packed = (
        (
            ((_bucket(dated.c.out_day, days) + 1) * size + _bucket(dated.c.end_day, days) + 1)
            * size
            + _bucket(dated.c.agreed_end + 1, days)
            + 1
        )
        * 6
        + dated.c.fate * 2
        + dated.c.four_g
    )
    bucketed = _fenced(
        sa.select(
            dated.c.region,
            packed.label("packed"),
            sa.case((in_window, dated.c.agreed_end - dated.c.out_day)).label("agreed"),
            sa.case(
                (
                    sa.and_(in_window, dated.c.fate == Fate.RETURNED),
                    dated.c.end_day - dated.c.out_day,
                )
            ).label("actual"),
        )
    )
    keys = [bucketed.c.region, bucketed.c.packed]
    stmt = sa.select(
        *keys,
        sa.func.count(),
        sa.func.coalesce(sa.func.sum(bucketed.c.agreed), 0),
        sa.func.coalesce(sa.func.sum(bucketed.c.actual), 0),
    ).group_by(*keys)
    groups = []
    for region, key, loans, agreed, actual in _rows(session, stmt):
        buckets, flags = divmod(int(key), 6)
        rest, due = divmod(buckets, size)
        out, end = divmod(rest, size)
        groups.append(
            LoanGroup(
                region=region,
                four_g=bool(flags % 2),
                fate=flags // 2,
                out=out - 1,
                end=end - 1,
                due=due - 1,
                loans=int(loans),
                agreed_days=int(agreed),
                actual_days=int(actual),
            )
        )
    return groups


def late_extensions(session: Session, window: Window) -> list[LateExtensions]:
    """Extensions agreed in or after the window, by region and the buckets of the day after the
    agreed end they replaced and of the day they were agreed. (One agreed earlier ended its
    loan's overdue stretch before the window: it changes no figure in it.)"""
    days = window.days
    # The loan's region looked up by its key, one extension at a time: few extensions are late,
    # and a join would read every loan (PostgreSQL hashes the whole table for it).
    region = sa.select(Loan.region).where(Loan.id == LoanExtension.loan_id).scalar_subquery()
    extended = LoanExtension.extended_at
    dated = _fenced(
        sa.select(
            region.label("region"),
            (_DayNumber(LoanExtension.previous_end) + 1).label("overdue_day"),
            _local_day(extended, window).label("agreed_day"),
        ).where(
            extended >= window.starts[0],
            # Only those agreed after the earlier end had passed: the rest changed no figure.
            _local_day(extended, window) >= _DayNumber(LoanExtension.previous_end) + 2,
            sa.true() if window.region is None else region == window.region,
        )
    )
    bucketed = _fenced(
        sa.select(
            dated.c.region,
            _bucket(dated.c.overdue_day, days).label("start"),
            _bucket(dated.c.agreed_day, days).label("stop"),
        )
    )
    keys = [bucketed.c.region, bucketed.c.start, bucketed.c.stop]
    stmt = sa.select(*keys, sa.func.count()).group_by(*keys)
    return [
        LateExtensions(region, int(start), int(stop), int(n))
        for region, start, stop, n in _rows(session, stmt)
    ]


def devices_by_state(session: Session) -> dict[tuple[str, str, str], int]:
    """Devices now, by (state, region, connectivity)."""
    stmt = sa.select(Device.state, Device.region, Device.connectivity, sa.func.count()).group_by(
        Device.state, Device.region, Device.connectivity
    )
    return {
        (state, region, connectivity): int(count)
        for state, region, connectivity, count in session.execute(stmt)
    }


def devices_in_repair(session: Session) -> dict[tuple[str, str], int]:
    """Devices with an open repair now, by (region, connectivity)."""
    stmt = (
        sa.select(Device.region, Device.connectivity, sa.func.count(sa.distinct(Device.id)))
        .join(Repair, Repair.device_id == Device.id)
        .where(Repair.closed_at.is_(None))
        .group_by(Device.region, Device.connectivity)
    )
    return {(region, link): int(count) for region, link, count in session.execute(stmt)}
