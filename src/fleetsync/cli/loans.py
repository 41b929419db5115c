"""``fleetsync loan``: lend devices, take them back, extend loans, and see who has what."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from fleetsync import clock, services
from fleetsync.cli._context import (
    EXIT_CODES_HELP,
    ConfigOption,
    FormatOption,
    JsonOption,
    OutputFormat,
    console,
    day_option,
    output_format,
    print_csv,
    print_json,
)
from fleetsync.cli.db import cli_actor, opened_ledger
from fleetsync.domain.contacts import contact
from fleetsync.domain.errors import InvalidInput, NotFound
from fleetsync.domain.lifecycle import AccountStatus, Condition, Connectivity
from fleetsync.google.gmail import Mailbox
from fleetsync.ledger import progress as ledger_progress
from fleetsync.ledger import queries
from fleetsync.services.agreement import agreement_page
from fleetsync.services.overdue import escalation_steps
from fleetsync.sync.desk_events import notify_desk
from fleetsync.sync.escalate import escalate

__all__ = ["app"]


def _say(*objects: Any) -> None:
    # Long lines wrap at the terminal's edge, never inside a serial or a password.
    console.print(*objects, highlight=False, soft_wrap=True)


app = typer.Typer(
    help=(
        "Lend devices (checkout), take them back (return), extend loans, and list who has "
        "what.\n\n" + EXIT_CODES_HELP
    ),
    no_args_is_help=True,
)

SerialOption = Annotated[
    str | None,
    typer.Option(
        "--serial",
        help="The device's serial or asset tag, exactly (any case; never a prefix); the same as "
        "giving it as the argument.",
    ),
]
DeviceArgument = Annotated[
    str | None,
    typer.Argument(
        metavar="[SERIAL_OR_ASSET_TAG]",
        help="The device's serial or asset tag, exactly (as in every `fleetsync device` command; "
        "--serial says the same).",
        show_default=False,
    ),
]


def _named_device(argument: str | None, serial: str | None) -> str | None:
    """The device, named as in every command (an argument) or with --serial, if either."""
    if argument is not None and serial is not None and argument != serial:
        raise InvalidInput(
            f"two devices named: {argument} and --serial {serial}; name the device once"
        )
    return argument if argument is not None else serial


def _device(argument: str | None, serial: str | None) -> str:
    """The device, named as in every command (an argument) or with --serial: one of them."""
    found = _named_device(argument, serial)
    if found is None:
        raise InvalidInput(
            "name the device: its serial or asset tag as the argument (e.g. CB-0001), or "
            "--serial CB-0001"
        )
    return found


DateOption = Annotated[datetime, day_option("--until", "The agreed last day of the loan.")]


class ReturnCondition(StrEnum):
    OK = "ok"
    DAMAGED = "damaged"


@app.command("checkout")
def checkout(
    borrower_id: Annotated[
        str, typer.Option("--borrower-id", help="The loan desk's id for the borrower (B-1017).")
    ],
    given_name: Annotated[str, typer.Option("--given-name", help="The borrower's given name.")],
    region: Annotated[str, typer.Option("--region", help="The borrower's region.")],
    until: Annotated[
        datetime | None,
        day_option(
            "--until",
            "The agreed last day of the loan. Default: the course period's last day plus "
            "[loans] grace_days",
        ),
    ] = None,
    family_name: Annotated[
        str, typer.Option("--family-name", help="The borrower's family name, if they have one.")
    ] = "",
    needs_data: Annotated[
        bool,
        typer.Option("--needs-data", help="The borrower has no internet at home: a 4G device."),
    ] = False,
    course: Annotated[
        str | None,
        typer.Option(
            "--course",
            help="The course period the loan is for (`fleetsync course list`). Default: the "
            "course period of the borrower's region that contains today.",
        ),
    ] = None,
    same_person: Annotated[
        bool,
        typer.Option(
            "--same-person",
            help="The borrower id is known with other names, and this is the same person (a "
            "name corrected or changed): lend anyway and update the names.",
        ),
    ] = False,
    phone: Annotated[
        str | None,
        typer.Option(
            "--phone", help="The borrower's phone number (optional; kept sealed, for the desk)."
        ),
    ] = None,
    email: Annotated[
        str | None,
        typer.Option(
            "--email",
            help="The borrower's own email address outside Workspace (optional; kept sealed).",
        ),
    ] = None,
    language: Annotated[
        str | None,
        typer.Option(
            "--language", help="nl or en: the language of fleetsync's messages (default nl)."
        ),
    ] = None,
    agreement_signed: Annotated[
        bool,
        typer.Option(
            "--agreement-signed",
            help="The borrower signed the loan agreement ([agreement] version): the loan "
            "records the version and the moment. Required when [agreement] required = true.",
        ),
    ] = False,
    agreement_version: Annotated[
        str | None,
        typer.Option(
            "--agreement-version",
            help="The version they signed, when not the current one's (an outdated version is "
            "refused).",
        ),
    ] = None,
    hide_password: Annotated[
        bool,
        typer.Option(
            "--hide-password",
            help="Do not show a new account's first password now; keep it sealed (`fleetsync "
            "loan first-password LOAN` shows it once).",
        ),
    ] = False,
    device: DeviceArgument = None,
    serial: SerialOption = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Lend a spare device to a borrower until the agreed end date (the loan's last day; today
    for a one-day loan).

    A borrower new to the ledger gets a Workspace account (created in Google at the next
    sync); a returning borrower's suspended account is reactivated. For a new account the
    FIRST PASSWORD IS PRINTED ONCE, here, for the technician to give to the borrower (who
    chooses their own at first sign-in); it is marked collected only once it is printed. Use
    --hide-password to leave it sealed instead (`fleetsync loan first-password` shows it once).

    Exits 3 when the lifecycle refuses (device not spare, wifi device for a borrower who needs
    data, device of another region, borrower who already has a device), when the borrower id
    is known with other names (confirm with --same-person if it is the same person), and when
    the loan agreement is required and not signed (or an outdated version was).
    """
    named = _device(device, serial)
    actor = cli_actor()
    with opened_ledger(config) as (settings, ledger):
        programme = services.Programme.from_settings(settings)
        with ledger.transaction() as session:
            result = services.checkout(
                session,
                device=named,
                borrower=borrower_id,
                given_name=given_name,
                family_name=family_name,
                region=region,
                until=None if until is None else until.date(),
                needs_data=needs_data,
                course_period=course,
                same_person=same_person,
                contact=contact(phone=phone, email=email, language=language),
                programme=programme,
                actor=actor,
                agreement_signed=agreement_signed,
                agreement_version=agreement_version,
            )
        if not result.new_account or hide_password:
            _show_checkout(result, None, as_json, settings.accounts.first_password_ttl_hours)
            return
        # The loan is committed; its password is marked collected in a second transaction that
        # commits only once the password is out: if showing it fails, it still waits (for
        # `loan first-password`, or the desk).
        with ledger.transaction() as session:
            handed = services.collect_first_password(
                session, loan=result.loan, programme=programme, actor=actor
            )
            _show_checkout(result, handed.password, as_json, 0)


def _show_checkout(
    result: services.CheckoutResult, password: str | None, as_json: bool, ttl_hours: int
) -> None:
    if as_json:
        print_json(asdict(result) | {"first_password": password})
    else:
        tag = f" ({result.asset_tag})" if result.asset_tag else ""
        data = ", 4G" if result.connectivity == Connectivity.FOUR_G else ""
        course = f", course {result.course}" if result.course else ""
        _say(
            f"lent {result.serial}{tag} to {result.borrower} until "
            f"{result.agreed_end.isoformat()}: loan {result.loan} ({result.region}{data}{course})",
        )
        if result.new_account:
            _say(f"account: {result.account_email} (new; Google creates it at the next sync)")
        elif result.account_before != AccountStatus.ACTIVE:
            _say(f"account: {result.account_email} ({result.account_before} → active)")
        if password is not None:
            _say(_first_password_line(password))
        elif result.new_account:
            _say(
                f"first password: sealed; `fleetsync loan first-password {result.loan}` shows "
                f"it once (within {ttl_hours} h)"
            )
    _flush()


def _first_password_line(password: str) -> Text:
    return Text.assemble(
        "first password: ",
        (password, "bold"),
        "  (give it to the borrower now: it is not shown again; they choose their own at first "
        "sign-in)",
    )


def _flush() -> None:
    # Out of our buffers before the caller commits: what could not be written is not "shown".
    console.file.flush()


@app.command("first-password")
def first_password(
    loan: Annotated[str, typer.Argument(metavar="LOAN", help="The loan's id, e.g. L-88.")],
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Show the first password sealed for a loan's new account, once, and mark it collected.

    For a password checkout did not show (--hide-password, or its output was lost) while the
    loan is open; the loan desk can then no longer collect it.

    Exits 4 when no password waits for the loan (the account existed already, or the password
    expired), 3 when it was collected already or the loan has ended.
    """
    with opened_ledger(config) as (settings, ledger), ledger.transaction() as session:
        handed = services.collect_first_password(
            session,
            loan=loan,
            programme=services.Programme.from_settings(settings),
            actor=cli_actor(),
        )
        if as_json:
            print_json(asdict(handed))
        else:
            _say(f"loan {handed.loan}, borrower {handed.borrower}: account {handed.email}")
            _say(_first_password_line(handed.password))
        _flush()


@app.command("new-password")
def new_password(
    loan: Annotated[str, typer.Argument(metavar="LOAN", help="The loan's id, e.g. L-88.")],
    hide_password: Annotated[
        bool,
        typer.Option(
            "--hide-password",
            help="Do not show the new password now; keep it sealed for the loan's desk (the "
            "slip) or `fleetsync loan first-password LOAN`, which show it once.",
        ),
    ] = False,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Issue a new first password for the account of an open loan's borrower, who lost theirs,
    and show it once (as checkout shows the first). Google gets it at the next sync (the
    daemon's, within minutes; or `fleetsync sync`), with "change at next sign-in" as for a new
    account; until then the old password still works.

    Exits 4 when the loan does not exist, 3 when it has ended, when the account is being
    deleted, or when Google does not have the account yet (it is created with the first
    password, which `loan first-password` shows if it was not collected).
    """
    actor = cli_actor()
    with opened_ledger(config) as (settings, ledger):
        programme = services.Programme.from_settings(settings)
        with ledger.transaction() as session:
            issued = services.issue_first_password(
                session, loan=loan, programme=programme, actor=actor
            )
        password: str | None = None
        # Issued and committed; like checkout's, the password is marked collected in a second
        # transaction that commits only once it is out: if showing it fails, it still waits.
        with ledger.transaction() as session:
            if not hide_password:
                password = services.collect_first_password(
                    session, loan=issued.loan, programme=programme, actor=actor
                ).password
            if as_json:
                print_json(asdict(issued) | {"first_password": password})
            else:
                _say(
                    f"loan {issued.loan}, borrower {issued.borrower}: a new first password for "
                    f"{issued.email}; Google gets it at the next sync"
                )
                if password is None:
                    _say(
                        f"first password: sealed; `fleetsync loan first-password {issued.loan}` "
                        f"(or the desk's slip) shows it once (within "
                        f"{settings.accounts.first_password_ttl_hours} h)"
                    )
                else:
                    _say(_first_password_line(password))
            _flush()


@app.command("unlock")
def unlock(
    loan: Annotated[str, typer.Argument(metavar="LOAN", help="The loan's id, e.g. L-88.")],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why the lock is withdrawn (audit trail).")
    ] = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Withdraw an overdue loan's lock: Google re-enables the device at the next sync, and this
    loan is never locked again. Exits 3 when the loan has no lock to withdraw."""
    with opened_ledger(config) as (_s, ledger), ledger.transaction() as session:
        ref = services.unlock(session, loan=loan, reason=reason, actor=cli_actor())
    if as_json:
        print_json({"loan": ref, "lock": "unlocking"})
        return
    _say(f"loan {ref}: lock withdrawn; the device is re-enabled at the next sync")


@app.command("escalate")
def escalate_command(as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Take the overdue steps due now ([overdue]: reminders, notices, locks), each once per
    loan, as the daemon does every hour: send the messages, settle locks Google confirmed, and
    tell the desk. Locks themselves are carried out by the next sync."""
    with opened_ledger(config) as (settings, ledger):
        programme = services.Programme.from_settings(settings)
        sender = settings.messages.sender
        mailbox = (
            Mailbox(settings.google, sender=sender, sender_name=settings.messages.sender_name)
            if sender
            else None
        )
        try:
            report = escalate(
                ledger,
                settings,
                programme=programme,
                mailbox=mailbox,
                notify=lambda payload: notify_desk(settings, payload),
            )
        finally:
            if mailbox is not None:
                mailbox.close()
    if as_json:
        print_json(report.to_json())
        return
    _say(
        f"messages sent: {len(report.sent)}, failed: {len(report.failed)}; locks settled: "
        f"{report.settled}; desk events sent: {report.notified}"
    )


@app.command("return")
def return_(
    device: DeviceArgument = None,
    serial: SerialOption = None,
    condition: Annotated[
        ReturnCondition,
        typer.Option("--condition", case_sensitive=False, help="The device's condition on return."),
    ] = ReturnCondition.OK,
    note: Annotated[
        str | None,
        typer.Option("--note", help="What the technician noticed (kept with the loan)."),
    ] = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Take a device back: the loan ends, the borrower's account is suspended, and the device
    goes to refurbishment, where Google powerwashes it.

    Exits 3 when the device is not on loan.
    """
    named = _device(device, serial)
    with opened_ledger(config) as (_s, ledger), ledger.transaction() as session:
        change = services.return_device(
            session,
            device=named,
            condition=Condition(condition.value),
            note=note,
            actor=cli_actor(),
        )
    if as_json:
        print_json(asdict(change))
        return
    account = f"; account {change.account}" if change.account else ""
    _say(
        f"returned {change.serial}: loan {change.loan} of {change.borrower or ''} ended "
        f"({condition.value}){account}; device in refurbishment, powerwash {change.powerwash}",
    )


@app.command("extend")
def extend(
    until: DateOption,
    device: DeviceArgument = None,
    serial: SerialOption = None,
    loan: Annotated[str | None, typer.Option("--loan", help="The loan's id, e.g. L-88.")] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why, for the audit trail.")
    ] = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Agree a later end date for an open loan, named by its device (the argument, or --serial)
    or by its id (--loan).

    Exits 3 when the loan is not open or the new date is not later than the current one.
    """
    serial = _named_device(device, serial)
    if (serial is None) == (loan is None):
        raise InvalidInput("name the loan by its device (CB-0001, or --serial) or --loan L-88")
    with opened_ledger(config) as (_s, ledger), ledger.transaction() as session:
        extension = services.extend_loan(
            session,
            device=serial,
            loan=loan,
            until=until.date(),
            reason=reason,
            actor=cli_actor(),
        )
    if as_json:
        print_json(asdict(extension))
        return
    _say(
        f"loan {extension.loan} ({extension.serial}, {extension.borrower}) now ends "
        f"{extension.new_end.isoformat()} (was {extension.previous_end.isoformat()})",
    )


#: The columns of `fleetsync loan list --format csv` (a borrower by desk id, never by name).
LOAN_COLUMNS = ("loan", "serial", "asset_tag", "borrower", "region", "connectivity",
                "needs_data", "course_period", "checked_out_at", "agreed_end", "overdue",
                "days_overdue", "returned_at", "condition")  # fmt: skip


@app.command("list")
def list_loans(
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only open loans past their agreed end.")
    ] = False,
    region: Annotated[
        str | None, typer.Option("--region", help="Only loans made in this region.")
    ] = None,
    borrower_id: Annotated[
        str | None, typer.Option("--borrower-id", help="Only this borrower's loans.")
    ] = None,
    include_returned: Annotated[
        bool, typer.Option("--all", help="Returned loans too, not only open ones.")
    ] = False,
    fmt: FormatOption = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """List open loans (or all with --all), earliest agreed end first, with the step each has
    reached in the overdue escalation. With --overdue, also the borrower's contact details
    given at checkout (phone, email outside Workspace, language)."""
    fmt = output_format(fmt, as_json)
    with opened_ledger(config) as (settings, ledger), ledger.read() as session:
        programme = services.Programme.from_settings(settings)
        wanted = None if region is None else programme.region(region)
        rows = queries.loan_rows(
            session,
            today=services.today(),
            include_returned=include_returned,
            overdue=overdue,
            region=wanted,
            borrower=borrower_id,
        )
        rows = services.with_escalation(session, rows, key=programme.key if overdue else None)
    if fmt is OutputFormat.JSON:
        print_json(rows)
        return
    if fmt is OutputFormat.CSV:
        print_csv(rows, LOAN_COLUMNS)
        return
    table = Table(
        "loan",
        "serial",
        "asset tag",
        "borrower",
        "region",
        "conn",
        "data",
        "out",
        "until",
        "overdue",
        "step",
        *(["contact"] if overdue else []),
        "returned",
        title=f"{len(rows)} loan(s)",
    )
    for row in rows:
        contact = row.get("contact") or {}
        reach = [" ".join(v for v in (contact.get("phone"), contact.get("email")) if v)]
        table.add_row(
            row["loan"],
            row["serial"],
            row["asset_tag"] or "",
            row["borrower"],
            row["region"],
            row["connectivity"],
            "yes" if row["needs_data"] else "",
            row["checked_out_at"][:10],
            row["agreed_end"],
            Text(f"{row['days_overdue']} d", style="red") if row["overdue"] else "",
            row["escalation"] or "",
            *(reach if overdue else []),
            f"{row['returned_at'][:10]} {row['condition']}" if row["returned_at"] else "",
        )
    _say(table)


@app.command("show")
def show(
    ref: Annotated[
        str,
        typer.Argument(
            metavar="LOAN_OR_DEVICE",
            help="A loan id (L-88), or a device's serial or asset tag for its current or "
            "latest loan.",
        ),
    ],
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Show one loan: device, borrower and account, dates, extensions, how it ended."""
    today = services.today()
    with opened_ledger(config) as (_s, ledger), ledger.read() as session:
        if ref.strip().upper().startswith("L-"):
            loan = queries.find_loan(session, ref)
        else:
            device = queries.find_device(session, ref)
            loans = device.loans
            if not loans:
                raise NotFound(f"device {device.serial} has never been on loan")
            loan = loans[-1]
        person = loan.borrower
        detail: dict[str, Any] = queries.loan_row(
            loan,
            serial=loan.device.serial,
            asset_tag=loan.device.asset_tag,
            borrower=person.desk_id,
            today=today,
        ) | {
            "given_name": person.given_name,
            "family_name": person.family_name,
            "account_email": person.account_email,
            "account_status": person.account_status,
            "extensions": queries.loan_extensions(session, loan.id),
            "agreement_version": loan.agreement_version,
            "agreement_signed_at": None
            if loan.agreement_signed_at is None
            else loan.agreement_signed_at.isoformat(),
            "escalation": escalation_steps(session, [loan.id]).get(loan.id),
            "first_password": _first_password(session, loan),
        }
    if as_json:
        print_json(detail)
        return
    _render_loan(detail, today)


def _render_loan(d: dict[str, Any], today: date) -> None:
    name = f"{d['given_name'] or ''} {d['family_name'] or ''}".strip() or "(pseudonymised)"
    _say(
        Text.assemble(
            (d["loan"], "bold"),
            f": {d['serial']} ({d['asset_tag'] or '-'}) to {d['borrower']} ({name})",
        )
    )
    _say(f"account: {d['account_email'] or 'none'} ({d['account_status']})")
    data = ", needs data" if d["needs_data"] else ""
    _say(f"region {d['region']}, {d['connectivity']}{data}; course {d['course_period'] or '-'}")
    _say(f"out {d['checked_out_at'][:10]}, agreed end {d['agreed_end']}")
    if d.get("agreement_version"):
        _say(
            f"loan agreement: version {d['agreement_version']} signed "
            f"{d['agreement_signed_at'][:10]}"
        )
    for ext in d["extensions"]:
        _say(
            f"  extended {ext['at'][:10]} by {ext['actor']}: {ext['previous_end']} → "
            f"{ext['new_end']} {ext['reason'] or ''}",
        )
    if d["returned_at"]:
        note = f": {d['return_note']}" if d["return_note"] else ""
        _say(f"ended {d['returned_at'][:10]} ({d['condition']}){note}")
    elif d["overdue"]:
        _say(
            Text.assemble(
                (f"overdue by {d['days_overdue']} day(s)", "red"), f" (today {today.isoformat()})"
            )
        )
    if d.get("escalation"):
        _say(f"overdue escalation: {d['escalation']}")
    password = d.get("first_password") or {}
    if password.get("state", "none") != "none":
        if password.get("google_since"):
            google = f"Google has it since {password['google_since'][:16].replace('T', ' ')}"
        elif password.get("google_waits"):
            google = "a password waits for Google: it gets it at the next sync"
        else:
            google = "Google does not get it"
        _say(f"first password: {password['state']}; {google}")


def _first_password(session: Any, loan: Any) -> dict[str, Any]:
    """Whether a first password waits for collection, and whether Google has it yet."""
    at = clock.now()
    in_google = ledger_progress.first_password_in_google(session, loan, at)
    return {
        "state": ledger_progress.first_password_state(session, loan, at),
        "google_waits": in_google.waits,
        "google_since": None if in_google.since is None else in_google.since.isoformat(),
    }


@app.command("agreement")
def agreement(
    loan: Annotated[str, typer.Argument(metavar="LOAN", help="The loan's id, e.g. L-88.")],
    out: Annotated[
        Path,
        typer.Option("--out", dir_okay=False, metavar="FILE", help="Write the page here (HTML)."),
    ],
    config: ConfigOption = None,
) -> None:
    """Write the loan agreement filled in for a loan (borrower, device, agreed end, return
    address) as one self-contained HTML page to print on A4 and sign.

    Exits 4 for an unknown loan, 2 when no agreement text is configured or FILE cannot be
    written.
    """
    with opened_ledger(config) as (settings, ledger), ledger.read() as session:
        page = agreement_page(
            session,
            loan=loan,
            programme=services.Programme.from_settings(settings),
            actor=cli_actor(),
            now=clock.now(),
        )
    try:
        out.write_text(page.html, encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot write {out}: {exc.strerror}; choose another --out") from None
    _say(f"wrote {out}: the loan agreement (version {page.version}) for {page.loan}")


@app.command("import")
def import_(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            metavar="FILE.csv",
            help="CSV (UTF-8, , or ;): serial or asset_tag, borrower_id, given_name, "
            "family_name, region, checked_out, agreed_end, returned, condition, course, "
            "needs_data, account_email.",
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the file and report; write nothing.")
    ] = False,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Bring a running programme's loans in: past loans (returned given) as history, open ones
    with their device on loan and the borrower's existing account (account_email) adopted at
    the next reconcile, or a new one created as at a checkout.

    All or nothing: when any row is bad, every problem is listed with its line number, nothing
    is written, and the exit code is 2. Importing the same file again changes nothing.
    """
    from fleetsync.domain.errors import InvalidRows
    from fleetsync.services import loan_import

    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{file} is not UTF-8 text; save it as 'CSV UTF-8'") from None
    with opened_ledger(config) as (settings, ledger):
        try:
            rows = loan_import.parse_loans_csv(text, regions=settings.regions)
            unit = ledger.read() if dry_run else ledger.transaction()
            with unit as session:
                report = loan_import.import_loans(
                    session,
                    rows,
                    programme=services.Programme.from_settings(settings),
                    actor=cli_actor(),
                )
        except InvalidRows as exc:
            raise InvalidRows(f"{file}: {exc}", exc.problems) from None
    result = {"file": str(file), "dry_run": dry_run} | asdict(report)
    if as_json:
        print_json(result)
        return
    verb = "would import" if dry_run else "imported"
    _say(
        f"{file}: {verb} {report.imported_closed} past and {report.imported_open} open loan(s) "
        f"({report.new_borrowers} new borrower(s)); {report.unchanged} already in the ledger"
    )
    if report.adopted_accounts:
        _say(
            f"{len(report.adopted_accounts)} existing account(s) to adopt at the next sync "
            "(`fleetsync status` reports one Google does not have)"
        )
