"""The loan report: what went out, what came back, what is still out and overdue, per month and
region. The database aggregates (:mod:`fleetsync.ledger.figures`); this module turns its sums
into the report's figures and totals. The exact meaning of each figure is in ``docs/reports.md``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from sqlalchemy.orm import Session

from fleetsync.domain.errors import InvalidInput
from fleetsync.ledger import figures
from fleetsync.ledger.figures import BEFORE, Fate, Window
from fleetsync.reports.calendar import Period, local_midnight, months, utc_offsets, whole

__all__ = [
    "ALL",
    "Grouping",
    "LoanFigures",
    "LoanReport",
    "LoanRow",
    "average",
    "loan_report",
]

#: How a total row is labelled in place of a month or a region.
ALL = "all"


class Grouping(StrEnum):
    MONTH = "month"
    REGION = "region"
    MONTH_REGION = "month,region"

    @classmethod
    def parse(cls, text: str) -> Grouping:
        """``month``, ``region``, ``month,region`` (either order, any case, spaces allowed)."""
        parts = {p.strip().lower() for p in text.split(",")}
        for grouping in cls:
            if parts == set(grouping.value.split(",")):
                return grouping
        raise InvalidInput(f"--by {text!r} is not a grouping; use month, region or month,region")

    @property
    def by_month(self) -> bool:
        return self is not Grouping.REGION

    @property
    def by_region(self) -> bool:
        return self is not Grouping.MONTH


def average(total: int, count: int) -> Decimal | None:
    """``total / count`` to one decimal (half up), or ``None`` when there is nothing to average."""
    if count == 0:
        return None
    return (Decimal(total) / Decimal(count)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class LoanFigures:
    """The figures of one group (a period and a region, either of which may be all of them)."""

    #: Devices lent: the loans checked out in the group (one device each; a device lent twice
    #: counts twice), and of them wifi and 4G devices (their connectivity at checkout).
    devices_lent: int
    devices_wifi: int
    devices_4g: int
    #: Loans that ended in the group (returned or lost), and of them lost.
    loans_ended: int
    loans_lost: int
    #: Of the loans started: mean days from checkout date to latest agreed end date.
    avg_agreed_days: Decimal | None
    #: Of the loans started: how many came back so far, and their mean days out.
    loans_returned: int
    avg_actual_days: Decimal | None
    #: Loans open, and of them overdue, at the end of the group's last day.
    open_at_end: int
    overdue_at_end: int


@dataclass(frozen=True, slots=True)
class LoanRow:
    #: ``None``: the total over all periods.
    period: Period | None
    #: ``None``: the total over all regions.
    region: str | None
    figures: LoanFigures


@dataclass(frozen=True, slots=True)
class LoanReport:
    title: str
    first: date
    last: date
    grouping: Grouping
    #: Only loans made in this region (``--region``).
    region: str | None
    regions: tuple[str, ...]
    periods: tuple[Period, ...]
    rows: tuple[LoanRow, ...]
    generated_at: datetime
    #: The server's time zone, whose dates the report counts in: ``CET/CEST``, ``UTC``.
    time_zone: str
    #: The language of the labels a person reads (table, HTML): ``en`` or ``nl``.
    lang: str = "en"

    def find(self, period: str | None, region: str | None) -> LoanFigures:
        """The figures of one row by month label and region (``None``: the total)."""
        for row in self.rows:
            label = None if row.period is None else row.period.label
            if label == period and row.region == region:
                return row.figures
        raise KeyError((period, region))

    def region_label(self, region: str | None) -> str:
        return region if region is not None else (self.region or ALL)


@dataclass
class _Sums:
    wifi: int = 0
    four_g: int = 0
    agreed_days: int = 0
    returned: int = 0
    actual_days: int = 0
    ended: int = 0
    lost: int = 0
    #: Counts at the end of the period (see _Grid.settle).
    open: int = 0
    overdue: int = 0

    def add_flows(self, other: _Sums) -> None:
        self.wifi += other.wifi
        self.four_g += other.four_g
        self.agreed_days += other.agreed_days
        self.returned += other.returned
        self.actual_days += other.actual_days
        self.ended += other.ended
        self.lost += other.lost

    def add_stock(self, other: _Sums) -> None:
        self.open += other.open
        self.overdue += other.overdue

    def figures(self) -> LoanFigures:
        started = self.wifi + self.four_g
        return LoanFigures(
            devices_lent=started,
            devices_wifi=self.wifi,
            devices_4g=self.four_g,
            loans_ended=self.ended,
            loans_lost=self.lost,
            avg_agreed_days=average(self.agreed_days, started),
            loans_returned=self.returned,
            avg_actual_days=average(self.actual_days, self.returned),
            open_at_end=self.open,
            overdue_at_end=self.overdue,
        )


@dataclass
class _Grid:
    """The database's answers, per period index (``BEFORE`` too) and region."""

    periods: int
    cells: dict[tuple[int, str], _Sums] = field(default_factory=dict)
    #: How many loans start (+) or stop (-) being open, overdue, in each period.
    opens: dict[tuple[int, str], int] = field(default_factory=dict)
    overdue: dict[tuple[int, str], int] = field(default_factory=dict)

    def at(self, k: int, region: str) -> _Sums:
        return self.cells.setdefault((k, region), _Sums())

    def change(self, counts: dict[tuple[int, str], int], k: int, region: str, n: int) -> None:
        counts[(k, region)] = counts.get((k, region), 0) + n

    def add(self, group: figures.LoanGroup) -> None:
        where, n = group.region, group.loans
        ended = group.fate != Fate.OPEN
        if group.out == BEFORE:
            self.change(self.opens, BEFORE, where, n)
        else:
            cell = self.at(group.out, where)
            if group.four_g:
                cell.four_g += n
            else:
                cell.wifi += n
            cell.agreed_days += group.agreed_days
            if group.fate == Fate.RETURNED:
                cell.returned += n
                cell.actual_days += group.actual_days
            self.change(self.opens, group.out, where, n)
        if ended:
            self.change(self.opens, group.end, where, -n)
            if group.end < self.periods:  # not after the window
                cell = self.at(group.end, where)
                cell.ended += n
                cell.lost += n if group.fate == Fate.LOST else 0
        # Overdue from the day after the agreed end until the return. Returned in an earlier
        # period than that day: never overdue at a period's end; in the same one: both
        # changes fall in it and cancel out.
        if not ended or group.end > group.due:
            self.change(self.overdue, group.due, where, n)
            if ended:
                self.change(self.overdue, group.end, where, -n)

    def add_late(self, late: figures.LateExtensions) -> None:
        # Overdue under the earlier agreed end, until the day of the extension (same rule).
        if late.stop > late.start:
            self.change(self.overdue, late.start, late.region, late.extensions)
            self.change(self.overdue, late.stop, late.region, -late.extensions)

    def settle(self, regions: Sequence[str]) -> None:
        """Open and overdue at the end of each period: the running sums of their changes."""
        for where in regions:
            open_ = self.opens.get((BEFORE, where), 0)
            late = self.overdue.get((BEFORE, where), 0)
            for k in range(self.periods):
                open_ += self.opens.get((k, where), 0)
                late += self.overdue.get((k, where), 0)
                cell = self.at(k, where)
                cell.open, cell.overdue = open_, late


def _time_zone() -> str:
    # The zone's names in winter and summer: a report spans both.
    return "/".join(dict.fromkeys(time.tzname))


def _regions(programme: Sequence[str], found: Iterable[str]) -> tuple[str, ...]:
    # The programme's regions in its order (a region with no loans shows zeros), then any the
    # ledger still has loans in that the configuration no longer names.
    extra = sorted(set(found) - set(programme))
    return (*programme, *extra)


def loan_report(
    session: Session,
    *,
    first: date,
    last: date,
    grouping: Grouping,
    regions: Sequence[str],
    title: str,
    now: datetime,
    region: str | None = None,
    lang: str = "en",
) -> LoanReport:
    """The loan report from ``first`` to ``last`` (local dates, both included), as of ``now``.

    ``regions``: the programme's; ``region``: only loans made there. ``last`` must not be after
    today (``now``'s local date): the ledger knows nothing of tomorrow.
    """
    periods = months(first, last) if grouping.by_month else (whole(first, last),)
    dates = (*(p.first for p in periods), last + timedelta(days=1))
    starts = tuple(local_midnight(d) for d in dates)
    offsets = utc_offsets(starts[0] - timedelta(days=1), max(now, starts[-1]) + timedelta(days=1))
    window = Window(dates=dates, starts=starts, offsets=offsets, region=region)

    grid = _Grid(len(periods))
    for group in figures.loan_groups(session, window):
        grid.add(group)
    for late in figures.late_extensions(session, window):
        grid.add_late(late)
    found = {where for _, where in grid.cells} | {where for _, where in grid.opens}
    shown = (region,) if region is not None else _regions(regions, found)
    grid.settle(shown)

    by_region = grouping.by_region and region is None
    rows = _rows(grid, periods, shown, by_month=grouping.by_month, by_region=by_region)
    return LoanReport(
        title=title,
        first=first,
        last=last,
        grouping=grouping,
        region=region,
        regions=shown,
        periods=periods,
        rows=rows,
        generated_at=now,
        time_zone=_time_zone(),
        lang=lang,
    )


def _rows(
    grid: _Grid,
    periods: Sequence[Period],
    regions: Sequence[str],
    *,
    by_month: bool,
    by_region: bool,
) -> tuple[LoanRow, ...]:
    def total(ks: Sequence[int], where: Sequence[str]) -> _Sums:
        sums = _Sums()
        for k in ks:
            for w in where:
                sums.add_flows(grid.at(k, w))
        # Open and overdue are counts at a moment: a total over periods is the last one's.
        for w in where:
            sums.add_stock(grid.at(ks[-1], w))
        return sums

    def row(k: int | None, where: str | None) -> LoanRow:
        ks = range(len(periods)) if k is None else [k]
        sums = total(ks, regions if where is None else [where])
        return LoanRow(None if k is None else periods[k], where, sums.figures())

    rows: list[LoanRow] = []
    if by_month:
        for k in range(len(periods)):
            rows.extend(row(k, w) for w in (regions if by_region else ()))
            rows.append(row(k, None))
    rows.extend(row(None, w) for w in (regions if by_region else ()))
    rows.append(row(None, None))
    return tuple(rows)
