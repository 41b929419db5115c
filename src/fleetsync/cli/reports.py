"""``fleetsync report``: the programme's figures from the ledger (no Google call), as a table, CSV,
JSON or one self-contained HTML page."""

from __future__ import annotations

import io
import sys
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from fleetsync import clock, services
from fleetsync.cli._context import EXIT_CODES_HELP, ConfigOption, console, day_option
from fleetsync.cli.db import opened_ledger
from fleetsync.domain.errors import InvalidInput
from fleetsync.reports import html, render
from fleetsync.reports.calendar import EPOCH
from fleetsync.reports.fleet import FleetReport, fleet_report
from fleetsync.reports.loans import Grouping, LoanReport, loan_report
from fleetsync.settings import Settings

__all__ = ["app"]

app = typer.Typer(
    help=(
        "The programme's figures, from the ledger alone: loans per month and region, the fleet "
        "by state. What each figure means: docs/reports.md.\n\n" + EXIT_CODES_HELP
    ),
    no_args_is_help=True,
)


class Format(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"
    HTML = "html"


class Lang(StrEnum):
    EN = "en"
    NL = "nl"


LangOption = Annotated[
    Lang, typer.Option("--lang", help="The labels of the table and the HTML page: en or nl.")
]
FormatOption = Annotated[
    Format,
    typer.Option(
        "--format",
        case_sensitive=False,
        help="table (for a terminal), csv (UTF-8, a header row, one row per group), json "
        "(stable keys, for scripts) or html (one self-contained page with charts, printable).",
    ),
]
OutOption = Annotated[
    Path | None,
    typer.Option(
        "--out",
        dir_okay=False,
        metavar="FILE",
        help="Write the report to FILE instead of standard output.",
    ),
]
TitleOption = Annotated[
    str | None,
    typer.Option(
        "--title",
        help="The programme's name in the report's heading. Default: 'Chromebook loan "
        "programme (<accounts domain>)'.",
    ),
]


def _date_option(name: str, help_: str) -> Any:
    return day_option(name, help_)


def _title(settings: Settings, title: str | None) -> str:
    if title is not None and title.strip():
        return " ".join(title.split())
    return f"Chromebook loan programme ({settings.accounts.domain})"


def _period(first: date | None, last: date | None, today: date) -> tuple[date, date]:
    last = today if last is None else last
    if last > today:
        raise InvalidInput(
            f"--to {last.isoformat()} is after today ({today.isoformat()}): the ledger has no "
            "figures for days to come; leave --to out for a report up to today"
        )
    for option, day in (("--from", first), ("--to", last)):
        if day is not None and day < EPOCH:
            raise InvalidInput(
                f"{option} {day.isoformat()} is before {EPOCH.isoformat()}: the ledger counts "
                f"days from {EPOCH.isoformat()} and holds nothing earlier; give a date on or "
                "after it"
            )
    if first is None:
        # Twelve months, the month of --to included (from the epoch at the earliest).
        year, month = divmod(last.year * 12 + last.month - 1 - 11, 12)
        first = max(date(year, month + 1, 1), EPOCH)
    if first > last:
        raise InvalidInput(
            f"--from {first.isoformat()} is after --to {last.isoformat()}; give a --from on or "
            "before --to"
        )
    return first, last


def _write(text: str, out: Path | None, *, bom: bool = False) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    try:
        # Spreadsheets recognise UTF-8 by its byte-order mark (region names may have accents).
        out.write_text(text, encoding="utf-8-sig" if bom else "utf-8", newline="")
    except OSError as exc:
        raise InvalidInput(
            f"cannot write the report to {out}: {exc.strerror}; choose another --out"
        ) from None
    size = out.stat().st_size
    console.print(f"wrote {out} ({size:,} bytes)", highlight=False, soft_wrap=True)


def _emit(report: LoanReport | FleetReport, fmt: Format, out: Path | None) -> None:
    if fmt is Format.CSV:
        _write(render.csv_text(report), out, bom=True)
    elif fmt is Format.JSON:
        _write(render.json_text(report), out)
    elif fmt is Format.HTML:
        _write(html.page(report), out)
    elif out is None:
        render.print_table(render.table(report))
    else:
        text = io.StringIO()
        render.print_table(render.table(report), text)
        _write(text.getvalue(), out)


@app.command("loans")
def loans(
    first: Annotated[
        datetime | None,
        _date_option(
            "--from",
            "First day (a local date). Default: the first of the month eleven months before "
            "--to's, so twelve months in all.",
        ),
    ] = None,
    last: Annotated[
        datetime | None,
        _date_option("--to", "Last day, included (a local date, not after today). Default: today."),
    ] = None,
    by: Annotated[
        str,
        typer.Option(
            "--by",
            metavar="month|region|month,region|course|course,region",
            help="One row per month, per region, or per month and region; totals per month, "
            "per region and overall come with it. course (course,region): one row per course "
            "period overlapping --from..--to (and region), with its loans whenever lent.",
        ),
    ] = Grouping.MONTH_REGION.value,
    region: Annotated[
        str | None, typer.Option("--region", help="Only loans made in this region.")
    ] = None,
    fmt: FormatOption = Format.TABLE,
    out: OutOption = None,
    title: TitleOption = None,
    lang: Annotated[
        Lang,
        typer.Option(
            "--lang",
            help="The words of the table and the HTML page: en, or nl (Dutch labels, dates as "
            "d/mm/yyyy, decimal commas), for every --by. CSV and JSON keep their keys and values.",
        ),
    ] = Lang.EN,
    config: ConfigOption = None,
) -> None:
    """Loans per month and region: devices lent (loans started; wifi / 4G), loans ended, the
    average agreed and actual loan period, open and overdue loans at the end of each period.

    A loan counts in the month of its checkout; dates are the server's local dates. Exits 2 on
    a bad date, a --from after --to, a --to after today, an unknown region or grouping.
    """
    today = services.today()
    period = _period(
        None if first is None else first.date(), None if last is None else last.date(), today
    )
    parts = {p.strip().lower() for p in by.split(",")}
    if "course" in parts:
        if not parts <= {"course", "region"}:
            raise InvalidInput(f"--by {by!r}: course goes with region only (course,region)")
        _course_loans(period, "region" in parts, region, fmt, out, lang, title, config)
        return
    grouping = Grouping.parse(by)
    with opened_ledger(config) as (settings, ledger), ledger.read() as session:
        wanted = (
            None if region is None else services.Programme.from_settings(settings).region(region)
        )
        report = loan_report(
            session,
            first=period[0],
            last=period[1],
            grouping=grouping,
            regions=settings.regions,
            region=wanted,
            title=_title(settings, title),
            now=clock.now(),
            lang=lang.value,
        )
    _emit(report, fmt, out)


@app.command("fleet")
def fleet(
    fmt: FormatOption = Format.TABLE,
    out: OutOption = None,
    title: TitleOption = None,
    config: ConfigOption = None,
) -> None:
    """The devices now, by lifecycle state, region and connectivity, and the lendable count
    (spare + on loan + in refurbishment; not the ICT test pool, lost or retired devices)."""
    with opened_ledger(config) as (settings, ledger), ledger.read() as session:
        report = fleet_report(
            session, regions=settings.regions, title=_title(settings, title), now=clock.now()
        )
    _emit(report, fmt, out)


@app.command("courses")
def courses_report(
    first: Annotated[
        datetime | None,
        _date_option("--from", "Only course periods that end on or after this day."),
    ] = None,
    last: Annotated[
        datetime | None,
        _date_option("--to", "Only course periods that start on or before this day."),
    ] = None,
    region: Annotated[str | None, typer.Option("--region", help="Only this region.")] = None,
    fmt: FormatOption = Format.TABLE,
    out: OutOption = None,
    lang: LangOption = Lang.EN,
    title: TitleOption = None,
    config: ConfigOption = None,
) -> None:
    """Per region and course period: the devices available on its first day (wifi / 4G, and
    the latest delivery date among them), the devices used (its loans, wifi / 4G), the devices
    reserved (its open reservations) and the average agreed loan period; totals per region and
    overall. Laid out like the answer to parliament: regions as blocks, periods as rows.

    Exits 2 on a bad date, a --from after --to or an unknown region.
    """
    from fleetsync.reports import courses as report_courses

    start = None if first is None else first.date()
    end = None if last is None else last.date()
    if start is not None and end is not None and start > end:
        raise InvalidInput(
            f"--from {start.isoformat()} is after --to {end.isoformat()}; give a --from on or "
            "before --to"
        )
    with opened_ledger(config) as (settings, ledger), ledger.read() as session:
        wanted = (
            None if region is None else services.Programme.from_settings(settings).region(region)
        )
        report = report_courses.course_report(
            session,
            regions=settings.regions,
            title=_title(settings, title),
            now=clock.now(),
            first=start,
            last=end,
            region=wanted,
            lang=lang.value,
        )
    if fmt is Format.CSV:
        _write(report_courses.course_csv(report), out, bom=True)
    elif fmt is Format.JSON:
        _write(report_courses.course_json(report), out)
    elif fmt is Format.HTML:
        _write(report_courses.course_html(report), out)
    elif out is None:
        report_courses.print_course_table(report)
    else:
        text = io.StringIO()
        report_courses.print_course_table(report, text)
        _write(text.getvalue(), out)


def _course_loans(
    period: tuple[date, date],
    by_region: bool,
    region: str | None,
    fmt: Format,
    out: Path | None,
    lang: Lang,
    title: str | None,
    config: Path | None,
) -> None:
    from fleetsync.reports import course_loans

    with opened_ledger(config) as (settings, ledger), ledger.read() as session:
        wanted = (
            None if region is None else services.Programme.from_settings(settings).region(region)
        )
        report = course_loans.course_loan_report(
            session,
            first=period[0],
            last=period[1],
            regions=settings.regions,
            region=wanted,
            by_region=by_region,
            title=_title(settings, title),
            now=clock.now(),
            lang=lang.value,
        )
    if fmt is Format.CSV:
        _write(course_loans.course_loan_csv(report), out, bom=True)
    elif fmt is Format.JSON:
        _write(course_loans.course_loan_json(report), out)
    elif fmt is Format.HTML:
        _write(course_loans.course_loan_html(report), out)
    elif out is None:
        course_loans.print_course_loan_table(report)
    else:
        text = io.StringIO()
        course_loans.print_course_loan_table(report, text)
        _write(text.getvalue(), out)
