"""``fleetsync device`` end to end, as a technician types it, on SQLite and on PostgreSQL:
exit codes, what lands on stdout and stderr, and the ledger afterwards."""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli_runner import CliResult, run_cli

HEADER = "serial,asset_tag,model,region,connectivity\n"
STOCK = (
    HEADER
    + "5CD1234XYZ,CB-0001,Acer C733,Antwerpen,4g\n"
    + "5CD5678ABC,CB-0002,Acer C733,Antwerpen,wifi\n"
    + "5CD9999QRS,CB-0003,HP 11 G9,Limburg,wifi\n"
)


Cli = Callable[..., CliResult]


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    env = {"FLEETSYNC_DATABASE_URL": database_url, "FLEETSYNC_DATA_DIR": str(tmp_path / "data")}

    def run(*args: str) -> CliResult:
        return run_cli(*args, env=env)

    return run


@pytest.fixture
def stock(cli: Cli, tmp_path: Path) -> Path:
    path = tmp_path / "devices.csv"
    path.write_text(STOCK, encoding="utf-8")
    result = cli("device", "import", str(path))
    assert result.exit_code == 0, result.output
    return path


def _json(result: CliResult) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _state(cli: Cli, ref: str) -> str:
    return str(_json(cli("device", "show", ref, "--json"))["state"])


def _checkout(cli: Cli, serial: str = "5CD1234XYZ") -> CliResult:
    return cli(
        "loan", "checkout", "--serial", serial, "--borrower-id", "B-1017", "--given-name", "Jan",
        "--family-name", "Peeters", "--region", "Antwerpen", "--until", "2099-12-31",
    )  # fmt: skip


# -------------------------------------------------------------------------------------- import
def test_import_then_import_again_changes_nothing(cli: Cli, stock: Path) -> None:
    again = cli("device", "import", str(stock))
    assert again.exit_code == 0
    assert again.stdout.strip() == f"{stock}: imported 0 new, 0 updated, 3 unchanged"
    devices = _json(cli("device", "list", "--json"))
    assert [d["serial"] for d in devices] == ["5CD1234XYZ", "5CD5678ABC", "5CD9999QRS"]
    assert {d["state"] for d in devices} == {"spare"}
    history = _json(cli("device", "show", "CB-0001", "--json"))["history"]
    assert [(h["action"], h["actor"]) for h in history] == [("import", f"cli:{getpass.getuser()}")]


def test_a_bad_file_is_reported_line_by_line_and_nothing_is_written(
    cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        HEADER
        + "5CD1,CB-1,Acer,Antwerpen,wifi\n5CD2,CB-2,Acer,Gent,wifi\n5CD1,CB-3,Acer,Limburg,lte\n"
    )
    result = cli("device", "import", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"{path}: nothing was imported; fix 2 problem(s)" in result.stderr
    assert "line 3: unknown region 'Gent'" in result.stderr
    assert "line 4: serial 5CD1 is already the serial on line 2" in result.stderr
    assert _json(cli("device", "list", "--json")) == []


def test_a_changed_row_needs_update(cli: Cli, stock: Path) -> None:
    stock.write_text(
        STOCK.replace("5CD9999QRS,CB-0003,HP 11 G9,Limburg", "5CD9999QRS,CB-0003,HP 11 G9,Brussel")
    )
    refused = cli("device", "import", str(stock))
    assert refused.exit_code == 2
    assert "line 4: device 5CD9999QRS is already in the ledger with region 'Limburg' (file: " in (
        refused.stderr
    )
    dry = cli("device", "import", str(stock), "--update", "--dry-run")
    assert dry.stdout.startswith(f"{stock}: would import 0 new, 1 updated, 2 unchanged")
    assert _json(cli("device", "show", "5CD9999QRS", "--json"))["region"] == "Limburg"
    applied = _json(cli("device", "import", str(stock), "--update", "--json"))
    assert applied["updated"] == {"5CD9999QRS": {"region": ["Limburg", "Brussel"]}}
    assert _json(cli("device", "show", "5CD9999QRS", "--json"))["region"] == "Brussel"


def test_a_file_that_is_not_utf8(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "5CD1,CB-1,Acer Ç,Antwerpen,wifi\n").encode("latin-1"))
    result = cli("device", "import", str(path))
    assert (result.exit_code, result.stderr.split(":", 1)[0]) == (2, "error")
    assert "is not UTF-8 text" in result.stderr


# --------------------------------------------------------------------------------- reading
@pytest.mark.parametrize(
    ("filters", "serials"),
    [
        ((), ["5CD1234XYZ", "5CD5678ABC", "5CD9999QRS"]),
        (("--region", "limburg"), ["5CD9999QRS"]),
        (("--connectivity", "4g"), ["5CD1234XYZ"]),
        (("--state", "on_loan"), ["5CD1234XYZ"]),
        (("--state", "spare", "--region", "Antwerpen"), ["5CD5678ABC"]),
    ],
    ids=["all", "region", "connectivity", "state", "state and region"],
)
def test_list_filters(cli: Cli, stock: Path, filters: tuple[str, ...], serials: list[str]) -> None:
    assert _checkout(cli).exit_code == 0
    devices = _json(cli("device", "list", *filters, "--json"))
    assert [d["serial"] for d in devices] == serials


def test_list_shows_the_current_loan(cli: Cli, stock: Path) -> None:
    assert _checkout(cli).exit_code == 0
    [device] = _json(cli("device", "list", "--state", "on_loan", "--json"))
    assert device["current_loan"] == {
        "loan": "L-1",
        "borrower": "B-1017",
        "checked_out_at": device["current_loan"]["checked_out_at"],
        "agreed_end": "2099-12-31",
        "overdue": False,
    }
    table = cli("device", "list", "--state", "on_loan")
    assert table.exit_code == 0
    assert "1 device(s)" in table.stdout


def test_an_unknown_region_is_a_usage_error(cli: Cli, stock: Path) -> None:
    result = cli("device", "list", "--region", "Gent")
    assert result.exit_code == 2
    assert "unknown region 'Gent'; the programme's regions are Antwerpen, Brussel" in result.stderr


def test_show_tells_the_whole_story(cli: Cli, stock: Path) -> None:
    assert _checkout(cli).exit_code == 0
    assert cli("loan", "return", "--serial", "CB-0001", "--condition", "damaged").exit_code == 0
    shown = _json(cli("device", "show", "cb-0001", "--json"))
    assert (shown["serial"], shown["state"], shown["current_loan"]) == (
        "5CD1234XYZ",
        "in_refurbishment",
        None,
    )
    assert [h["action"] for h in shown["history"]] == ["import", "checkout", "return"]
    assert [(c["kind"], c["state"], c["loan"]) for c in shown["commands"]] == [
        ("REMOTE_POWERWASH", "REQUESTED", "L-1")
    ]
    assert [(loan["loan"], loan["condition"]) for loan in shown["loans"]] == [("L-1", "damaged")]
    text = cli("device", "show", "5CD1234XYZ")
    assert text.exit_code == 0
    assert "state: in_refurbishment since" in text.stdout
    assert "return L-1 B-1017: state: on_loan → in_refurbishment" in text.stdout


@pytest.mark.parametrize(
    "ref", ["5CD1234", "CB-000", "5CD1234XYZ0"], ids=["prefix", "tag prefix", "longer"]
)
def test_a_device_is_never_found_by_prefix(cli: Cli, stock: Path, ref: str) -> None:
    result = cli("device", "show", ref)
    assert result.exit_code == 4
    assert result.stdout == ""
    assert f"no device has serial or asset tag {ref}" in result.stderr
    assert "fleetsync device list" in result.stderr


# ------------------------------------------------------------------------------- lifecycle
def test_reprovision_a_device_on_loan_is_refused_with_what_to_do(cli: Cli, stock: Path) -> None:
    assert _checkout(cli).exit_code == 0
    result = cli("device", "reprovision", "5CD1234XYZ")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert "device 5CD1234XYZ is on loan to borrower B-1017 since" in result.stderr
    assert "(loan L-1); return it before re-provisioning" in result.stderr
    assert _state(cli, "5CD1234XYZ") == "on_loan"


def test_refurbishment_and_ready(cli: Cli, stock: Path) -> None:
    done = cli("device", "reprovision", "CB-0002", "--reason", "keyboard sticks")
    assert (done.exit_code, done.stdout.strip()) == (
        0,
        "device 5CD5678ABC (CB-0002): spare → in_refurbishment; powerwash requested",
    )
    waiting = cli("device", "ready", "CB-0002")
    assert waiting.exit_code == 3
    assert "its powerwash was asked for on" in waiting.stderr
    no_reason = cli("device", "ready", "CB-0002", "--force")
    assert (no_reason.exit_code, "--force needs --reason" in no_reason.stderr) == (2, True)
    forced = _json(
        cli("device", "ready", "CB-0002", "--force", "--reason", "wiped by hand", "--json")
    )
    assert (forced["after"], forced["forced"], forced["powerwash"]) == ("spare", True, "cancelled")
    history = _json(cli("device", "show", "CB-0002", "--json"))["history"]
    assert [(h["action"], h["reason"]) for h in history][-2:] == [
        ("reprovision", "keyboard sticks"),
        ("ready", "wiped by hand"),
    ]


def test_lost_found_retire_and_the_ict_pool(cli: Cli, stock: Path) -> None:
    assert _checkout(cli).exit_code == 0
    lost = cli("device", "lost", "5CD1234XYZ", "--reason", "stolen")
    assert lost.stdout.strip() == (
        "device 5CD1234XYZ (CB-0001): on_loan → lost; loan L-1 of borrower B-1017 ended; "
        "account of borrower B-1017 suspended"
    )
    assert cli("loan", "checkout", "--serial", "5CD1234XYZ", "--borrower-id", "B-2", "--given-name",
               "Els", "--family-name", "Claes", "--region", "Antwerpen", "--until",
               "2099-01-01").exit_code == 3  # fmt: skip
    assert cli("device", "found", "5CD1234XYZ").exit_code == 0
    assert _state(cli, "5CD1234XYZ") == "in_refurbishment"
    assert cli("device", "retire", "5CD1234XYZ").exit_code == 2  # --reason is required
    assert cli("device", "retire", "5CD1234XYZ", "--reason", "board dead").exit_code == 0
    again = cli("device", "reprovision", "5CD1234XYZ")
    assert again.exit_code == 3
    assert "was retired on" in again.stderr
    assert "a retired device never comes back" in again.stderr
    assert cli("device", "ict-test", "5CD5678ABC").exit_code == 0
    assert _state(cli, "5CD5678ABC") == "ict_test"


def test_set_region(cli: Cli, stock: Path) -> None:
    moved = cli("device", "set-region", "CB-0003", "antwerpen")
    assert (moved.exit_code, moved.stdout.strip()) == (
        0,
        "device 5CD9999QRS: region Limburg → Antwerpen",
    )
    assert _json(cli("device", "show", "CB-0003", "--json"))["region"] == "Antwerpen"
