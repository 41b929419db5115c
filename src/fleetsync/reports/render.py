"""Reports as records (one per row, the same in every format), and as a table, CSV and JSON.

Every format is written from :func:`loan_records` / :func:`fleet_records`, so a figure reads the
same whichever format is asked for: integers for counts, averages to one decimal.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from rich import box
from rich.console import Console
from rich.table import Table

from fleetsync.reports.fleet import STATES, FleetReport
from fleetsync.reports.loans import ALL, LoanReport
from fleetsync.reports.words import HEADERS, day, figure

__all__ = [
    "FLEET_COLUMNS",
    "LOAN_COLUMNS",
    "NOTHING",
    "Column",
    "Value",
    "csv_text",
    "fleet_records",
    "fleet_table",
    "json_text",
    "loan_columns",
    "loan_heading",
    "loan_records",
    "loan_table",
    "plain_csv",
    "print_table",
    "show",
    "shown_records",
    "table",
    "to_csv",
    "to_json",
]

Value = str | int | Decimal | None
#: What a table shows where there is nothing to average.
NOTHING = "\N{EN DASH}"


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    #: How people see it (table and HTML headers).
    header: str
    #: A number (right-aligned), not a label.
    figure: bool = True


LOAN_COLUMNS: tuple[Column, ...] = (
    Column("month", "month", figure=False),
    Column("from", "from", figure=False),
    Column("to", "to", figure=False),
    Column("region", "region", figure=False),
    Column("devices_lent", "devices\nlent"),
    Column("devices_wifi", "wifi"),
    Column("devices_4g", "4G"),
    Column("loans_ended", "ended"),
    Column("loans_lost", "lost"),
    Column("avg_agreed_days", "agreed\ndays"),
    Column("loans_returned", "returned"),
    Column("avg_actual_days", "actual\ndays"),
    Column("open_at_end", "open\nat end"),
    Column("overdue_at_end", "overdue\nat end"),
)

FLEET_COLUMNS: tuple[Column, ...] = (
    Column("region", "region", figure=False),
    Column("connectivity", "connectivity", figure=False),
    *(Column(state.value, state.value.replace("_", "\n", 1).replace("_", " ")) for state in STATES),
    Column("in_repair", "in\nrepair"),
    Column("lendable", "lendable"),
    Column("total", "total"),
)


def loan_records(report: LoanReport) -> list[dict[str, Value]]:
    """One record per row, keys in :data:`LOAN_COLUMNS` order."""
    records: list[dict[str, Value]] = []
    for row in report.rows:
        f = row.figures
        period = row.period
        records.append(
            {
                "month": ALL if period is None else period.label,
                "from": (report.first if period is None else period.first).isoformat(),
                "to": (report.last if period is None else period.last).isoformat(),
                "region": report.region_label(row.region),
                "devices_lent": f.devices_lent,
                "devices_wifi": f.devices_wifi,
                "devices_4g": f.devices_4g,
                "loans_ended": f.loans_ended,
                "loans_lost": f.loans_lost,
                "avg_agreed_days": f.avg_agreed_days,
                "loans_returned": f.loans_returned,
                "avg_actual_days": f.avg_actual_days,
                "open_at_end": f.open_at_end,
                "overdue_at_end": f.overdue_at_end,
            }
        )
    return records


def fleet_records(report: FleetReport) -> list[dict[str, Value]]:
    records = []
    for row in report.rows:
        record: dict[str, Value] = {
            "region": ALL if row.region is None else row.region,
            "connectivity": ALL if row.connectivity is None else row.connectivity.value,
        }
        record.update({state.value: row.count(state) for state in STATES})
        record.update(in_repair=row.in_repair, lendable=row.lendable, total=row.total)
        records.append(record)
    return records


def show(value: Value, lang: str = "en") -> str:
    """A value as text: averages with their one decimal (a decimal comma in Dutch), nothing as
    an empty string."""
    return figure(value, lang)


def to_csv(columns: Sequence[Column], records: Sequence[dict[str, Value]]) -> str:
    """CSV with a header row (RFC 4180 line ends); empty cells where there is nothing to average.

    The caller writes it as UTF-8 with a byte-order mark, which is how spreadsheets recognise
    UTF-8 (region names may have accents)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.key for c in columns])
    for record in records:
        writer.writerow([show(record[c.key]) for c in columns])
    return out.getvalue()


def plain_csv(keys: Sequence[str], records: Sequence[dict[str, Any]]) -> str:
    """CSV with a header row of ``keys``: values as ``str()`` gives them, empty where there is
    nothing (the course reports, whose figures need no language)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(keys)
    for record in records:
        writer.writerow(["" if record[k] is None else str(record[k]) for k in keys])
    return out.getvalue()


def _meta(report: LoanReport | FleetReport) -> dict[str, Any]:
    generated = report.generated_at.isoformat(timespec="seconds")
    if isinstance(report, FleetReport):
        return {
            "report": "fleet",
            "title": report.title,
            "regions": list(report.regions),
            "generated_at": generated,
        }
    return {
        "report": "loans",
        "title": report.title,
        "from": report.first.isoformat(),
        "to": report.last.isoformat(),
        "by": report.grouping.value,
        "region": report.region,
        "regions": list(report.regions),
        "time_zone": report.time_zone,
        "generated_at": generated,
    }


def csv_text(report: LoanReport | FleetReport) -> str:
    if isinstance(report, FleetReport):
        return to_csv(FLEET_COLUMNS, fleet_records(report))
    return to_csv(LOAN_COLUMNS, loan_records(report))


def json_text(report: LoanReport | FleetReport) -> str:
    """The report's scope (``report``, ``title``, dates, ``generated_at`` ...) and its rows."""
    records = fleet_records(report) if isinstance(report, FleetReport) else loan_records(report)
    return to_json(_meta(report), records)


def _json_value(value: Value) -> Any:
    # One decimal exactly as in the other formats: Decimal('63.5') -> 63.5.
    return float(value) if isinstance(value, Decimal) else value


def to_json(meta: dict[str, Any], records: Sequence[dict[str, Value]]) -> str:
    """``meta`` plus ``rows``; keys sorted, so the output is stable for scripts."""
    document = {**meta, "rows": [{k: _json_value(v) for k, v in r.items()} for r in records]}
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _table(title: str, caption: str, columns: Sequence[Column]) -> Table:
    table = Table(title=title, caption=caption, box=box.SIMPLE_HEAD, caption_justify="left")
    for column in columns:
        table.add_column(
            column.header, justify="right" if column.figure else "left", no_wrap=not column.figure
        )
    return table


def loan_columns(report: LoanReport) -> list[Column]:
    """The columns a person reads, in the report's language: the month and region only when the
    report has them (the heading gives the dates)."""
    words = HEADERS[report.lang]
    return [
        c if report.lang == "en" else Column(c.key, words[c.key], c.figure)
        for c in LOAN_COLUMNS
        if c.key not in {"from", "to"}
        and (c.key != "month" or report.grouping.by_month)
        and (c.key != "region" or report.grouping.by_region or report.region is not None)
    ]


_LOAN_CAPTION = {
    "en": "Local dates ({zone}). A loan counts in the month of its checkout; devices lent = "
    "loans started; agreed and actual days are averages; open and overdue at the end of the "
    "period's last day.",
    "nl": "Lokale datums ({zone}). Een ontlening telt in de maand waarin ze begon; uitgeleende "
    "toestellen = begonnen ontleningen; afgesproken en werkelijke dagen zijn gemiddelden; "
    "uitgeleend en te laat op het einde van de laatste dag van de periode.",
}


def loan_heading(report: LoanReport) -> str:
    """``<title>: loans <from> to <to>``, in the report's language."""
    lang = report.lang
    to = "to" if lang == "en" else "tot"
    return (
        f"{report.title}: {HEADERS[lang]['loans']} {day(report.first, lang)} {to} "
        f"{day(report.last, lang)}"
    )


def shown_records(report: LoanReport) -> list[dict[str, Value]]:
    """:func:`loan_records` as a person reads them: the total rows' label (``all``) and the
    averages in the report's language."""
    everything = HEADERS[report.lang]["all"]
    return [
        {
            k: (
                everything
                if k in {"month", "region"} and v == ALL
                else show(v, report.lang) or None
            )
            for k, v in record.items()
        }
        for record in loan_records(report)
    ]


def loan_table(report: LoanReport) -> Table:
    shown = loan_columns(report)
    table = _table(
        loan_heading(report),
        _LOAN_CAPTION[report.lang].format(zone=report.time_zone),
        shown,
    )
    records = shown_records(report)
    by_region = any(c.key == "region" for c in shown) and report.region is None
    for i, (row, record) in enumerate(zip(report.rows, records, strict=True)):
        total = row.period is None or row.region is None
        following = report.rows[i + 1] if i + 1 < len(report.rows) else None
        table.add_row(
            *(show(record[c.key]) or NOTHING for c in shown),
            style="bold" if total else None,
            # A rule after each month's block, and before the totals over all months.
            end_section=(by_region and row.region is None and row.period is not None)
            or (following is not None and (following.period is None) != (row.period is None)),
        )
    return table


def fleet_table(report: FleetReport) -> Table:
    table = _table(
        f"{report.title}: fleet on {report.generated_at.astimezone().date().isoformat()}",
        "Lendable: spare + on loan + in refurbishment.",
        FLEET_COLUMNS,
    )
    for row, record in zip(report.rows, fleet_records(report), strict=True):
        table.add_row(
            *(show(record[c.key]) for c in FLEET_COLUMNS),
            style="bold" if row.region is None or row.connectivity is None else None,
            end_section=row.connectivity is None,
        )
    return table


def table(report: LoanReport | FleetReport) -> Table:
    return fleet_table(report) if isinstance(report, FleetReport) else loan_table(report)


def print_table(table: Table, file: IO[str] | None = None) -> None:
    """Print ``table`` at its natural width, however narrow the terminal: a figure cut short
    (``40…``) would be a wrong figure. To a file: plain text, no terminal codes. Never Rich
    markup: a title or a region name is printed as it is written."""
    width = Console(width=10_000, markup=False).measure(table).maximum
    if file is None:
        Console(width=max(width, Console(markup=False).width), markup=False).print(table)
    else:
        Console(file=file, width=width, color_system=None, markup=False).print(table)
