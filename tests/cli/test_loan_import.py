"""`fleetsync loan import`: a running programme's loans brought in, all or nothing, every bad row
by line number, idempotent; open loans put their device on loan and adopt (or create) the
borrower's account. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from fleetsync.ledger import open_ledger
from fleetsync.ledger.models import AuditEvent, Borrower, Device, Loan, OutboxEntry
from fleetsync.settings import Settings
from tests.cli_runner import CliResult, run_cli
from tests.pinned import days_from_today

Cli = Callable[..., CliResult]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path / "data")


@pytest.fixture
def cli(settings: Settings, tmp_path: Path) -> Cli:
    env = {
        "FLEETSYNC_DATABASE_URL": settings.effective_database_url,
        "FLEETSYNC_DATA_DIR": str(settings.data_dir),
    }

    def run(*args: str) -> CliResult:
        return run_cli(*args, env=env)

    devices = tmp_path / "devices.csv"
    devices.write_text(
        "serial,asset_tag,model,region,connectivity\n"
        "5CD1,CB-1,Acer,Antwerpen,wifi\n5CD2,CB-2,Acer,Antwerpen,4g\n5CD3,CB-3,Acer,Limburg,wifi\n"
    )
    assert run("device", "import", str(devices)).exit_code == 0
    assert (
        run("course", "add", "Voorjaar", "--from", "2025-02-01", "--to", "2025-04-30").exit_code
        == 0
    )
    return run


HEADER = (
    "asset_tag;borrower_id;given_name;family_name;region;checked_out;agreed_end;returned;"
    "condition;course;needs_data;account_email\n"
)


def _file(tmp_path: Path, *rows: str) -> str:
    path = tmp_path / "loans.csv"
    path.write_text("\ufeff" + HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return str(path)


def test_bad_rows_are_all_listed_and_nothing_is_written(
    cli: Cli, tmp_path: Path, settings: Settings
) -> None:
    path = _file(
        tmp_path,
        "CB-1;B-1;Ann;Peeters;Antwerpen;2025-02-03;2025-04-30;2025-04-28;ok;Voorjaar;;",
        "CB-9;B-2;Bo;;Antwerpen;2025-02-03;2025-04-30;;;;;",
        "CB-1;B-3;Cas;;Antwerpen;2025-04-01;2025-05-30;2025-05-02;ok;;;",
        "CB-2;B-4;Dirk;;Atlantis;2025-13-01;2025-04-30;;;Herfst;maybe;",
        "CB-3;B-5;Eva;;Limburg;2025-03-01;2025-02-01;2025-03-05;broken;;;",
    )
    result = cli("loan", "import", path)
    assert result.exit_code == 2
    problems = [
        line.strip() for line in result.stderr.splitlines() if line.strip().startswith("line ")
    ]
    assert problems == [
        "line 4: unknown region 'Atlantis' (the regions are Antwerpen, Brussel, Limburg,",
    ] or all(p.startswith(("line 3", "line 4", "line 5", "line 6")) for p in problems)
    text = " ".join(result.stderr.split())
    for expected in (
        "line 5: unknown region 'Atlantis'",
        "line 5: checked_out '2025-13-01' is not a date",
        "line 5: needs_data 'maybe' is not true or false",
        "line 6: agreed_end 2025-02-01 is before checked_out 2025-03-01",
        "line 6: condition 'broken' is not ok, damaged or lost",
    ):
        assert expected in text
    # The rows that parse are checked against the ledger next, all of them too.
    fixed = _file(
        tmp_path,
        "CB-1;B-1;Ann;Peeters;Antwerpen;2025-02-03;2025-04-30;2025-04-28;ok;Voorjaar;;",
        "CB-9;B-2;Bo;;Antwerpen;2025-02-03;2025-04-30;;;;;",
        "CB-1;B-3;Cas;;Antwerpen;2025-04-01;2025-05-30;2025-05-02;ok;;;",
        "CB-3;B-5;Eva;;Limburg;2025-03-01;2025-04-01;2025-03-05;ok;Herfst;true;",
    )
    second = cli("loan", "import", fixed)
    assert second.exit_code == 2
    text = " ".join(second.stderr.split())
    for expected in (
        "line 3: no device has serial or asset tag CB-9",
        "line 4: device 5CD1 is lent to B-1 from 2025-02-03 (line 2): its loans overlap",
        "line 5: unknown course period 'Herfst'",
        "line 5: the borrower needs data and device 5CD3 has no 4G",
    ):
        assert expected in text
    with open_ledger(settings) as ledger, ledger.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Loan)) == 0


def test_history_and_open_loans_come_in_once(cli: Cli, tmp_path: Path, settings: Settings) -> None:
    until = days_from_today(40).isoformat()
    path = _file(
        tmp_path,
        "CB-1;B-1;Ann;Peeters;Antwerpen;2025-02-03;2025-04-30;2025-04-28;damaged;voorjaar;;",
        "CB-1;B-2;Bo;Jacobs;Antwerpen;2025-05-02;2025-06-30;2025-06-30;ok;;;",
        f"CB-2;B-3;Cas;Claes;Antwerpen;2025-09-01;{until};;;;ja;cas.claes@example.org",
        f"CB-3;B-4;Dina;Maes;Limburg;2025-09-01;{until};;;;;",
    )
    dry = json.loads(cli("loan", "import", path, "--dry-run", "--json").stdout)
    assert (dry["imported_closed"], dry["imported_open"], dry["dry_run"]) == (2, 2, True)
    with open_ledger(settings) as ledger, ledger.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Loan)) == 0

    done = cli("loan", "import", path)
    assert done.exit_code == 0, done.output
    assert (
        "imported 2 past and 2 open loan(s) (4 new borrower(s)); 0 already in the ledger"
        in done.stdout
    )
    again = json.loads(cli("loan", "import", path, "--json").stdout)
    assert (again["imported_closed"], again["imported_open"], again["unchanged"]) == (0, 0, 4)

    with open_ledger(settings) as ledger, ledger.read() as session:
        loans = session.scalars(sa.select(Loan).order_by(Loan.id)).all()
        assert [
            (x.device.serial, x.borrower.desk_id, x.course_period, x.return_condition)
            for x in loans
        ] == [
            ("5CD1", "B-1", "Voorjaar", "damaged"),
            ("5CD1", "B-2", None, "ok"),
            ("5CD2", "B-3", None, None),
            ("5CD3", "B-4", None, None),
        ]
        states = dict(session.execute(sa.select(Device.serial, Device.state)).all())
        # History changes no device; open loans put theirs on loan.
        assert states == {"5CD1": "spare", "5CD2": "on_loan", "5CD3": "on_loan"}
        people = {b.desk_id: b for b in session.scalars(sa.select(Borrower))}
        assert (people["B-1"].account_status, people["B-1"].account_email) == ("none", None)
        adopted = people["B-3"]
        assert (adopted.account_email, adopted.adopt_account, adopted.account_status) == (
            "cas.claes@example.org",
            True,
            "active",
        )
        created = people["B-4"]
        assert (created.account_email, created.adopt_account) == ("dina.maes@example.org", False)
        woken = set(
            session.scalars(
                sa.select(OutboxEntry.entity_key).where(OutboxEntry.reason == "loan_import")
            )
        )
        assert woken == {"5CD2", "5CD3", "B-3", "B-4"}  # history asks nothing of Google
        assert (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "loan_import")
            )
            == 4
        )
    # An open loan for a device now on loan again is an overlap.
    clash = _file(tmp_path, f"CB-2;B-9;Zoe;;Antwerpen;2025-10-01;{until};;;;;")
    refused = cli("loan", "import", clash)
    assert refused.exit_code == 2
    assert "device 5CD2 is lent to B-3 from 2025-09-01 (a loan in the ledger)" in " ".join(
        refused.stderr.split()
    )
