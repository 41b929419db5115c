"""``fleetsync loan`` (and ``fleetsync db``) end to end on SQLite and on PostgreSQL: exit codes,
what the technician sees, the first password shown once and stored only sealed."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from fleetsync import clock, services
from fleetsync.ledger import Ledger, open_ledger
from fleetsync.ledger.models import Base, Borrower, Device, Loan, PendingCredential
from fleetsync.services import reconciled
from fleetsync.settings import Settings
from tests.cli_runner import CliResult, run_cli

Cli = Callable[..., CliResult]
STOCK = (
    "serial,asset_tag,model,region,connectivity\n"
    "5CD1234XYZ,CB-0001,Acer C733,Antwerpen,4g\n"
    "5CD5678ABC,CB-0002,Acer C733,Antwerpen,wifi\n"
    "5CD9999QRS,CB-0003,HP 11 G9,Limburg,wifi\n"
)
UNTIL = "2099-12-31"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path / "data")


@pytest.fixture
def cli(settings: Settings, tmp_path: Path) -> Cli:
    env = {
        "FLEETSYNC_DATABASE_URL": settings.effective_database_url,
        "FLEETSYNC_DATA_DIR": str(settings.data_dir),
    }
    stock = tmp_path / "devices.csv"
    stock.write_text(STOCK)
    assert run_cli("device", "import", str(stock), env=env).exit_code == 0

    def run(*args: str) -> CliResult:
        return run_cli(*args, env=env)

    return run


@pytest.fixture
def ledger(settings: Settings, cli: Cli) -> Iterator[Ledger]:
    with open_ledger(settings) as opened:
        yield opened


def _json(result: CliResult) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def checkout(cli: Cli, *extra: str, serial: str = "CB-0001", borrower: str = "B-1017") -> CliResult:
    return cli(
        "loan", "checkout", "--serial", serial, "--borrower-id", borrower, "--given-name", "Ayşe",
        "--family-name", "Öztürk", "--region", "antwerpen", "--until", UNTIL, *extra,
    )  # fmt: skip


def _course(cli: Cli, name: str) -> None:
    first, last = clock.today() - timedelta(days=1), clock.today() + timedelta(days=60)
    added = cli("course", "add", name, "--from", first.isoformat(), "--to", last.isoformat())
    assert added.exit_code == 0, added.output


def test_checkout_shows_the_first_password_once_and_stores_it_sealed(
    cli: Cli, ledger: Ledger
) -> None:
    _course(cli, "2026 autumn")
    result = checkout(cli, "--needs-data", "--course", "2026 AUTUMN")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"lent 5CD1234XYZ (CB-0001) to B-1017 until {UNTIL}: loan L-1 (Antwerpen, 4G, "
        "course 2026 autumn)"
    )
    assert lines[1] == "account: ayse.ozturk@example.org (new; Google creates it at the next sync)"
    assert lines[2].startswith("first password: ")
    password = lines[2].split()[2]
    assert len(password) == 16
    assert password not in result.stderr
    # Nowhere in the database in clear text, whatever the table.
    with ledger.read() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(sa.select(table)):
                assert password not in json.dumps([str(v) for v in row])
    # The desk cannot collect it a second time: it was handed over here.
    shown = _json(cli("loan", "show", "L-1", "--json"))
    assert (shown["account_email"], shown["account_status"]) == (
        "ayse.ozturk@example.org",
        "active",
    )
    assert (shown["needs_data"], shown["course_period"]) == (True, "2026 autumn")


def test_checkout_can_leave_the_password_sealed(cli: Cli) -> None:
    result = checkout(cli, "--hide-password", "--json")
    data = _json(result)
    assert data["first_password"] is None
    assert data["new_account"] is True
    text = checkout(cli, "--hide-password", serial="CB-0002", borrower="B-1018")
    assert (
        "first password: sealed; `fleetsync loan first-password L-2` shows it once (within 72 h)"
        in text.stdout
    )


def test_checkout_shows_markup_as_written_and_so_does_every_command(
    cli: Cli, ledger: Ledger
) -> None:
    # An asset tag as adoption takes it from Google's annotatedAssetId, names and a course as a
    # desk types them: none of it is Rich markup to fleetsync.
    _course(cli, "[bold]Q4[/bold]")
    with ledger.transaction() as session:
        session.execute(
            sa.update(Device).where(Device.serial == "5CD1234XYZ").values(asset_tag="[/X]")
        )
    result = cli(
        "loan", "checkout", "--serial", "[/x]", "--borrower-id", "B-1", "--given-name",
        "[red]Ann", "--family-name", "[/]", "--region", "Antwerpen", "--until", UNTIL,
        "--course", "[bold]Q4[/bold]",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"lent 5CD1234XYZ ([/X]) to B-1 until {UNTIL}: loan L-1")
    assert "first password: " in result.stdout
    with ledger.read() as session:
        credential = session.scalars(sa.select(PendingCredential)).one()
        assert credential.collected_by is not None  # shown, then marked collected
    shown = cli("loan", "show", "L-1")
    assert "L-1: 5CD1234XYZ ([/X]) to B-1 ([red]Ann [/])" in shown.stdout
    assert "course [bold]Q4[/bold]" in shown.stdout
    for command in (("device", "show", "[/X]"), ("device", "list"), ("loan", "list")):
        listed = cli(*command)
        assert listed.exit_code == 0, listed.output
        assert "[/X]" in listed.stdout
    titled = cli("report", "loans", "--title", "[/X] programme")
    assert (titled.exit_code, "[/X] programme" in titled.stdout) == (0, True)
    returned = cli("loan", "return", "--serial", "[/X]", "--note", "[/note]")
    assert returned.exit_code == 0, returned.output
    assert "[/note]" in cli("loan", "show", "L-1").stdout


def test_a_first_password_that_could_not_be_shown_still_waits(
    settings: Settings, cli: Cli, ledger: Ledger
) -> None:
    # The technician's terminal is gone (a closed pipe) when checkout prints the password.
    reader, writer = os.pipe()
    os.close(reader)
    try:
        process = subprocess.run(
            [sys.executable, "-m", "fleetsync", "loan", "checkout", "--serial", "CB-0001",
             "--borrower-id", "B-1", "--given-name", "Ann", "--family-name", "Lee",
             "--region", "Antwerpen", "--until", UNTIL],
            stdout=writer, stderr=subprocess.PIPE, timeout=120, check=False,
            env={**os.environ, "FLEETSYNC_DATABASE_URL": str(settings.database_url),
                 "FLEETSYNC_DATA_DIR": str(settings.data_dir)},
        )  # fmt: skip
    finally:
        os.close(writer)
    assert process.returncode != 0
    with ledger.read() as session:
        loan = session.scalars(sa.select(Loan)).one()  # the loan itself is made
        credential = session.scalars(sa.select(PendingCredential)).one()
    assert credential.collected_at is None  # never shown, so never marked collected
    assert credential.loan_id == loan.id
    shown = cli("loan", "first-password", "L-1")
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[0] == "loan L-1, borrower B-1: account ann.lee@example.org"
    assert shown.stdout.splitlines()[1].startswith("first password: ")
    again = cli("loan", "first-password", "L-1")
    assert (again.exit_code, "was already collected" in again.stderr) == (3, True)


def test_a_one_day_loan_without_a_family_name(cli: Cli) -> None:
    # The agreed end is the loan's last day: today will do; a family name is optional, as it is
    # for the loan desk's webhook.
    today = clock.today().isoformat()
    result = cli(
        "loan", "checkout", "--serial", "CB-0002", "--borrower-id", "B-7", "--given-name", "Ann",
        "--region", "Antwerpen", "--until", today, "--json",
    )  # fmt: skip
    lent = _json(result)
    assert (lent["agreed_end"], lent["borrower"], lent["desk"]) == (today, "B-7", None)
    assert lent["first_password"] is not None
    extended = cli("loan", "extend", "--loan", "L-1", "--until", "2099-01-01")
    assert extended.exit_code == 0, extended.output


def test_a_known_borrower_id_with_other_names_needs_same_person(cli: Cli, ledger: Ledger) -> None:
    assert checkout(cli).exit_code == 0
    assert cli("loan", "return", "--serial", "CB-0001").exit_code == 0
    other = cli(
        "loan", "checkout", "--serial", "CB-0002", "--borrower-id", "B-1017", "--given-name",
        "John", "--family-name", "Smith", "--region", "Antwerpen", "--until", UNTIL,
    )  # fmt: skip
    assert other.exit_code == 3
    assert "already in the ledger with another given name and family name" in other.stderr
    assert "--same-person" in other.stderr
    for name in ("Ayşe", "Öztürk"):
        assert name not in other.output
    same = cli(
        "loan", "checkout", "--serial", "CB-0002", "--borrower-id", "B-1017", "--given-name",
        "Ayşe", "--family-name", "Öztürk-Peeters", "--region", "Antwerpen", "--until", UNTIL,
        "--same-person",
    )  # fmt: skip
    assert same.exit_code == 0, same.output
    shown = _json(cli("loan", "show", "L-2", "--json"))
    assert (shown["given_name"], shown["family_name"]) == ("Ayşe", "Öztürk-Peeters")


def test_a_checkout_that_meets_an_account_deletion_in_flight_exits_3_saying_what_to_do(
    cli: Cli, ledger: Ledger
) -> None:
    assert checkout(cli).exit_code == 0
    assert cli("loan", "return", "--serial", "CB-0001").exit_code == 0
    with ledger.transaction() as session:
        email = session.scalars(sa.select(Borrower.account_email)).one()
        assert email is not None
        # The reconciler's intent, committed before it asks Google to delete the account.
        assert reconciled.begin_account_deletion(session, "B-1017", email=email, now=clock.now())

    refused = checkout(cli, serial="CB-0002")

    assert refused.exit_code == 3
    assert "is being deleted right now" in refused.stderr
    assert "check the device out again in a few minutes" in refused.stderr
    assert refused.stdout == ""
    with ledger.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Loan)) == 1


@pytest.mark.parametrize(
    ("ref", "code", "message"),
    [
        ("L-\u00b2", 2, "is not a loan id"),  # a digit to str.isdigit(), not to int()
        ("L-99999999999", 4, "there is no loan L-99999999999"),  # beyond the id column
        ("L-" + "9" * 30, 2, "is not a loan id"),
    ],
)
def test_a_loan_id_out_of_range_is_refused_cleanly(
    cli: Cli, ref: str, code: int, message: str
) -> None:
    for command in (("loan", "show", ref), ("loan", "extend", "--loan", ref, "--until", UNTIL)):
        result = cli(*command)
        assert result.exit_code == code, result.output
        assert message in result.stderr


def test_checkout_audits_the_technician(cli: Cli) -> None:
    assert checkout(cli).exit_code == 0
    history = _json(cli("device", "show", "CB-0001", "--json"))["history"]
    assert history[-1]["actor"] == f"cli:{getpass.getuser()}"
    assert (history[-1]["action"], history[-1]["loan"], history[-1]["borrower"]) == (
        "checkout",
        "L-1",
        "B-1017",
    )


CHECKOUT_REFUSALS = [
    ("wifi for data", {"--serial": "CB-0002"}, ["--needs-data"], 3,
     "needs mobile data but device 5CD5678ABC is wifi-only"),
    ("other region", {"--serial": "CB-0003"}, [], 3, "device 5CD9999QRS belongs to region Limburg"),
    ("unknown device", {"--serial": "CB-9999"}, [], 4, "no device has serial or asset tag CB-9999"),
    ("past date", {"--until": "2020-01-01"}, [], 2, "is before today"),
    ("no such day", {"--until": "31/04/2027"}, [], 2, "Invalid value for '--until'"),
    ("unknown region", {"--region": "Gent"}, [], 2, "unknown region 'Gent'"),
    ("desk id", {"--borrower-id": "B 1"}, [], 2, "is not a loan desk id"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "flags", "code", "message"),
    [c[1:] for c in CHECKOUT_REFUSALS],
    ids=[c[0] for c in CHECKOUT_REFUSALS],
)
def test_checkout_refusals(
    cli: Cli, overrides: dict[str, str], flags: list[str], code: int, message: str
) -> None:
    options = {
        "--serial": "CB-0001", "--borrower-id": "B-1", "--given-name": "Jan",
        "--family-name": "Peeters", "--region": "Antwerpen", "--until": UNTIL,
    } | overrides  # fmt: skip
    result = cli("loan", "checkout", *[part for pair in options.items() for part in pair], *flags)
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert result.stdout == ""


def test_return_then_return_again(cli: Cli) -> None:
    assert checkout(cli).exit_code == 0
    returned = cli(
        "loan", "return", "--serial", "5cd1234xyz", "--condition", "damaged", "--note", "hinge"
    )
    assert returned.exit_code == 0
    assert returned.stdout.strip() == (
        "returned 5CD1234XYZ: loan L-1 of B-1017 ended (damaged); account suspended; device in "
        "refurbishment, powerwash requested"
    )
    again = cli("loan", "return", "--serial", "5CD1234XYZ")
    assert again.exit_code == 3
    assert "is in refurbishment since" in again.stderr
    assert "it is not on loan, so there is no loan to return" in again.stderr
    shown = _json(cli("loan", "show", "CB-0001", "--json"))
    assert (shown["loan"], shown["condition"], shown["return_note"]) == ("L-1", "damaged", "hinge")
    assert shown["account_status"] == "suspended"


def test_extend_by_serial_or_loan(cli: Cli) -> None:
    assert checkout(cli, "--until", "2099-06-30").exit_code == 0
    by_serial = cli("loan", "extend", "--serial", "CB-0001", "--until", "2099-09-30")
    assert by_serial.stdout.strip() == (
        "loan L-1 (5CD1234XYZ, B-1017) now ends 2099-09-30 (was 2099-06-30)"
    )
    by_loan = _json(cli("loan", "extend", "--loan", "L-1", "--until", "2099-12-31",
                        "--reason", "course extended", "--json"))  # fmt: skip
    assert (by_loan["previous_end"], by_loan["new_end"]) == ("2099-09-30", "2099-12-31")
    shown = _json(cli("loan", "show", "L-1", "--json"))
    assert [(e["new_end"], e["reason"]) for e in shown["extensions"]] == [
        ("2099-09-30", None),
        ("2099-12-31", "course extended"),
    ]
    shorter = cli("loan", "extend", "--loan", "L-1", "--until", "2099-01-01")
    assert shorter.exit_code == 3
    assert "already runs until 2099-12-31; an extension must end later" in shorter.stderr
    neither = cli("loan", "extend", "--until", "2099-01-01")
    assert neither.exit_code == 2
    assert "name the loan by its device (CB-0001, or --serial) or --loan L-88" in neither.stderr


def test_list_and_overdue(cli: Cli, ledger: Ledger, settings: Settings) -> None:
    # A loan made two months ago for one month: overdue today.
    past = clock.now() - timedelta(days=60)
    with ledger.transaction() as session:
        services.checkout(
            session, device="CB-0002", borrower="B-2", given_name="Els", family_name="Claes",
            region="Antwerpen", until=past.date() + timedelta(days=30),
            programme=services.Programme.from_settings(settings),
            actor="webhook:antwerpen", now=past,
        )  # fmt: skip
    assert checkout(cli).exit_code == 0
    assert [r["loan"] for r in _json(cli("loan", "list", "--json"))] == ["L-1", "L-2"]
    [overdue] = _json(cli("loan", "list", "--overdue", "--json"))
    assert (overdue["loan"], overdue["borrower"], overdue["days_overdue"]) == ("L-1", "B-2", 30)
    assert _json(cli("loan", "list", "--region", "Limburg", "--json")) == []
    assert [r["loan"] for r in _json(cli("loan", "list", "--borrower-id", "B-1017", "--json"))] == [
        "L-2"
    ]
    assert cli("loan", "return", "--serial", "CB-0002").exit_code == 0
    assert [r["loan"] for r in _json(cli("loan", "list", "--json"))] == ["L-2"]
    assert [r["loan"] for r in _json(cli("loan", "list", "--all", "--json"))] == ["L-1", "L-2"]
    table = cli("loan", "list", "--all")
    assert (table.exit_code, "2 loan(s)" in table.stdout) == (0, True)


def test_show_an_unknown_loan(cli: Cli) -> None:
    result = cli("loan", "show", "L-77")
    assert result.exit_code == 4
    assert "there is no loan L-77" in result.stderr
    never = cli("loan", "show", "CB-0003")
    assert (never.exit_code, "device 5CD9999QRS has never been on loan" in never.stderr) == (
        4,
        True,
    )


def test_db_commands(cli: Cli) -> None:
    current = _json(cli("db", "current", "--json"))
    assert (current["current"], current["up_to_date"]) == (current["head"], True)
    upgrade = _json(cli("db", "upgrade", "--json"))
    assert (upgrade["changed"], upgrade["to"]) == (False, current["head"])


def test_db_upgrade_on_an_empty_database(database_url: str, tmp_path: Path) -> None:
    env = {"FLEETSYNC_DATABASE_URL": database_url, "FLEETSYNC_DATA_DIR": str(tmp_path)}
    before = _json(run_cli("db", "current", "--json", env=env))
    assert (before["current"], before["up_to_date"]) == (None, False)
    result = run_cli("db", "upgrade", env=env)
    assert result.exit_code == 0
    assert f"migrated from (empty) to {before['head']}" in " ".join(result.stdout.split())


def test_a_new_first_password_is_shown_once_and_waits_for_google(cli: Cli, ledger: Ledger) -> None:
    lent = _json(cli("loan", "checkout", "--serial", "CB-0001", "--borrower-id", "B-1",
                     "--given-name", "Ann", "--family-name", "Lee", "--region", "Antwerpen",
                     "--until", UNTIL, "--json"))  # fmt: skip
    early = cli("loan", "new-password", "L-1")
    assert (early.exit_code, "not in Google yet" in early.stderr) == (3, True)
    with ledger.transaction() as session:  # what the reconciler records once Google has it
        reconciled.account_created(
            session, "B-1", user_id="u-1", org_unit="/Students/Antwerpen", now=clock.now()
        )
    assert "Google has it since" in cli("loan", "show", "L-1").stdout

    issued = cli("loan", "new-password", "L-1")
    assert issued.exit_code == 0, issued.output
    lines = issued.stdout.splitlines()
    assert lines[0] == (
        "loan L-1, borrower B-1: a new first password for ann.lee@example.org; Google gets it "
        "at the next sync"
    )
    password = lines[1].removeprefix("first password: ").split()[0]
    assert password != lent["first_password"]
    assert len(password) >= 8
    shown = cli("loan", "show", "L-1")
    assert "first password: collected; a password waits for Google" in shown.stdout
    assert password not in shown.stdout
    again = cli("loan", "first-password", "L-1")
    assert (again.exit_code, "was already collected" in again.stderr) == (3, True)

    sealed = _json(cli("loan", "new-password", "L-1", "--hide-password", "--json"))
    assert sealed["first_password"] is None
    assert (sealed["loan"], sealed["borrower"]) == ("L-1", "B-1")
    assert _json(cli("loan", "first-password", "L-1", "--json"))["password"] not in (
        password,
        None,
    )
    assert cli("loan", "new-password", "L-99").exit_code == 4
    cli("loan", "return", "--serial", "CB-0001")
    ended = cli("loan", "new-password", "L-1")
    assert (ended.exit_code, "has ended" in ended.stderr) == (3, True)
