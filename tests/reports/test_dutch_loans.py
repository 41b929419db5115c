"""`report loans --lang nl`: every grouping in Dutch in the table and the HTML page (labels,
dates as d/mm/yyyy, decimal commas), the same figures as in English; CSV and JSON unchanged, for
scripts. On SQLite and PostgreSQL (the story's fixture)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from fleetsync.settings import Settings
from tests.cli_runner import CliResult, run_cli
from tests.reports.formats import from_html, from_table, html_tables
from tests.reports.story import FIGURES, REGIONS, expected_rows

Cli = Callable[..., CliResult]
LOANS = ("report", "loans", "--from", "2024-12-01", "--to", "2025-03-31", "--title", "Winter")
KEYS = {
    "month,region": ("month", "region", *FIGURES),
    "month": ("month", *FIGURES),
    "region": ("region", *FIGURES),
}
#: The English labels a Dutch table or page must not show (figures' column headers, sentences).
ENGLISH = ("devices lent", "agreed days", "actual days", "overdue", "returned", "Loans from")


@pytest.fixture
def cli(story_settings: Settings) -> Cli:
    env = {
        "FLEETSYNC_DATABASE_URL": story_settings.effective_database_url,
        "FLEETSYNC_DATA_DIR": str(story_settings.data_dir),
        "FLEETSYNC_REGIONS": json.dumps(REGIONS),
        "FLEETSYNC_LOG_LEVEL": "warning",
    }

    def run(*args: str) -> CliResult:
        result = run_cli(*args, env=env)
        assert result.exit_code == 0, result.output
        return result

    return run


def dutch(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Rows as the Dutch table shows them: totals as `totaal`, averages with a decimal comma."""
    return [
        {k: "totaal" if v == "all" else v.replace(".", ",") for k, v in row.items()} for row in rows
    ]


def test_the_winter_in_dutch_table_and_html(cli: Cli, tmp_path: Path) -> None:
    expected = dutch(expected_rows())
    assert any("," in row["avg_agreed_days"] for row in expected)  # a decimal comma to check
    table = cli(*LOANS, "--lang", "nl").stdout
    assert from_table(table, KEYS["month,region"]) == expected
    assert "Winter: ontleningen 1/12/2024 tot 31/03/2025" in table
    for label in ("maand", "regio", "uitgeleende", "afgesproken", "werkelijke", "Lokale datums"):
        assert label in table
    assert not [word for word in ENGLISH if word in table]

    out = tmp_path / "winter.html"
    cli(*LOANS, "--lang", "nl", "--format", "html", "--out", str(out))
    page = out.read_text(encoding="utf-8")
    assert from_html(page, KEYS["month,region"]) == expected
    assert '<html lang="nl">' in page
    assert "<title>Winter: ontleningen 1/12/2024 tot 31/03/2025</title>" in page
    subtitle = "Ontleningen van 1/12/2024 tot 31/03/2025, in alle regio&#x27;s, per maand en regio."
    assert subtitle in page
    (figures,) = html_tables(page)
    assert figures["rows"][0] == [
        "maand", "regio", "uitgeleende toestellen", "wifi", "4G", "beëindigd", "verloren",
        "afgesproken dagen", "teruggebracht", "werkelijke dagen", "uitgeleend op het einde",
        "te laat op het einde",
    ]  # fmt: skip
    assert figures["caption"].startswith("Per maand en regio, met totalen (totaal).")
    total = expected[-1]
    for card in (
        f"<dt>Afgesproken periode (dagen, gem.)</dt><dd>{total['avg_agreed_days']}</dd>",
        f"<dt>Uitgeleend op 31/03/2025</dt><dd>{total['open_at_end']}</dd>",
        "Begonnen ontleningen per maand, gestapeld per regio",
        "Wat de cijfers betekenen",
    ):
        assert card in page
    assert not [word for word in ENGLISH if word in page]


@pytest.mark.parametrize("by", ["month", "region"])
def test_every_grouping_reads_the_same_figures_in_dutch(cli: Cli, by: str, tmp_path: Path) -> None:
    keys = KEYS[by]
    english = from_table(cli(*LOANS, "--by", by).stdout, keys)
    assert len(english) > 1
    table = cli(*LOANS, "--by", by, "--lang", "nl").stdout
    assert from_table(table, keys) == dutch(english)
    assert not [word for word in ENGLISH if word in table]
    out = tmp_path / f"{by}.html"
    cli(*LOANS, "--by", by, "--lang", "nl", "--format", "html", "--out", str(out))
    page = out.read_text(encoding="utf-8")
    assert from_html(page, keys) == dutch(english)
    assert f"per {'maand' if by == 'month' else 'regio'}." in page
    assert not [word for word in ENGLISH if word in page]


def test_csv_and_json_stay_for_scripts(cli: Cli) -> None:
    # The moment a report was made is its own: two reports a second apart differ only there.
    def made(text: str) -> str:
        return re.sub(r'"generated_at": "[^"]*"', '"generated_at": "…"', text)

    for fmt in ("csv", "json"):
        english = made(cli(*LOANS, "--format", fmt).stdout)
        assert made(cli(*LOANS, "--format", fmt, "--lang", "nl").stdout) == english
