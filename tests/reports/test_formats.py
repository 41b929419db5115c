"""Every figure in every format, end to end through the command line: the story's winter as a
table, CSV, JSON and HTML, read back the way a person or a script reads each one."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from fleetsync.settings import Settings
from tests.cli_runner import CliResult, run_cli
from tests.reports.formats import from_csv, from_html, from_json, from_table
from tests.reports.story import FIGURES, FLEET_FIGURES, REGIONS, expected_rows, fleet_rows

Cli = Callable[..., CliResult]
LOANS = ("report", "loans", "--from", "2024-12-01", "--to", "2025-03-31", "--title", "Winter")
LOAN_KEYS = ("month", "region", *FIGURES)
FLEET_KEYS = ("region", "connectivity", *FLEET_FIGURES)
FORMATS = ["table", "csv", "json", "html"]


@pytest.fixture
def cli(story_settings: Settings) -> Cli:
    env = {
        "FLEETSYNC_DATABASE_URL": story_settings.effective_database_url,
        "FLEETSYNC_DATA_DIR": str(story_settings.data_dir),
        "FLEETSYNC_REGIONS": json.dumps(REGIONS),
        "FLEETSYNC_LOG_LEVEL": "warning",
    }

    def run(*args: str) -> CliResult:
        return run_cli(*args, env=env)

    return run


def read_back(fmt: str, text: str, keys: tuple[str, ...]) -> list[dict[str, str]]:
    if fmt == "table":
        return from_table(text, keys)
    if fmt == "csv":
        return from_csv(text, keys)
    if fmt == "json":
        return from_json(json.loads(text), keys)
    return from_html(text, keys)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_loan_figure_in_every_format(cli: Cli, fmt: str, tmp_path: Path) -> None:
    out = tmp_path / f"loans.{fmt}"
    result = cli(*LOANS, "--format", fmt, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {out} ({out.stat().st_size:,} bytes)\n"
    raw = out.read_bytes()
    # CSV: with the byte-order mark spreadsheets recognise UTF-8 by; the rest: plain UTF-8.
    assert raw.startswith(b"\xef\xbb\xbf") == (fmt == "csv")
    assert read_back(fmt, raw.decode("utf-8-sig"), LOAN_KEYS) == expected_rows()


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_fleet_figure_in_every_format(cli: Cli, fmt: str) -> None:
    result = cli("report", "fleet", "--format", fmt)
    assert result.exit_code == 0, result.output
    assert read_back(fmt, result.stdout, FLEET_KEYS) == fleet_rows()


def test_the_table_on_a_terminal_shows_every_figure_whole(cli: Cli) -> None:
    # CliRunner's terminal is 80 columns wide: the table keeps its width rather than cut
    # figures short.
    result = cli(*LOANS)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].strip() == "Winter: loans 2024-12-01 to 2025-03-31"
    assert from_table(result.stdout, LOAN_KEYS) == expected_rows()
    assert "Local dates (CET/CEST). A loan counts in the month of its checkout;" in result.stdout


def test_csv_has_the_period_of_each_row(cli: Cli) -> None:
    result = cli(*LOANS, "--format", "csv", "--by", "month")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("month,from,to,region,devices_lent,devices_wifi,devices_4g,")
    assert [line.split(",")[:4] for line in lines[1:]] == [
        ["2024-12", "2024-12-01", "2024-12-31", "all"],
        ["2025-01", "2025-01-01", "2025-01-31", "all"],
        ["2025-02", "2025-02-01", "2025-02-28", "all"],
        ["2025-03", "2025-03-01", "2025-03-31", "all"],
        ["all", "2024-12-01", "2025-03-31", "all"],
    ]


def test_json_says_what_the_report_covers(cli: Cli) -> None:
    result = cli(*LOANS, "--format", "json", "--region", "limburg", "--by", "month")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    generated = document.pop("generated_at")
    assert generated[:4] >= "2025"
    assert document.pop("time_zone") == "CET/CEST"
    rows = document.pop("rows")
    assert document == {
        "report": "loans",
        "title": "Winter",
        "from": "2024-12-01",
        "to": "2025-03-31",
        "by": "month",
        "region": "Limburg",
        "regions": ["Limburg"],
    }
    limburg = [r for r in expected_rows() if r["region"] == "Limburg"]
    assert from_json({"rows": rows}, LOAN_KEYS) == limburg
    # Counts are JSON integers, averages numbers with one decimal, nothing null.
    assert rows[4]["devices_lent"] == 2
    assert rows[4]["avg_agreed_days"] == 68.5
    assert rows[4]["avg_actual_days"] is None
    assert list(rows[0]) == sorted(rows[0])
