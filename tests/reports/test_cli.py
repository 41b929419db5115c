"""``fleetsync report`` refuses bad input with exit 2 and says what to do; its defaults; and
reports of an empty ledger."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from fleetsync import clock
from fleetsync.settings import Settings
from tests.cli_runner import CliResult, run_cli


def cli(settings: Settings, *args: str) -> CliResult:
    env = {
        "FLEETSYNC_DATABASE_URL": settings.effective_database_url,
        "FLEETSYNC_DATA_DIR": str(settings.data_dir),
        "FLEETSYNC_LOG_LEVEL": "warning",
    }
    return run_cli(*args, env=env)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--from", "2025-03-01", "--to", "2025-02-01"],
            "error: --from 2025-03-01 is after --to 2025-02-01; give a --from on or before --to",
            id="from after to",
        ),
        pytest.param(
            ["--to", "2999-01-01"],
            "error: --to 2999-01-01 is after today",
            id="to in the future",
        ),
        pytest.param(
            ["--from", "2025-02-30"],
            "Invalid value for '--from': '2025-02-30' is not a date: February 2025 has 28 days",
            id="no such date",
        ),
        pytest.param(
            ["--to", "2025/02/01"],
            "Invalid value for '--to': '2025/02/01' is not a date: write it as 2027-02-28 or "
            "28/02/2027",
            id="neither ISO nor day first",
        ),
        pytest.param(
            ["--to", "0001-01-15"],
            "error: --to 0001-01-15 is before 1970-01-01: the ledger counts days from 1970-01-01 "
            "and holds nothing earlier; give a date on or after it",
            id="to before the epoch",
        ),
        pytest.param(
            ["--from", "0001-01-01"],
            "error: --from 0001-01-01 is before 1970-01-01",
            id="from before the epoch",
        ),
        pytest.param(
            ["--region", "Gent"],
            "error: unknown region 'Gent'; the programme's regions are Antwerpen, Brussel",
            id="unknown region",
        ),
        pytest.param(
            ["--by", "week"],
            "error: --by 'week' is not a grouping; use month, region or month,region",
            id="unknown grouping",
        ),
        pytest.param(["--format", "pdf"], "Invalid value for '--format'", id="unknown format"),
        pytest.param(
            ["--out", "/nonexistent/dir/loans.csv", "--format", "csv"],
            "error: cannot write the report to /nonexistent/dir/loans.csv: No such file or "
            "directory; choose another --out",
            id="unwritable out",
        ),
    ],
)
def test_bad_input_exits_2_and_says_why(settings: Settings, args: list[str], message: str) -> None:
    result = cli(settings, "report", "loans", *args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.replace("│", " ").split())
    assert result.stdout == ""


def test_by_default_twelve_months_up_to_today(settings: Settings) -> None:
    result = cli(settings, "report", "loans", "--format", "json", "--by", "month")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    today = date.fromisoformat(document["to"])
    first = date.fromisoformat(document["from"])
    assert today == clock.today()  # the CLI's local today, on the pinned clock
    assert first.day == 1
    assert (today.year * 12 + today.month) - (first.year * 12 + first.month) == 11
    months = [row["month"] for row in document["rows"]]
    assert len(months) == 13
    assert months[-1] == "all"
    assert document["by"] == "month"


def test_an_empty_ledger_reports_zeros(settings: Settings, tmp_path: Path) -> None:
    result = cli(
        settings, "report", "loans", "--from", "2025-01-01", "--to", "2025-01-31",
        "--by", "region", "--format", "csv",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1 + 6 + 1  # header, the six default regions, the total
    assert lines[-1] == "all,2025-01-01,2025-01-31,all,0,0,0,0,0,,0,,0,0"
    fleet = cli(settings, "report", "fleet", "--format", "json")
    assert fleet.exit_code == 0, fleet.output
    assert json.loads(fleet.stdout)["rows"][-1] == {
        "region": "all",
        "connectivity": "all",
        "spare": 0,
        "on_loan": 0,
        "in_refurbishment": 0,
        "ict_test": 0,
        "lost": 0,
        "retired": 0,
        "in_repair": 0,
        "lendable": 0,
        "total": 0,
    }


def test_a_table_written_to_a_file_is_plain_text(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "fleet.txt"
    result = cli(settings, "report", "fleet", "--out", str(out), "--title", "Fleet  of\tAntwerp")
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "\x1b[" not in text
    assert text.splitlines()[0].strip().startswith("Fleet of Antwerp: fleet on ")
