"""``fleetsync course``: what a technician types and sees, the exit codes, on both databases."""

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


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    settings = Settings(database_url=database_url, data_dir=tmp_path / "data")
    env = {
        "FLEETSYNC_DATABASE_URL": settings.effective_database_url,
        "FLEETSYNC_DATA_DIR": str(settings.data_dir),
    }

    def run(*args: str) -> CliResult:
        return run_cli(*args, env=env)

    return run


def _day(days: int) -> str:
    return (TODAY + timedelta(days=days)).isoformat()


def test_add_list_show_and_move_the_end_date(cli: Cli) -> None:
    added = cli("course", "add", "Sept-Oct", "--from", _day(0), "--to", _day(60))
    assert added.exit_code == 0, added.output
    assert added.stdout.strip() == (
        f"course period Sept-Oct: {_day(0)} to {_day(60)} (61 days) in Antwerpen, Brussel, "
        "Limburg, Oost-Vlaanderen, Vlaams-Brabant, West-Vlaanderen"
    )
    one = cli("course", "add", "Nov", "--from", _day(61), "--to", _day(90), "--region", "limburg")
    assert one.exit_code == 0, one.output
    overlap = cli("course", "add", "X", "--from", _day(90), "--to", _day(95), "--region", "Limburg")
    assert overlap.exit_code == 3
    assert "overlaps Nov" in overlap.stderr

    listed = json.loads(cli("course", "list", "--json").stdout)
    assert [(c["name"], c["from"], c["to"], c["days"]) for c in listed] == [
        ("Sept-Oct", _day(0), _day(60), 61),
        ("Nov", _day(61), _day(90), 30),
    ]
    assert listed[1]["regions"] == ["Limburg"]
    rows = list(csv.DictReader(io.StringIO(cli("course", "list", "--format", "csv").stdout)))
    assert rows[1] == {
        "name": "Nov", "from": _day(61), "to": _day(90), "days": "30", "regions": "Limburg"
    }  # fmt: skip
    table = cli("course", "list", "--region", "Antwerpen")
    assert "Sept-Oct" in table.stdout
    assert "Nov" not in table.stdout

    moved = cli("course", "end-date", "sept-oct", "--to", _day(59), "--reason", "exams")
    assert moved.exit_code == 0, moved.output
    assert moved.stdout.strip() == f"course period Sept-Oct now ends {_day(59)} (was {_day(60)})"
    shown = json.loads(cli("course", "show", "Sept-Oct", "--json").stdout)
    assert (shown["to"], shown["loans"], shown["open_reservations"]) == (_day(59), 0, 0)

    unknown = cli("course", "show", "Autumn")
    assert unknown.exit_code == 2
    assert "there is no course period 'Autumn'; the course periods are 'Sept-Oct', 'Nov'" in (
        unknown.stderr.replace("\n", " ")
    )
    for command in ("add", "list", "show", "end-date"):
        assert cli("course", command, "--help").exit_code == 0
