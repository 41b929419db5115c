"""``fleetsync reservation`` (demand for devices in a course period) and ``fleetsync forecast``
(that demand against the devices expected to be lendable when the course period starts)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import typer

from fleetsync import services
from fleetsync.cli._context import EXIT_CODES_HELP, ConfigOption, JsonOption, console, print_json
from fleetsync.cli._listing import (
    CsvOption,
    ListFormatOption,
    chosen_format,
    emit_list,
)
from fleetsync.cli.db import cli_actor, opened_ledger
from fleetsync.ledger import forecast as forecasts
from fleetsync.services import courses, reservations

__all__ = ["app", "forecast_command"]

app = typer.Typer(
    help=(
        "Reservations: people registered for a course period who need a device. Demand, never "
        "a particular device; a checkout for that course period fulfils it.\n\n" + EXIT_CODES_HELP
    ),
    no_args_is_help=True,
)


def _say(*objects: Any) -> None:
    console.print(*objects, highlight=False, soft_wrap=True)


_COLUMNS = (
    "reservation", "borrower", "course", "region", "needs_data", "status", "created", "closed",
    "loan", "cancel_reason",
)  # fmt: skip


@app.command("add")
def add(
    borrower_id: Annotated[
        str, typer.Option("--borrower-id", help="The loan desk's id for the person (B-1017).")
    ],
    given_name: Annotated[str, typer.Option("--given-name", help="Their given name.")],
    region: Annotated[str, typer.Option("--region", help="Their region.")],
    course: Annotated[str, typer.Option("--course", help="The course period they registered for.")],
    family_name: Annotated[
        str, typer.Option("--family-name", help="Their family name, if they have one.")
    ] = "",
    needs_data: Annotated[
        bool, typer.Option("--needs-data", help="No internet at home: they need a 4G device.")
    ] = False,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Reserve a device for a person registered for a course period of their region.

    Exits 2 for an unknown course period (the known ones are listed), one that does not run in
    the region or has ended; 3 when they have an open reservation for it already.
    """
    with opened_ledger(config) as (settings, ledger), ledger.transaction() as session:
        view = reservations.add_reservation(
            session,
            borrower=borrower_id,
            given_name=given_name,
            family_name=family_name,
            region=region,
            course=course,
            needs_data=needs_data,
            programme=services.Programme.from_settings(settings),
            actor=cli_actor(),
        )
    if as_json:
        print_json(view.row())
        return
    data = ", 4G" if view.needs_data else ""
    _say(
        f"reservation {view.reservation}: {view.borrower} for {view.course} "
        f"({view.course_from.isoformat()} to {view.course_to.isoformat()}, {view.region}{data})"
    )


@app.command("list")
def list_(
    course: Annotated[
        str | None, typer.Option("--course", help="Only this course period's reservations.")
    ] = None,
    region: Annotated[str | None, typer.Option("--region", help="Only this region's.")] = None,
    open_only: Annotated[
        bool, typer.Option("--open", help="Only open ones (not fulfilled or cancelled).")
    ] = False,
    fmt: ListFormatOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    config: ConfigOption = None,
) -> None:
    """List reservations by course period, region and id, with their status: open, fulfilled
    (by which loan) or cancelled (why)."""
    with opened_ledger(config) as (settings, ledger), ledger.read() as session:
        wanted = (
            None if region is None else services.Programme.from_settings(settings).region(region)
        )
        views = reservations.list_reservations(
            session,
            course=course,
            region=wanted,
            status=reservations.OPEN if open_only else None,
        )
    rows = [v.row() for v in views]
    emit_list(
        rows,
        _COLUMNS,
        chosen_format(fmt, as_json=as_json, as_csv=as_csv),
        title=f"{len(rows)} reservation(s)",
    )


@app.command("cancel")
def cancel(
    reservation: Annotated[
        str, typer.Argument(metavar="RESERVATION", help="The reservation's id, e.g. R-12.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why, for the audit trail.")],
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Cancel an open reservation.

    Exits 4 for an unknown reservation, 3 when it was fulfilled or cancelled already.
    """
    with opened_ledger(config) as (_s, ledger), ledger.transaction() as session:
        view = reservations.cancel_reservation(
            session, reservation=reservation, reason=reason, actor=cli_actor()
        )
    if as_json:
        print_json(view.row())
        return
    _say(f"reservation {view.reservation} ({view.borrower}, {view.course}) cancelled")


_FORECAST_COLUMNS = (
    "course", "first_day", "region", "connectivity", "reserved", "spare", "in_refurbishment",
    "returning", "from_4g", "expected", "balance", "shortfall",
)  # fmt: skip


def forecast_command(
    course: Annotated[
        str | None,
        typer.Option(
            "--course", help="This course period. Default: every one that has not started yet."
        ),
    ] = None,
    fmt: ListFormatOption = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Per course period, region and connectivity: the open reservations against the devices
    expected to be lendable on its first day (spare now + in refurbishment + on loan with an
    agreed end before that day; lost, retired and ICT devices are not lendable; 4G devices left
    over count for wifi), and the balance: a surplus, or a shortfall.

    Exits 2 for an unknown course period.
    """
    with opened_ledger(config) as (_s, ledger), ledger.read() as session:
        chosen = (
            [courses.find_course(session, course)]
            if course is not None
            else forecasts.upcoming_courses(session, today=services.today())
        )
        rows = [
            asdict(row)
            | {
                "first_day": row.first.isoformat(),
                "expected": row.expected + row.from_4g,
                "shortfall": row.shortfall,
            }
            for row in forecasts.course_rows(session, chosen)
        ]
    for row in rows:
        del row["first"]
    emit_list(
        rows,
        _FORECAST_COLUMNS,
        chosen_format(fmt, as_json=as_json),
        title="forecast: reservations against devices expected lendable on the first day",
    )
