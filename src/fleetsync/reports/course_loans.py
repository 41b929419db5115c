"""``report loans --by course``: the loan figures per course period (and region) instead of per
month: the loans of each course period, whenever they were lent, with the same figures as the
loan report where they apply (see ``docs/reports.md``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from html import escape
from typing import IO, Any

import sqlalchemy as sa
from rich import box
from rich.table import Table
from sqlalchemy.orm import Session, selectinload

from fleetsync.ledger import course_figures
from fleetsync.ledger.models import CoursePeriod
from fleetsync.reports.calendar import EPOCH, utc_offsets
from fleetsync.reports.courses import first_moment
from fleetsync.reports.loans import average
from fleetsync.reports.render import plain_csv, print_table, to_json
from fleetsync.reports.words import HEADERS, day, figure

__all__ = [
    "COLUMNS",
    "HEADERS",
    "CourseLoanReport",
    "CourseLoanRow",
    "course_loan_csv",
    "course_loan_html",
    "course_loan_json",
    "course_loan_records",
    "course_loan_report",
    "print_course_loan_table",
]

ALL = "all"
COLUMNS = (
    "devices_lent", "devices_wifi", "devices_4g", "loans_ended", "loans_lost", "avg_agreed_days",
    "loans_returned", "avg_actual_days", "open_now", "overdue_now",
)  # fmt: skip


@dataclass
class _Sums:
    wifi: int = 0
    four_g: int = 0
    ended: int = 0
    lost: int = 0
    agreed: int = 0
    returned: int = 0
    actual: int = 0
    open: int = 0
    overdue: int = 0

    def add(self, other: _Sums) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def figures(self) -> dict[str, int | Decimal | None]:
        lent = self.wifi + self.four_g
        return {
            "devices_lent": lent,
            "devices_wifi": self.wifi,
            "devices_4g": self.four_g,
            "loans_ended": self.ended,
            "loans_lost": self.lost,
            "avg_agreed_days": average(self.agreed, lent),
            "loans_returned": self.returned,
            "avg_actual_days": average(self.actual, self.returned),
            "open_now": self.open,
            "overdue_now": self.overdue,
        }


@dataclass(frozen=True, slots=True)
class CourseLoanRow:
    #: ``None``: all course periods.
    course: str | None
    first: date | None
    last: date | None
    #: ``None``: all regions.
    region: str | None
    figures: dict[str, int | Decimal | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CourseLoanReport:
    title: str
    first: date
    last: date
    by_region: bool
    region: str | None
    rows: tuple[CourseLoanRow, ...]
    generated_at: datetime
    lang: str

    def find(self, course: str | None, region: str | None) -> dict[str, int | Decimal | None]:
        for row in self.rows:
            if row.course == course and row.region == region:
                return row.figures
        raise KeyError((course, region))


def course_loan_report(
    session: Session,
    *,
    first: date,
    last: date,
    regions: Sequence[str],
    title: str,
    now: datetime,
    by_region: bool = True,
    region: str | None = None,
    lang: str = "en",
) -> CourseLoanReport:
    """The loans of the course periods overlapping ``first``..``last``, as of ``now``."""
    periods = [
        c
        for c in session.scalars(
            sa.select(CoursePeriod)
            .options(selectinload(CoursePeriod.regions))
            .order_by(CoursePeriod.first_day, CoursePeriod.name)
        )
        if c.last_day >= first and c.first_day <= last
    ]
    offsets = utc_offsets(first_moment(session, now) - timedelta(days=2), now + timedelta(days=2))
    today = now.astimezone().date()
    cells: dict[tuple[str, str], _Sums] = {}
    for g in course_figures.course_loan_sums(
        session,
        offsets,
        courses=[c.name for c in periods],
        today_number=(today - EPOCH).days,
        region=region,
    ):
        sums = cells.setdefault((g.course, g.region), _Sums())
        if g.four_g:
            sums.four_g += g.loans
        else:
            sums.wifi += g.loans
        sums.agreed += g.agreed_days
        if g.fate == "open":
            sums.open += g.loans
            sums.overdue += g.overdue
        else:
            sums.ended += g.loans
            if g.fate == "lost":
                sums.lost += g.loans
            else:
                sums.returned += g.loans
                sums.actual += g.actual_days
    shown = (region,) if region is not None else tuple(regions)
    extra = sorted({r for _, r in cells} - set(shown))
    shown = (*shown, *extra)
    rows: list[CourseLoanRow] = []
    overall = _Sums()
    per_region = {r: _Sums() for r in shown}
    for period in periods:
        total = _Sums()
        for where in shown:
            found = cells.get((period.name, where))
            if found is None and where not in period.region_names:
                continue
            sums = found or _Sums()
            if by_region:
                rows.append(
                    CourseLoanRow(
                        period.name, period.first_day, period.last_day, where, sums.figures()
                    )
                )
            total.add(sums)
            per_region[where].add(sums)
        rows.append(
            CourseLoanRow(period.name, period.first_day, period.last_day, None, total.figures())
        )
        overall.add(total)
    if by_region:
        rows.extend(CourseLoanRow(None, None, None, r, per_region[r].figures()) for r in shown)
    rows.append(CourseLoanRow(None, None, None, None, overall.figures()))
    return CourseLoanReport(
        title=title,
        first=first,
        last=last,
        by_region=by_region,
        region=region,
        rows=tuple(rows),
        generated_at=now,
        lang=lang,
    )


def course_loan_records(report: CourseLoanReport) -> list[dict[str, Any]]:
    return [
        {
            "course": ALL if row.course is None else row.course,
            "from": None if row.first is None else row.first.isoformat(),
            "to": None if row.last is None else row.last.isoformat(),
            "region": ALL if row.region is None else row.region,
            **row.figures,
        }
        for row in report.rows
    ]


_KEYS = ("course", "from", "to", "region", *COLUMNS)


def course_loan_csv(report: CourseLoanReport) -> str:
    return plain_csv(_KEYS, course_loan_records(report))


def course_loan_json(report: CourseLoanReport) -> str:
    meta = {
        "report": "loans",
        "by": "course,region" if report.by_region else "course",
        "title": report.title,
        "from": report.first.isoformat(),
        "to": report.last.isoformat(),
        "region": report.region,
        "lang": report.lang,
        "generated_at": report.generated_at.isoformat(timespec="seconds"),
    }
    return to_json(meta, course_loan_records(report))


def _cells(row: CourseLoanRow, lang: str) -> list[str]:
    words = HEADERS[lang]
    dash = "\N{EN DASH}"

    def show(value: int | Decimal | None) -> str:
        return figure(value, lang) or dash

    return [
        words["all"] if row.course is None else row.course,
        day(row.first, lang),
        day(row.last, lang),
        words["all"] if row.region is None else row.region,
        *(show(row.figures[k]) for k in COLUMNS),
    ]


def _heading(report: CourseLoanReport) -> str:
    return (
        f"{report.title}: {HEADERS[report.lang]['title']} "
        f"{report.first.isoformat()}..{report.last.isoformat()}"
    )


def print_course_loan_table(report: CourseLoanReport, file: IO[str] | None = None) -> None:
    words = HEADERS[report.lang]
    table = Table(title=_heading(report), box=box.SIMPLE_HEAD)
    for i, key in enumerate(("course", "from", "to", "region", *COLUMNS)):
        table.add_column(words[key], justify="left" if i < 4 else "right")
    for row in report.rows:
        table.add_row(
            *_cells(row, report.lang),
            style="bold" if row.course is None or row.region is None else None,
            end_section=row.region is None,
        )
    print_table(table, file)


def course_loan_html(report: CourseLoanReport) -> str:
    words = HEADERS[report.lang]
    head = "".join(
        f"<th scope=col>{escape(words[k])}</th>"
        for k in ("course", "from", "to", "region", *COLUMNS)
    )
    body = "".join(
        f"<tr{' class=total' if row.course is None or row.region is None else ''}>"
        + "".join(f"<td>{escape(c)}</td>" for c in _cells(row, report.lang))
        + "</tr>"
        for row in report.rows
    )
    return (
        f'<!DOCTYPE html>\n<html lang="{report.lang}"><head><meta charset="utf-8">'
        f"<title>{escape(_heading(report))}</title><style>body{{font:14px system-ui,sans-serif;"
        "margin:24px}}table{border-collapse:collapse}td,th{padding:3px 8px;border-bottom:1px "
        "solid #ddd;text-align:right}td:nth-child(-n+4),th:nth-child(-n+4){text-align:left}"
        "tr.total td{font-weight:700}@media print{@page{size:A4 landscape}}</style></head><body>"
        f"<h1>{escape(_heading(report))}</h1><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table></body></html>\n"
    )
