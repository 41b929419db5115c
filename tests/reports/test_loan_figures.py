"""The loan report's figures, computed by the database, on SQLite and PostgreSQL: every figure of
the story's winter, other groupings of the same loans, windows that start and end mid-stream,
time-zone and DST edges, and an empty ledger."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from fleetsync import services
from fleetsync.domain.errors import InvalidInput
from fleetsync.ledger import Ledger
from fleetsync.reports.loans import Grouping, LoanFigures, LoanReport, average, loan_report
from tests.ledger.conftest import add_devices
from tests.reports.story import (
    FIGURES,
    FIRST,
    LAST,
    REGIONS,
    Expected,
    at,
    expected_rows,
)

#: Long after the story: every return in it has happened.
AFTER = datetime(2025, 6, 1, 12, tzinfo=UTC)


def report(
    ledger: Ledger,
    grouping: Grouping = Grouping.MONTH_REGION,
    *,
    first: date = FIRST,
    last: date = LAST,
    region: str | None = None,
) -> LoanReport:
    with ledger.read() as session:
        return loan_report(
            session,
            first=first,
            last=last,
            grouping=grouping,
            regions=REGIONS,
            region=region,
            title="Winter programme",
            now=AFTER,
        )


def as_text(figures: LoanFigures) -> dict[str, str]:
    values = {name: getattr(figures, name) for name in FIGURES}
    return {k: "-" if v is None else str(v) for k, v in values.items()}


def rows(report: LoanReport) -> list[Expected]:
    return [
        {
            "month": "all" if row.period is None else row.period.label,
            "region": report.region_label(row.region),
            **as_text(row.figures),
        }
        for row in report.rows
    ]


def test_every_figure_of_the_winter(story: Ledger) -> None:
    got = report(story)
    assert rows(got) == expected_rows()
    assert [p.label for p in got.periods] == ["2024-12", "2025-01", "2025-02", "2025-03"]
    assert got.regions == REGIONS
    assert got.time_zone == "CET/CEST"


def test_by_month_gives_the_months_totals(story: Ledger) -> None:
    wanted = [r for r in expected_rows() if r["region"] == "all"]
    assert rows(report(story, Grouping.MONTH)) == wanted


def test_by_region_gives_the_regions_totals_over_the_whole_window(story: Ledger) -> None:
    got = report(story, Grouping.REGION)
    assert rows(got) == [r for r in expected_rows() if r["month"] == "all"]
    assert [p.label for p in got.periods] == ["2024-12-01..2025-03-31"]


def test_one_region_is_that_regions_rows(story: Ledger) -> None:
    got = report(story, region="Limburg")
    assert got.regions == ("Limburg",)
    assert rows(got) == [r for r in expected_rows() if r["region"] == "Limburg"]


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        pytest.param(
            # 15 January: L2, L3 and L5 are out (L4 came back on the 10th). 4 February: L5 was
            # lost on the 2nd; L3 is overdue since 16 January under its agreed end then (15
            # January): its extension comes on the 5th.
            date(2025, 1, 15),
            date(2025, 2, 4),
            """
            2025-01 all 0 0 0 0 0 - 0 - 3 2
            2025-02 all 0 0 0 1 1 - 0 - 2 1
            all     all 0 0 0 1 1 - 0 - 2 1
            """,
            id="starts and ends mid-month",
        ),
        pytest.param(
            # L3 and L5 are overdue before the window starts; L5 is lost and L3 extended in
            # February; L3 is overdue again from 1 March.
            date(2025, 2, 1),
            date(2025, 3, 31),
            """
            2025-02 all 1 1 0 2 1 79.0 0 - 2 0
            2025-03 all 0 0 0 0 0 -    0 - 2 1
            all     all 1 1 0 2 1 79.0 0 - 2 1
            """,
            id="overdue before it starts",
        ),
    ],
)
def test_windows_that_start_with_loans_out(
    story: Ledger, first: date, last: date, expected: str
) -> None:
    got = report(story, Grouping.MONTH, first=first, last=last)
    assert (got.periods[0].first, got.periods[-1].last) == (first, last)
    assert rows(got) == expected_rows(expected)


@pytest.mark.parametrize(
    ("checked_out", "month"),
    [
        pytest.param(at(2025, 3, 31, 21, 59), "2025-03", id="23:59 CEST is still March"),
        pytest.param(at(2025, 3, 31, 22, 0), "2025-04", id="00:00 CEST is April"),
        pytest.param(at(2024, 12, 31, 22, 59), "2024-12", id="23:59 CET is still December"),
        pytest.param(at(2024, 12, 31, 23, 0), "2025-01", id="00:00 CET is January"),
    ],
)
def test_a_loan_counts_in_the_local_month_of_its_checkout(
    ledger: Ledger, programme: services.Programme, checked_out: datetime, month: str
) -> None:
    add_devices(ledger, "5CDX1,CB-X1,Acer,Antwerpen,wifi")
    with ledger.transaction() as session:
        services.checkout(
            session, device="CB-X1", borrower="B-1", given_name="A", family_name="B",
            region="Antwerpen", until=date(2025, 5, 31), programme=programme,
            actor="cli:tester", now=checked_out,
        )  # fmt: skip
    got = report(ledger, Grouping.MONTH, first=date(2024, 12, 1), last=date(2025, 4, 30))
    started = {p.label: got.find(p.label, None).devices_lent for p in got.periods}
    assert started == {p: int(p == month) for p in started}


def test_actual_days_count_local_dates_across_a_dst_change(
    ledger: Ledger, programme: services.Programme
) -> None:
    # Out on Saturday 29 March 2025 (CET), back on Monday 31 March at 23:59:59 CEST: two days.
    # Out on Sunday 30 March at 00:30 CET, back on Tuesday 1 April at 00:00:00 CEST: two days.
    add_devices(ledger, "5CDX1,CB-X1,Acer,Antwerpen,wifi", "5CDX2,CB-X2,Acer,Antwerpen,wifi")
    for device, borrower, out, back in (
        ("CB-X1", "B-1", at(2025, 3, 29, 12), datetime(2025, 3, 31, 21, 59, 59, tzinfo=UTC)),
        ("CB-X2", "B-2", at(2025, 3, 29, 23, 30), at(2025, 3, 31, 22, 0)),
    ):
        with ledger.transaction() as session:
            services.checkout(
                session, device=device, borrower=borrower, given_name="A", family_name="B",
                region="Antwerpen", until=date(2025, 4, 30), programme=programme,
                actor="cli:tester", now=out,
            )  # fmt: skip
            services.return_device(session, device=device, actor="cli:tester", now=back)
    got = report(ledger, Grouping.MONTH, first=date(2025, 3, 1), last=date(2025, 4, 30))
    march, april = got.find("2025-03", None), got.find("2025-04", None)
    assert (march.devices_lent, march.loans_returned, march.avg_actual_days) == (
        2,
        2,
        Decimal("2.0"),
    )
    # Agreed: 29 March -> 30 April is 32 days; 30 March -> 30 April is 31.
    assert march.avg_agreed_days == Decimal("31.5")
    assert (march.loans_ended, april.loans_ended) == (1, 1)


def test_an_empty_ledger_has_zeros_and_no_averages(ledger: Ledger) -> None:
    got = report(ledger)
    assert len(got.rows) == 4 * 4 + 4
    assert {tuple(as_text(r.figures).values()) for r in got.rows} == {
        ("0", "0", "0", "0", "0", "-", "0", "-", "0", "0")
    }


@pytest.mark.parametrize(
    ("text", "grouping"),
    [
        ("month", Grouping.MONTH),
        ("Region", Grouping.REGION),
        ("month,region", Grouping.MONTH_REGION),
        (" region , month ", Grouping.MONTH_REGION),
    ],
)
def test_groupings_people_type(text: str, grouping: Grouping) -> None:
    assert Grouping.parse(text) is grouping


@pytest.mark.parametrize("text", ["week", "month,week", "", "month,region,month,year"])
def test_an_unknown_grouping_says_which_there_are(text: str) -> None:
    with pytest.raises(InvalidInput, match=r"use month, region or month,region"):
        Grouping.parse(text)


@pytest.mark.parametrize(
    ("total", "count", "expected"),
    [
        (1, 20, Decimal("0.1")),  # 0.05 rounds half up
        (1, 40, Decimal("0.0")),  # 0.025
        (92, 3, Decimal("30.7")),
        (76, 3, Decimal("25.3")),
        (0, 2, Decimal("0.0")),
        (5, 0, None),
    ],
)
def test_averages_have_one_decimal_rounded_half_up(
    total: int, count: int, expected: Decimal | None
) -> None:
    assert average(total, count) == expected
