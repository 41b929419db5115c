"""``fleetsync staff``: the accounts staff sign in to the desk web app with (``/desk``)."""

from __future__ import annotations

import csv
import sys
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from fleetsync.cli._context import EXIT_CODES_HELP, ConfigOption, console, print_json
from fleetsync.cli.db import cli_actor, opened_ledger
from fleetsync.domain.staff import StaffRole
from fleetsync.services import staff

__all__ = ["app"]

app = typer.Typer(
    help=(
        "Staff accounts of the desk web app (/desk): each person belongs to one desk and has a "
        "role (clerk, technician, admin).\n\n" + EXIT_CODES_HELP
    ),
    no_args_is_help=True,
)


class Format(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


UsernameArgument = Annotated[
    str,
    typer.Argument(
        metavar="USERNAME",
        help="Lower-case letters, digits, '.', '_', '-' (it appears in the audit trail).",
    ),
]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password (at least 12 characters) from standard input instead of "
        "generating one.",
    ),
]


def _given_password(from_stdin: bool) -> str | None:
    if not from_stdin:
        return None
    return sys.stdin.readline().rstrip("\r\n")


def _show_password(new: staff.NewPassword, generated: bool) -> None:
    if generated:
        console.print(
            f"password for {new.username}: {new.password}  (shown once: hand it over now)",
            highlight=False,
            soft_wrap=True,
        )


@app.command("add")
def add(
    username: UsernameArgument,
    desk: Annotated[str, typer.Option("--desk", help="The desk they work at (e.g. antwerpen).")],
    role: Annotated[
        StaffRole,
        typer.Option(
            "--role",
            help="clerk (lend, take back, slips), technician (+ device work), admin (+ all desks).",
        ),
    ] = StaffRole.CLERK,
    name: Annotated[
        str | None, typer.Option("--name", help="Their name as the pages greet them.")
    ] = None,
    password_stdin: PasswordStdin = False,
    config: ConfigOption = None,
) -> None:
    """Add a staff account. Prints a generated password once (or reads one with
    --password-stdin). Exits 3 when the username is taken."""
    given = _given_password(password_stdin)
    with opened_ledger(config) as (_settings, ledger), ledger.transaction() as session:
        new = staff.add_staff(
            session,
            username=username,
            display_name=name or username,
            desk=desk,
            role=role,
            actor=cli_actor(),
            password=given,
        )
        console.print(f"added {new.username} ({role.value}) at desk {desk}", highlight=False)
        _show_password(new, given is None)


@app.command("list")
def list_(
    desk: Annotated[str | None, typer.Option("--desk", help="Only this desk's staff.")] = None,
    output: Annotated[
        Format, typer.Option("--format", help="table, csv (UTF-8, a header row) or json.")
    ] = Format.TABLE,
    config: ConfigOption = None,
) -> None:
    """List the staff accounts (never their passwords)."""
    with opened_ledger(config) as (_settings, ledger), ledger.read() as session:
        members = staff.list_staff(session, desk=desk)
    rows = [
        {
            "username": m.username,
            "name": m.display_name,
            "desk": m.desk,
            "role": m.role.value,
            "disabled": m.disabled,
            "last_sign_in": None
            if m.last_sign_in_at is None
            else m.last_sign_in_at.isoformat(timespec="minutes"),
        }
        for m in members
    ]
    if output is Format.JSON:
        print_json(rows)
    elif output is Format.CSV:
        writer = csv.DictWriter(
            sys.stdout,
            fieldnames=["username", "name", "desk", "role", "disabled", "last_sign_in"],
            lineterminator="\n",
        )
        writer.writeheader()
        writer.writerows(rows)
    else:
        table = Table("username", "name", "desk", "role", "disabled", "last sign-in")
        for m in members:
            table.add_row(
                m.username,
                m.display_name,
                m.desk,
                m.role.value,
                "yes" if m.disabled else "",
                ""
                if m.last_sign_in_at is None
                else m.last_sign_in_at.isoformat(timespec="minutes"),
            )
        console.print(table)


@app.command("disable")
def disable(username: UsernameArgument, config: ConfigOption = None) -> None:
    """Disable an account: it signs in no more and its open sessions end. Exits 4 for an
    unknown username. `reset-password` enables it again."""
    with opened_ledger(config) as (_settings, ledger), ledger.transaction() as session:
        member = staff.disable_staff(session, username=username, actor=cli_actor())
    console.print(f"disabled {member.username}; their sessions have ended", highlight=False)


@app.command("reset-password")
def reset_password(
    username: UsernameArgument, password_stdin: PasswordStdin = False, config: ConfigOption = None
) -> None:
    """Give an account a new password (printed once, or read with --password-stdin), clear its
    failed sign-ins, enable it if disabled, and end its open sessions. Exits 4 for an unknown
    username."""
    given = _given_password(password_stdin)
    with opened_ledger(config) as (_settings, ledger), ledger.transaction() as session:
        new = staff.reset_staff_password(
            session, username=username, actor=cli_actor(), password=given
        )
        console.print(f"new password set for {new.username}", highlight=False)
        _show_password(new, given is None)
