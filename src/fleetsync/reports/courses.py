"""The course report: per region and course period, the devices available on its first day
(wifi / 4G, and since when), the devices used (its loans), the devices reserved (its open
reservations) and the average agreed loan period; shaped like the table in which the agency
answered parliament (regions as blocks, periods as rows), in English or Dutch. What each figure
means exactly: ``docs/reports.md``."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from html import escape
from typing import IO, Any

import sqlalchemy as sa
from rich import box
from rich.table import Table
from sqlalchemy.orm import Session, selectinload

from fleetsync.ledger import course_figures
from fleetsync.ledger.models import CoursePeriod, Loan
from fleetsync.reports.calendar import EPOCH, local_midnight, utc_offsets
from fleetsync.reports.loans import average
from fleetsync.reports.render import plain_csv, print_table, to_json

__all__ = [
    "COLUMNS",
    "LABELS",
    "CourseFigures",
    "CourseReport",
    "CourseRow",
    "course_csv",
    "course_html",
    "course_json",
    "course_records",
    "course_report",
    "print_course_table",
]

ALL = "all"
#: The figures, in the order every format gives them.
COLUMNS = (
    "available_wifi", "available_4g", "available_since", "used_wifi", "used_4g",
    "reserved_wifi", "reserved_4g", "avg_agreed_days",
)  # fmt: skip
LABELS: dict[str, dict[str, str]] = {
    "en": {
        "region": "region",
        "course": "course period",
        "from": "from",
        "to": "to",
        "available_wifi": "available wifi",
        "available_4g": "available 4G",
        "available_since": "available since",
        "used_wifi": "used wifi",
        "used_4g": "used 4G",
        "reserved_wifi": "reserved wifi",
        "reserved_4g": "reserved 4G",
        "avg_agreed_days": "agreed days (avg)",
        "total": "total",
        "all_regions": "all regions",
        "no_course": "(no course period)",
        "title": "devices per region and course period",
        "caption": "Available: devices of the region delivered by the period's first day and not "
        "lost, retired or with the ICT service then. Used: the period's loans, by the device's "
        "connectivity at checkout. Reserved: open reservations. Agreed days: average from "
        "checkout to the latest agreed end.",
        "generated": "Generated on",
    },
    "nl": {
        "region": "regio",
        "course": "cursusperiode",
        "from": "van",
        "to": "tot",
        "available_wifi": "beschikbaar wifi",
        "available_4g": "beschikbaar 4G",
        "available_since": "beschikbaar sinds",
        "used_wifi": "gebruikt wifi",
        "used_4g": "gebruikt 4G",
        "reserved_wifi": "gereserveerd wifi",
        "reserved_4g": "gereserveerd 4G",
        "avg_agreed_days": "afgesproken dagen (gem.)",
        "total": "totaal",
        "all_regions": "alle regio's",
        "no_course": "(geen cursusperiode)",
        "title": "toestellen per regio en cursusperiode",
        "caption": "Beschikbaar: toestellen van de regio, geleverd op de eerste dag van de "
        "periode en toen niet verloren, afgeschreven of bij de ICT-dienst. Gebruikt: de "
        "ontleningen van de periode, volgens de connectiviteit van het toestel bij uitlening. "
        "Gereserveerd: openstaande reservaties. Afgesproken dagen: gemiddelde van uitlening tot "
        "de laatst afgesproken einddatum.",
        "generated": "Aangemaakt op",
    },
}


@dataclass(frozen=True, slots=True)
class CourseFigures:
    available_wifi: int
    available_4g: int
    #: The latest delivery date among the available devices (``None``: none available).
    available_since: date | None
    used_wifi: int
    used_4g: int
    reserved_wifi: int
    reserved_4g: int
    avg_agreed_days: Decimal | None


@dataclass(frozen=True, slots=True)
class CourseRow:
    #: ``None``: all regions.
    region: str | None
    #: The course period's name; ``None`` with ``total``: the region's (or the overall) total;
    #: ``None`` without: the region's loans for no course period.
    course: str | None
    first: date | None
    last: date | None
    figures: CourseFigures
    total: bool = False


@dataclass(frozen=True, slots=True)
class CourseReport:
    title: str
    first: date | None
    last: date | None
    region: str | None
    regions: tuple[str, ...]
    rows: tuple[CourseRow, ...]
    generated_at: datetime
    time_zone: str
    lang: str

    def find(self, region: str | None, course: str | None) -> CourseFigures:
        """A row's figures: ``course=None`` is the total of ``region`` (``None``: overall)."""
        for row in self.rows:
            if row.region == region and row.course == course and row.total == (course is None):
                return row.figures
        raise KeyError((region, course))


def _day(number: int) -> date:
    return EPOCH + timedelta(days=number)


@dataclass
class _Sums:
    wifi: int = 0
    four_g: int = 0
    agreed: int = 0


def first_moment(session: Session, now: datetime) -> datetime:
    """Where the UTC offsets must start: the first loan (by id: checkouts come in time order;
    imported history stands at local noon, clear of a DST hour) or the first course period.
    Not MIN(checked_out_at), which reads every loan."""
    first = session.scalar(sa.select(Loan.checked_out_at).order_by(Loan.id).limit(1))
    course = session.scalar(sa.select(sa.func.min(CoursePeriod.first_day)))
    candidates = [now, *([first] if first else [])]
    if course is not None:
        candidates.append(local_midnight(course))
    return min(candidates)


def course_report(
    session: Session,
    *,
    regions: Sequence[str],
    title: str,
    now: datetime,
    first: date | None = None,
    last: date | None = None,
    region: str | None = None,
    lang: str = "en",
) -> CourseReport:
    """The course report as of ``now``: every course period overlapping ``first``..``last``
    (all when not given), per region (the programme's, or only ``region``)."""
    start = first_moment(session, now) - timedelta(days=2)
    offsets = utc_offsets(start, now + timedelta(days=400))
    periods = [
        c
        for c in session.scalars(
            sa.select(CoursePeriod)
            .options(selectinload(CoursePeriod.regions))
            .order_by(CoursePeriod.first_day, CoursePeriod.name)
        )
        if (first is None or c.last_day >= first) and (last is None or c.first_day <= last)
    ]
    window_days = None
    if first is not None or last is not None:
        lo = (local_midnight(first) if first else start).astimezone().date()
        hi = last or now.astimezone().date() + timedelta(days=400)
        window_days = ((lo - EPOCH).days, (hi - EPOCH).days)
    loans: dict[tuple[str, str | None], _Sums] = {}
    for group in course_figures.loan_sums(session, offsets, region=region, days=window_days):
        sums = loans.setdefault((group.region, group.course), _Sums())
        if group.four_g:
            sums.four_g += group.loans
        else:
            sums.wifi += group.loans
        sums.agreed += group.agreed_days
    devices = course_figures.device_groups(session, offsets, region=region)
    reserved = course_figures.open_reservations(session)
    shown = (region,) if region is not None else tuple(regions)
    extra = sorted({r for r, _ in loans} - set(shown)) if region is None else []
    shown = (*shown, *extra)

    def available(where: str, day: date) -> tuple[int, int, date | None]:
        number = (day - EPOCH).days
        wifi = four_g = 0
        since: int | None = None
        for g in devices:
            if g.region != where or g.delivered > number:
                continue
            if g.gone is not None and g.gone <= number:
                continue
            if g.four_g:
                four_g += g.devices
            else:
                wifi += g.devices
            since = g.delivered if since is None else max(since, g.delivered)
        return wifi, four_g, None if since is None else _day(since)

    rows: list[CourseRow] = []
    overall = _Sums()
    overall_reserved = [0, 0]
    overall_available = [0, 0]
    overall_since: date | None = None
    for where in shown:
        block = _Sums()
        block_reserved = [0, 0]
        block_available: tuple[int, int, date | None] = (0, 0, None)
        for period in periods:
            if where not in period.region_names and (where, period.name) not in loans:
                continue
            used = loans.get((where, period.name), _Sums())
            r_wifi = reserved.get((where, period.name, False), 0)
            r_4g = reserved.get((where, period.name, True), 0)
            avail = available(where, period.first_day)
            block_available = avail
            rows.append(
                CourseRow(
                    where,
                    period.name,
                    period.first_day,
                    period.last_day,
                    CourseFigures(
                        avail[0], avail[1], avail[2], used.wifi, used.four_g, r_wifi, r_4g,
                        average(used.agreed, used.wifi + used.four_g),
                    ),
                )
            )  # fmt: skip
            _add(block, used)
            block_reserved[0] += r_wifi
            block_reserved[1] += r_4g
        loose = loans.get((where, None))
        if loose is not None:
            rows.append(
                CourseRow(
                    where,
                    None,
                    None,
                    None,
                    CourseFigures(
                        0, 0, None, loose.wifi, loose.four_g, 0, 0,
                        average(loose.agreed, loose.wifi + loose.four_g),
                    ),
                )
            )  # fmt: skip
            _add(block, loose)
        rows.append(
            CourseRow(
                where,
                None,
                None,
                None,
                CourseFigures(
                    block_available[0], block_available[1], block_available[2],
                    block.wifi, block.four_g, block_reserved[0], block_reserved[1],
                    average(block.agreed, block.wifi + block.four_g),
                ),
                total=True,
            )
        )  # fmt: skip
        _add(overall, block)
        overall_reserved[0] += block_reserved[0]
        overall_reserved[1] += block_reserved[1]
        overall_available[0] += block_available[0]
        overall_available[1] += block_available[1]
        if block_available[2] is not None:
            overall_since = max(overall_since or block_available[2], block_available[2])
    rows.append(
        CourseRow(
            None,
            None,
            first,
            last,
            CourseFigures(
                overall_available[0], overall_available[1], overall_since,
                overall.wifi, overall.four_g, overall_reserved[0], overall_reserved[1],
                average(overall.agreed, overall.wifi + overall.four_g),
            ),
            total=True,
        )
    )  # fmt: skip
    return CourseReport(
        title=title,
        first=first,
        last=last,
        region=region,
        regions=shown,
        rows=tuple(rows),
        generated_at=now,
        time_zone="/".join(dict.fromkeys(time.tzname)),
        lang=lang,
    )


def _add(into: _Sums, other: _Sums) -> None:
    into.wifi += other.wifi
    into.four_g += other.four_g
    into.agreed += other.agreed


# ------------------------------------------------------------------------------------ formats
def course_records(report: CourseReport) -> list[dict[str, Any]]:
    """One record per row (keys in English whatever the language: stable for scripts). Total
    rows: ``course`` ``all`` (a region's) and ``region`` ``all`` (overall); loans for no course
    period: ``course`` empty."""
    records = []
    for row in report.rows:
        f = row.figures
        records.append(
            {
                "region": ALL if row.region is None else row.region,
                "course": ALL if row.total else row.course,
                "from": None if row.first is None or row.total else row.first.isoformat(),
                "to": None if row.last is None or row.total else row.last.isoformat(),
                "available_wifi": f.available_wifi,
                "available_4g": f.available_4g,
                "available_since": None
                if f.available_since is None
                else f.available_since.isoformat(),
                "used_wifi": f.used_wifi,
                "used_4g": f.used_4g,
                "reserved_wifi": f.reserved_wifi,
                "reserved_4g": f.reserved_4g,
                "avg_agreed_days": f.avg_agreed_days,
            }
        )
    return records


_KEYS = ("region", "course", "from", "to", *COLUMNS)


def course_csv(report: CourseReport) -> str:
    return plain_csv(_KEYS, course_records(report))


def course_json(report: CourseReport) -> str:
    meta = {
        "report": "courses",
        "title": report.title,
        "from": None if report.first is None else report.first.isoformat(),
        "to": None if report.last is None else report.last.isoformat(),
        "region": report.region,
        "regions": list(report.regions),
        "lang": report.lang,
        "time_zone": report.time_zone,
        "generated_at": report.generated_at.isoformat(timespec="seconds"),
    }
    return to_json(meta, course_records(report))


def _date(value: date | None, lang: str) -> str:
    if value is None:
        return ""
    return f"{value.day}/{value.month:02d}/{value.year}" if lang == "nl" else value.isoformat()


def _cells(row: CourseRow, lang: str) -> list[str]:
    """A row as the table and the page show it: the course period, its dates, the figures
    (an en dash where there is nothing; an available 4G of 0 too, as in the answer's table)."""
    words = LABELS[lang]
    f = row.figures
    if row.total:
        label = words["total"] if row.region is not None else words["all_regions"]
    else:
        label = row.course if row.course is not None else words["no_course"]
    dash = "\N{EN DASH}"

    def n(value: int) -> str:
        return str(value) if value else dash

    return [
        label,
        _date(row.first, lang) if not row.total else "",
        _date(row.last, lang) if not row.total else "",
        n(f.available_wifi),
        n(f.available_4g),
        _date(f.available_since, lang) or dash,
        n(f.used_wifi),
        n(f.used_4g),
        n(f.reserved_wifi),
        n(f.reserved_4g),
        dash
        if f.avg_agreed_days is None
        else str(f.avg_agreed_days).replace(".", "," if lang == "nl" else "."),
    ]


def _headers(lang: str) -> list[str]:
    words = LABELS[lang]
    return [words[k] for k in ("course", "from", "to", *COLUMNS)]


def _heading(report: CourseReport) -> str:
    words = LABELS[report.lang]
    span = ""
    if report.first or report.last:
        span = f" ({_date(report.first, report.lang)}..{_date(report.last, report.lang)})"
    return f"{report.title}: {words['title']}{span}"


def course_table(report: CourseReport) -> Table:
    words = LABELS[report.lang]
    table = Table(
        title=_heading(report),
        caption=words["caption"],
        box=box.SIMPLE_HEAD,
        caption_justify="left",
    )
    for i, header in enumerate(_headers(report.lang)):
        table.add_column(header, justify="left" if i < 3 else "right", no_wrap=i == 0)
    current: str | None = "\0"
    for row in report.rows:
        if row.region != current and row.region is not None:
            table.add_row(row.region, style="bold underline")
            current = row.region
        table.add_row(
            *_cells(row, report.lang),
            style="bold" if row.total else None,
            end_section=row.total,
        )
    return table


def print_course_table(report: CourseReport, file: IO[str] | None = None) -> None:
    print_table(course_table(report), file)


_CSS = """
body { font: 14px/1.45 system-ui, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1a1a1a;
       margin: 24px auto; max-width: 1100px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } .generated { color: #555; margin: 2px 0 12px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
caption { text-align: left; padding: 4px 0 8px; color: #333; caption-side: bottom; }
th, td { padding: 3px 8px; border-bottom: 1px solid #e3e3e3; text-align: right;
         white-space: nowrap; }
th:first-child, td:first-child, th.d, td.d { text-align: left; }
thead th { border-bottom: 2px solid #333; vertical-align: bottom; font-size: 12px;
           white-space: normal; }
tbody th.region { text-align: left; font-size: 15px; padding-top: 14px; border-bottom: 1px solid
                  #333; }
tr.total td { font-weight: 700; background: #f3f3f3; }
@media print { @page { size: A4 landscape; margin: 12mm; } body { margin: 0; max-width: none;
  font-size: 10pt; } tbody { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; } tr.total td { background: none; } }
"""


def course_html(report: CourseReport) -> str:
    """The report as one self-contained page (inline CSS, no script, nothing fetched)."""
    words = LABELS[report.lang]
    head = "".join(
        f'<th scope="col"{" class=d" if 0 < i < 3 else ""}>{escape(h)}</th>'
        for i, h in enumerate(_headers(report.lang))
    )
    bodies = []
    current: str | None = "\0"
    rows: list[str] = []
    for row in report.rows:
        if row.region != current:
            if rows:
                bodies.append(f"<tbody>{''.join(rows)}</tbody>")
                rows = []
            current = row.region
            name = row.region if row.region is not None else words["all_regions"]
            rows.append(
                f'<tr><th class="region" colspan="{len(COLUMNS) + 3}" scope="rowgroup">'
                f"{escape(name)}</th></tr>"
            )
        cells = _cells(row, report.lang)
        tds = "".join(
            f"<td{' class=d' if 0 < i < 3 else ''}>{escape(c)}</td>" for i, c in enumerate(cells)
        )
        rows.append(f"<tr{' class=total' if row.total else ''}>{tds}</tr>")
    bodies.append(f"<tbody>{''.join(rows)}</tbody>")
    generated = report.generated_at.astimezone().strftime("%Y-%m-%d %H:%M")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{report.lang}">',
            '<head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(_heading(report))}</title>",
            f"<style>{_CSS}</style></head>",
            "<body>",
            f"<h1>{escape(_heading(report))}</h1>",
            f'<p class="generated">{escape(words["generated"])} {generated} '
            f"({escape(report.time_zone)})</p>",
            f"<table><caption>{escape(words['caption'])}</caption>",
            f"<thead><tr>{head}</tr></thead>",
            *bodies,
            "</table>",
            "</body></html>",
            "",
        ]
    )
