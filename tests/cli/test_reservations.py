"""``fleetsync reservation`` and ``fleetsync forecast``, and the shortfall in ``fleetsync status``:
a course period coming up, demand reserved and cancelled, devices delivered and on loan."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from fleetsync.settings import Settings
from tests.cli_runner import CliResult, run_cli
from tests.pinned import TODAY

Cli = Callable[..., CliResult]


def _day(days: int) -> str:
    return (TODAY + timedelta(days=days)).isoformat()


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    settings = Settings(database_url=database_url, data_dir=tmp_path / "data")
    env = {
        "FLEETSYNC_DATABASE_URL": settings.effective_database_url,
        "FLEETSYNC_DATA_DIR": str(settings.data_dir),
    }

    def run(*args: str) -> CliResult:
        return run_cli(*args, env=env)

    devices = tmp_path / "devices.csv"
    devices.write_text(
        "serial,asset_tag,model,region,connectivity,available_from\n"
        f"5CD1,CB-1,Acer,Antwerpen,wifi,{_day(-100)}\n"
        f"5CD2,CB-2,Acer,Antwerpen,wifi,{_day(-100)}\n"
        f"5CD3,CB-3,Acer,Antwerpen,4g,{_day(-100)}\n"
        # Delivered after the course period starts: not lendable on its first day.
        f"5CD4,CB-4,Acer,Antwerpen,wifi,{_day(45)}\n"
        # Lent until before the course period starts (back in time), and until after it.
        f"5CD5,CB-5,Acer,Antwerpen,wifi,{_day(-100)}\n"
        f"5CD6,CB-6,Acer,Antwerpen,wifi,{_day(-100)}\n"
    )
    assert run("device", "import", str(devices)).exit_code == 0
    for serial, borrower, until in (("CB-5", "B-1", _day(20)), ("CB-6", "B-2", _day(40))):
        lent = run(
            "loan", "checkout", "--serial", serial, "--borrower-id", borrower, "--given-name", "A",
            "--region", "Antwerpen", "--until", until, "--hide-password",
        )  # fmt: skip
        assert lent.exit_code == 0, lent.output
    added = run("course", "add", "Next", "--from", _day(30), "--to", _day(60),
                "--region", "Antwerpen", "--region", "Limburg")  # fmt: skip
    assert added.exit_code == 0, added.output
    return run


def _reserve(cli: Cli, borrower: str, region: str, *extra: str) -> CliResult:
    return cli(
        "reservation", "add", "--borrower-id", borrower, "--given-name", "Samir", "--region",
        region, "--course", "next", *extra,
    )  # fmt: skip


def test_reservations_against_the_devices_expected_on_the_first_day(cli: Cli) -> None:
    made = _reserve(cli, "B-11", "antwerpen")
    assert made.exit_code == 0, made.output
    assert (
        made.stdout.strip()
        == f"reservation R-1: B-11 for Next ({_day(30)} to {_day(60)}, Antwerpen)"
    )
    for borrower in ("B-12", "B-13", "B-14"):
        assert _reserve(cli, borrower, "Antwerpen").exit_code == 0
    for borrower in ("B-15", "B-16"):
        assert _reserve(cli, borrower, "Antwerpen", "--needs-data").exit_code == 0
    assert _reserve(cli, "B-17", "Limburg").exit_code == 0
    assert _reserve(cli, "B-17", "Limburg").exit_code == 3  # one open reservation per course
    assert _reserve(cli, "B-18", "Brussel").exit_code == 2  # Next does not run in Brussel
    cancelled = cli("reservation", "cancel", "R-4", "--reason", "found a laptop")
    assert cancelled.exit_code == 0, cancelled.output
    assert cli("reservation", "cancel", "R-4", "--reason", "again").exit_code == 3
    assert cli("reservation", "cancel", "R-99", "--reason", "x").exit_code == 4

    listed = json.loads(cli("reservation", "list", "--region", "Antwerpen", "--json").stdout)
    assert [(r["reservation"], r["status"], r["needs_data"]) for r in listed] == [
        ("R-1", "open", False), ("R-2", "open", False), ("R-3", "open", False),
        ("R-4", "cancelled", False), ("R-5", "open", True), ("R-6", "open", True),
    ]  # fmt: skip
    assert listed[3]["cancel_reason"] == "found a laptop"
    rows = list(csv.DictReader(io.StringIO(cli("reservation", "list", "--open", "--csv").stdout)))
    assert [r["reservation"] for r in rows] == ["R-1", "R-2", "R-3", "R-5", "R-6", "R-7"]

    forecast = json.loads(cli("forecast", "--json").stdout)
    got = {
        (r["region"], r["connectivity"]): (
            r["reserved"], r["spare"], r["returning"], r["from_4g"], r["balance"], r["shortfall"]
        )
        for r in forecast
    }  # fmt: skip
    assert got == {
        # wifi: CB-1 and CB-2 spare, CB-5 back before the start (CB-4 arrives later, CB-6 is
        # still out): 3 for 3 reservations.
        ("Antwerpen", "wifi"): (3, 2, 1, 0, 0, 0),
        ("Antwerpen", "4g"): (2, 1, 0, 0, -1, 1),
        ("Limburg", "wifi"): (1, 0, 0, 0, -1, 1),
        ("Limburg", "4g"): (0, 0, 0, 0, 0, 0),
    }
    assert cli("forecast", "--course", "Autumn").exit_code == 2
    assert json.loads(cli("device", "show", "CB-4", "--json").stdout)["available_from"] == _day(45)
    assert f"delivered: available from {_day(45)}" in cli("device", "show", "CB-4").stdout

    status = json.loads(cli("status", "--json").stdout)
    short = [a for a in status["attention"] if a["kind"] == "device_shortfall"]
    assert [a["target"] for a in short] == ["Next Antwerpen 4g", "Next Limburg wifi"]
    assert short[0]["message"] == (
        f"course period Next starts {_day(30)}: Antwerpen has 2 4g reservation(s) and 1 4g "
        "device(s) expected lendable, 1 short; see `fleetsync forecast --course 'Next'`"
    )
    text = cli("status")
    assert "device_shortfall" in text.stdout or "1 short" in text.stdout
