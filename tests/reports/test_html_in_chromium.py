"""The HTML reports as a person sees them: rendered by headless Chromium, screenshotted, measured
as laid out, and printed.

The page is the same whatever the database, so the story is told on SQLite only. Without
Chromium these tests are skipped with a message saying how to install it, except under CI=true,
where a missing browser is a failure.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from fleetsync.ledger import Ledger
from fleetsync.reports.fleet import fleet_report
from fleetsync.reports.html import fleet_page, loan_page
from fleetsync.reports.loans import Grouping, loan_report
from tests.conftest import IN_CI
from tests.reports.chromium import WINDOW, Chromium, find_chromium
from tests.reports.story import FIRST, LAST, REGIONS

# Starts processes (renders in a Chromium process): not part of .ci/run's clock runs.
pytestmark = [
    pytest.mark.processes,
    pytest.mark.parametrize("story_settings", ["sqlite"], indirect=True),
]

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
#: The charts' colours (Okabe and Ito): Antwerpen or wifi, Brussel or 4G, Limburg.
BLUE, ORANGE, GREEN = (0, 114, 178), (230, 159, 0), (0, 158, 115)


@pytest.fixture
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Chromium:
    binary = find_chromium()
    if binary is None:
        message = (
            "Debian's chromium is not installed, so the HTML reports were not checked in a "
            "browser: `apt-get install -y chromium` (.ci/run installs it)"
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return Chromium(binary, tmp_path_factory.mktemp("chromium-profile"))


def loans_html(ledger: Ledger, path: Path) -> Path:
    with ledger.read() as session:
        report = loan_report(
            session, first=FIRST, last=LAST, grouping=Grouping.MONTH_REGION, regions=REGIONS,
            title="Winter programme", now=NOW,
        )  # fmt: skip
    path.write_text(loan_page(report), encoding="utf-8")
    return path


def colours_of(image: Image.Image) -> Counter[Any]:
    return Counter({colour: n for n, colour in image.getcolors(image.width * image.height) or []})


def look_at(png: Path) -> tuple[Image.Image, Counter[Any]]:
    image = Image.open(png).convert("RGB")
    return image, colours_of(image)


def assert_not_blank(image: Image.Image, colours: Counter[Any]) -> None:
    assert image.size == WINDOW
    white = colours[(255, 255, 255)]
    assert white < 0.97 * image.width * image.height, "the page is (almost) blank"
    heading = colours_of(image.crop((0, 0, image.width, 80)))
    dark = sum(n for (r, g, b), n in heading.items() if r + g + b < 200)
    assert dark > 300, "no heading drawn at the top of the page"


def chart(measured: dict[str, Any], ident: str) -> dict[str, Any]:
    charts: list[dict[str, Any]] = measured["charts"]
    (found,) = [c for c in charts if c["id"] == ident]
    assert found["box"]["width"] > 600, f"chart {ident} is not drawn at a readable size"
    assert found["box"]["height"] > 250
    assert found["outside"] == [], f"chart {ident} has text outside it"
    assert found["clashes"] == [], f"chart {ident} has labels drawn over each other"
    return found


def test_the_loan_report_as_a_person_sees_it(
    story: Ledger, chromium: Chromium, tmp_path: Path
) -> None:
    page = loans_html(story, tmp_path / "loans.html")
    chromium.screenshot(page, tmp_path / "loans.png")
    image, colours = look_at(tmp_path / "loans.png")
    assert_not_blank(image, colours)
    # The bars of both charts are drawn in the regions' and connectivities' colours.
    assert colours[BLUE] > 2000
    assert colours[ORANGE] > 500
    assert colours[GREEN] > 1000

    measured = chromium.measure(page)
    assert measured["h1"] == "Winter programme"
    assert 0 <= measured["h1_box"]["top"] < 60
    assert measured["page_width"] <= measured["window_width"], "the page scrolls sideways"
    assert measured["cells"] == [], "table cells cut their text short"

    started = chart(measured, "loans-started")
    assert started["title"] == "Loans started per month, stacked by region"
    for label in ("2024-12", "2025-01", "2025-02", "2025-03", "Antwerpen", "Brussel", "Limburg"):
        assert label in started["texts"]
    bars = {bar["title"]: bar["height"] for bar in started["bars"]}
    assert set(bars) == {
        "2024-12, Antwerpen, loans started: 2",
        "2025-01, Antwerpen, loans started: 1",
        "2025-01, Brussel, loans started: 1",
        "2025-01, Limburg, loans started: 1",
        "2025-02, Limburg, loans started: 1",
    }
    one = bars["2025-02, Limburg, loans started: 1"]
    assert bars["2024-12, Antwerpen, loans started: 2"] == pytest.approx(2 * one, rel=0.02)
    # Each month's total stands above its bar: 2, 3, 1 and 0 loans.
    assert [t for t in started["texts"] if t.isdigit()][-4:] == ["2", "3", "1", "0"]

    devices = chart(measured, "devices-lent")
    assert {bar["title"] for bar in devices["bars"]} == {
        "2024-12, wifi, devices lent: 2",
        "2025-01, wifi, devices lent: 2",
        "2025-01, 4G, devices lent: 1",
        "2025-02, wifi, devices lent: 1",
    }


def test_the_fleet_report_as_a_person_sees_it(
    story: Ledger, chromium: Chromium, tmp_path: Path
) -> None:
    with story.read() as session:
        report = fleet_report(session, regions=REGIONS, title="Winter programme", now=NOW)
    page = tmp_path / "fleet.html"
    page.write_text(fleet_page(report), encoding="utf-8")
    chromium.screenshot(page, tmp_path / "fleet.png")
    image, colours = look_at(tmp_path / "fleet.png")
    assert_not_blank(image, colours)
    assert colours[BLUE] > 1000
    assert colours[ORANGE] > 500

    measured = chromium.measure(page)
    assert measured["page_width"] <= measured["window_width"]
    by_state = chart(measured, "fleet-by-state")
    for state in ("spare", "on loan", "in refurbishment", "ict test", "lost", "retired"):
        assert state in by_state["texts"]
    assert {bar["title"] for bar in by_state["bars"]} == {
        "spare, 4G, devices: 1",
        "on loan, wifi, devices: 2",
        "in refurbishment, wifi, devices: 2",
        "ict test, 4G, devices: 1",
        "lost, 4G, devices: 1",
        "retired, wifi, devices: 1",
    }


def test_the_loan_report_prints_on_a4_landscape(
    story: Ledger, chromium: Chromium, tmp_path: Path
) -> None:
    page = loans_html(story, tmp_path / "loans.html")
    pdf = chromium.print_to_pdf(page, tmp_path / "loans.pdf")
    assert pdf.startswith(b"%PDF-")
    boxes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    assert boxes, "the PDF has no pages"
    for width, height in boxes:
        # A4 landscape is 842 x 595 points.
        assert (round(float(width)), round(float(height))) == (842, 595)
