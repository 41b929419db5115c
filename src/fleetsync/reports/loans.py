"""The loan report: what went out, what came back, what is still out and overdue, per month and
region. The database aggregates (:mod:`fleetsync.ledger.figures`); this module turns its sums
into the report's figures and totals. The exact meaning of each figure is in ``docs/reports.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from sqlalchemy.orm import Session

from fleetsync.domain.errors import InvalidInput
from fleetsync.ledger import figures
from fleetsync.ledger.figures import BEFORE, Cohort, Lent, Window
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

    #: Distinct devices among the loans checked out in the group, and by their connectivity.
    devices_lent: int
    devices_wifi: int
    devices_4g: int
    #: Loans checked out in the group.
    loans_started: int
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
    #: The local time the dates are counted in, e.g. ``CET (UTC+01:00)``.
    time_zone: str

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
    started: int = 0
    agreed_days: int = 0
    returned: int = 0
    actual_days: int = 0
    ended: int = 0
    lost: int = 0
    open: int = 0
    overdue: int = 0

    def add_flows(self, other: _Sums) -> None:
        self.started += other.started
        self.agreed_days += other.agreed_days
        self.returned += other.returned
        self.actual_days += other.actual_days
        self.ended += other.ended
        self.lost += other.lost

    def add_stock(self, other: _Sums) -> None:
        self.open += other.open
        self.overdue += other.overdue

    def figures(self, lent: Lent) -> LoanFigures:
        return LoanFigures(
            devices_lent=lent.devices,
            devices_wifi=lent.wifi,
            devices_4g=lent.four_g,
            loans_started=self.started,
            loans_ended=self.ended,
            loans_lost=self.lost,
            avg_agreed_days=average(self.agreed_days, self.started),
            loans_returned=self.returned,
            avg_actual_days=average(self.actual_days, self.returned),
            open_at_end=self.open,
            overdue_at_end=self.overdue,
        )


@dataclass
class _Grid:
    """The database's answers, per period index and region."""

    cells: dict[tuple[int, str], _Sums] = field(default_factory=dict)

    def at(self, k: int, region: str) -> _Sums:
        return self.cells.setdefault((k, region), _Sums())


def _time_zone(now: datetime) -> str:
    local = now.astimezone()
    offset = local.strftime("%z")
    return f"{local.tzname()} (UTC{offset[:3]}:{offset[3:]})"


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

    grid = _Grid()
    for (k, where), cohort in figures.cohorts(session, window).items():
        _add_cohort(grid.at(k, where), cohort)
    for (k, where), (ended, lost) in figures.endings(session, window).items():
        cell = grid.at(k, where)
        cell.ended, cell.lost = ended, lost
    opened = figures.open_at_start(session, window)
    overdue = figures.overdue_changes(session, window)
    found = {where for _, where in grid.cells} | set(opened) | {where for _, where in overdue}
    shown = (region,) if region is not None else _regions(regions, found)

    # Loans open (overdue) at the end of a period: those open (overdue) before it, plus what
    # started (became overdue) in it, less what ended (stopped being overdue) in it.
    for where in shown:
        open_ = opened.get(where, 0)
        late = overdue.get((BEFORE, where), 0)
        for k in range(len(periods)):
            cell = grid.at(k, where)
            open_ += cell.started - cell.ended
            late += overdue.get((k, where), 0)
            cell.open, cell.overdue = open_, late

    by_region = grouping.by_region and region is None
    lent: dict[tuple[int | None, str | None], Lent] = {}
    for by_p, by_r in {(grouping.by_month, by_region), (grouping.by_month, False),
                       (False, by_region), (False, False)}:  # fmt: skip
        lent.update(figures.devices_lent(session, window, by_period=by_p, by_region=by_r))

    rows = _rows(grid, periods, shown, lent, by_month=grouping.by_month, by_region=by_region)
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
        time_zone=_time_zone(now),
    )


def _add_cohort(cell: _Sums, cohort: Cohort) -> None:
    cell.started = cohort.started
    cell.agreed_days = cohort.agreed_days
    cell.returned = cohort.returned
    cell.actual_days = cohort.actual_days


def _rows(
    grid: _Grid,
    periods: Sequence[Period],
    regions: Sequence[str],
    lent: dict[tuple[int | None, str | None], Lent],
    *,
    by_month: bool,
    by_region: bool,
) -> tuple[LoanRow, ...]:
    nothing = Lent(0, 0, 0)

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
        return LoanRow(
            None if k is None else periods[k], where, sums.figures(lent.get((k, where), nothing))
        )

    rows: list[LoanRow] = []
    if by_month:
        for k in range(len(periods)):
            rows.extend(row(k, w) for w in (regions if by_region else ()))
            rows.append(row(k, None))
    rows.extend(row(None, w) for w in (regions if by_region else ()))
    rows.append(row(None, None))
    return tuple(rows)
