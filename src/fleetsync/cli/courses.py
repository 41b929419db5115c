"""``fleetsync course``: the course periods a programme lends by."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

import typer

from fleetsync import services
from fleetsync.cli._context import (
    EXIT_CODES_HELP,
    ConfigOption,
    JsonOption,
    console,
    day_option,
    print_json,
)
from fleetsync.cli._listing import ListFormatOption, chosen_format, emit_list
from fleetsync.cli.db import cli_actor, opened_ledger
from fleetsync.services import courses

__all__ = ["app"]

app = typer.Typer(
    help=(
        "Course periods: a name, a first and a last day, the regions it runs in. A loan is for "
        "a course period; a region's course periods do not overlap.\n\n" + EXIT_CODES_HELP
    ),
    no_args_is_help=True,
)


def _say(*objects: Any) -> None:
    console.print(*objects, highlight=False, soft_wrap=True)


def _day(name: str, help_: str) -> Any:
    return day_option(name, help_)


NameArgument = Annotated[
    str, typer.Argument(metavar="NAME", help="The course period's name (any case).")
]


def _row(course: courses.Course) -> dict[str, Any]:
    return {
        "name": course.name,
        "from": course.first.isoformat(),
        "to": course.last.isoformat(),
        "days": course.days,
        "regions": list(course.regions),
    }


@app.command("add")
def add(
    name: NameArgument,
    first: Annotated[datetime, _day("--from", "The course period's first day.")],
    last: Annotated[datetime, _day("--to", "Its last day (included).")],
    regions: Annotated[
        list[str] | None,
        typer.Option(
            "--region", help="A region it runs in; repeat for several. Default: all regions."
        ),
    ] = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Add a course period.

    Exits 2 for a name already used, an unknown region or a --to before --from; 3 when it
    overlaps another course period of one of its regions.
    """
    with opened_ledger(config) as (settings, ledger), ledger.transaction() as session:
        course = courses.add_course(
            session,
            name=name,
            first=first.date(),
            last=last.date(),
            regions=regions or (),
            programme=services.Programme.from_settings(settings),
            actor=cli_actor(),
        )
    if as_json:
        print_json(_row(course))
        return
    _say(
        f"course period {course.name}: {course.first.isoformat()} to {course.last.isoformat()} "
        f"({course.days} days) in {', '.join(course.regions)}"
    )


@app.command("list")
def list_(
    region: Annotated[
        str | None, typer.Option("--region", help="Only the course periods of this region.")
    ] = None,
    fmt: ListFormatOption = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """List the course periods, earliest first."""
    with opened_ledger(config) as (settings, ledger), ledger.read() as session:
        wanted = (
            None if region is None else services.Programme.from_settings(settings).region(region)
        )
        rows = [_row(c) for c in courses.list_courses(session, region=wanted)]
    emit_list(
        rows,
        ("name", "from", "to", "days", "regions"),
        chosen_format(fmt, as_json=as_json),
        title=f"{len(rows)} course period(s)",
    )


@app.command("show")
def show(name: NameArgument, as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Show one course period: its dates and regions, its loans and reservations.

    Exits 2 when there is no course period of that name (the known ones are listed).
    """
    with opened_ledger(config) as (_s, ledger), ledger.read() as session:
        course = courses.Course.of(courses.find_course(session, name))
        detail = _row(course) | asdict(courses.course_counts(session, course.name))
    if as_json:
        print_json(detail)
        return
    _say(
        f"course period {detail['name']}: {detail['from']} to {detail['to']} "
        f"({detail['days']} days) in {', '.join(detail['regions'])}"
    )
    _say(
        f"loans: {detail['loans']} ({detail['open_loans']} open); reservations: "
        f"{detail['open_reservations']} open, {detail['fulfilled_reservations']} fulfilled, "
        f"{detail['cancelled_reservations']} cancelled"
    )


@app.command("end-date")
def end_date(
    name: NameArgument,
    last: Annotated[datetime, _day("--to", "The new last day.")],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why, for the audit trail.")
    ] = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Move a course period's last day (audited). Loans already agreed keep their agreed end:
    extend them with `fleetsync loan extend`.

    Exits 2 for an unknown course period or a day before its first; 3 when the new dates
    overlap another course period of its regions.
    """
    with opened_ledger(config) as (_s, ledger), ledger.transaction() as session:
        change = courses.change_end_date(
            session, name=name, last=last.date(), reason=reason, actor=cli_actor()
        )
    if as_json:
        print_json(asdict(change))
        return
    _say(
        f"course period {change.name} now ends {change.last.isoformat()} "
        f"(was {change.previous_last.isoformat()})"
    )
