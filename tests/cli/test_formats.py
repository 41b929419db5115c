"""Every list (``device list``, ``loan list``, ``status``) as a table, CSV or JSON; and output that
goes to a file or a pipe is never cut to the terminal's width."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from fleetsync.ledger import create_ledger_engine
from fleetsync.ledger.models import DaemonReplica
from tests.cli_runner import CliResult, run_cli
from tests.pinned import PINNED_AT

LONG_SERIAL = "5CD2345ABCDEFGHIJKLMNOPQRSTU"
LONG_MODEL = "Lenovo 300e Yoga Chromebook Gen 4 (82W2000XBE; Mediatek Kompanio 520)"
STOCK = (
    "serial,asset_tag,model,region,connectivity\n"
    f"{LONG_SERIAL},AII-2025-000123,{LONG_MODEL},West-Vlaanderen,4g\n"
    "5CD5678ABC,CB-0002,Acer C733,Antwerpen,wifi\n"
)

Cli = Callable[..., CliResult]


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    env = {"FLEETSYNC_DATABASE_URL": database_url, "FLEETSYNC_DATA_DIR": str(tmp_path / "data")}

    def run(*args: str) -> CliResult:
        return run_cli(*args, env=env)

    path = tmp_path / "devices.csv"
    path.write_text(STOCK, encoding="utf-8")
    assert run("device", "import", str(path)).exit_code == 0
    checkout = run(
        "loan", "checkout", "--serial", "CB-0002", "--borrower-id", "B-1017", "--given-name",
        "Jan", "--family-name", "Peeters", "--region", "Antwerpen", "--until", "2099-12-31",
    )  # fmt: skip
    assert checkout.exit_code == 0, checkout.output
    return run


def _csv(result: CliResult) -> list[dict[str, str]]:
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def _json(result: CliResult) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_piped_table_is_never_truncated(cli: Cli) -> None:
    # CliRunner's stdout is not a terminal, like `fleetsync device list | grep ...`.
    table = cli("device", "list")
    assert table.exit_code == 0
    assert LONG_SERIAL in table.stdout
    assert LONG_MODEL in table.stdout
    assert "AII-2025-000123" in table.stdout
    assert "…" not in table.stdout
    loans = cli("loan", "list").stdout
    assert "5CD5678ABC" in loans
    assert "…" not in loans


def test_device_list_as_csv_and_json(cli: Cli) -> None:
    rows = _csv(cli("device", "list", "--format", "csv"))
    assert [r["serial"] for r in rows] == ["5CD5678ABC", LONG_SERIAL]
    lent, spare = rows
    assert spare == {
        "serial": LONG_SERIAL, "asset_tag": "AII-2025-000123", "model": LONG_MODEL,
        "region": "West-Vlaanderen", "connectivity": "4g", "state": "spare",
        "state_since": spare["state_since"], "loan": "", "borrower": "", "until": "",
        "overdue": "",
    }  # fmt: skip
    assert (lent["state"], lent["borrower"], lent["until"]) == ("on_loan", "B-1017", "2099-12-31")
    as_json = _json(cli("device", "list", "--format", "json"))
    assert as_json == _json(cli("device", "list", "--json"))
    assert [d["serial"] for d in as_json] == [r["serial"] for r in rows]


def test_loan_list_as_csv_names_borrowers_by_desk_id_only(cli: Cli) -> None:
    result = cli("loan", "list", "--format", "csv")
    rows = _csv(result)
    assert [(r["serial"], r["borrower"], r["agreed_end"]) for r in rows] == [
        ("5CD5678ABC", "B-1017", "2099-12-31")
    ]
    assert "Peeters" not in result.stdout
    assert [r["loan"] for r in rows] == [r["loan"] for r in _json(cli("loan", "list", "--json"))]


def test_status_as_csv_is_the_fleet_table(cli: Cli) -> None:
    rows = {r["region"]: r for r in _csv(cli("status", "--format", "csv"))}
    assert set(rows) == {"Antwerpen", "West-Vlaanderen", "all"}
    everything = rows["all"]
    assert (everything["spare"], everything["on_loan"], everything["lendable"]) == ("1", "1", "2")
    assert rows["Antwerpen"]["on_loan"] == "1"
    assert _json(cli("status", "--format", "json"))["fleet"]


def test_json_and_another_format_disagree(cli: Cli) -> None:
    result = cli("device", "list", "--json", "--format", "csv")
    assert result.exit_code == 2
    assert "disagree" in result.stderr
    assert result.stdout == ""


def test_status_without_a_daemon_says_so(cli: Cli, database_url: str) -> None:
    never = cli("status")
    assert "daemons: none running, and none has run on this ledger" in never.stdout
    assert "next reconcile: none, no daemon is running" in never.stdout

    # A daemon killed without a chance to say so: its last heartbeat, long ago, is the moment.
    engine = create_ledger_engine(database_url)
    beat = PINNED_AT - timedelta(hours=3)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.insert(DaemonReplica).values(
                    replica="ict-01:4242", leader=True, started_at=beat, heartbeat_at=beat
                )
            )
    finally:
        engine.dispose()
    killed = _json(cli("status", "--json"))
    assert killed["daemons"] == []
    assert killed["last_daemon"] == {"replica": "ict-01:4242", "stopped_cleanly": False}
    assert datetime.fromisoformat(killed["no_daemon_since"]) == beat
    assert "(ict-01:4242 last heard from then)" in cli("status").stdout
