"""The calendar reports count in agrees with ``services.local_date`` (how every other date in
fleetsync is derived), in zones with DST at 02:00, DST at midnight, and odd offsets."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from fleetsync.reports.calendar import (
    day_number,
    local_midnight,
    months,
    utc_offsets,
    whole,
)
from fleetsync.services import local_date

ONE_SECOND = timedelta(seconds=1)


@pytest.fixture(
    params=["Europe/Brussels", "America/Santiago", "Asia/Kolkata", "Pacific/Chatham", "UTC"]
)
def zone(request: pytest.FixtureRequest) -> Iterator[str]:
    # Santiago moves its clocks at midnight (a day that starts at 01:00); Chatham is UTC+12:45.
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    yield request.param
    os.environ["TZ"] = before if before is not None else "Europe/Brussels"
    time.tzset()


def test_months_are_clipped_to_the_window_and_cross_years() -> None:
    got = months(date(2024, 11, 15), date(2025, 2, 3))
    assert [(p.label, p.first, p.last) for p in got] == [
        ("2024-11", date(2024, 11, 15), date(2024, 11, 30)),
        ("2024-12", date(2024, 12, 1), date(2024, 12, 31)),
        ("2025-01", date(2025, 1, 1), date(2025, 1, 31)),
        ("2025-02", date(2025, 2, 1), date(2025, 2, 3)),
    ]
    assert months(date(2024, 2, 29), date(2024, 2, 29))[0].label == "2024-02"
    assert whole(date(2025, 1, 1), date(2025, 12, 31)).label == "2025-01-01..2025-12-31"


def test_brussels_midnights() -> None:
    # tests/reports/conftest.py runs these tests in Brussels time.
    assert local_midnight(date(2025, 1, 1)) == datetime(2024, 12, 31, 23, tzinfo=UTC)
    assert local_midnight(date(2025, 3, 30)) == datetime(2025, 3, 29, 23, tzinfo=UTC)
    assert local_midnight(date(2025, 3, 31)) == datetime(2025, 3, 30, 22, tzinfo=UTC)
    assert utc_offsets(datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)) == (
        (datetime(2025, 1, 1, tzinfo=UTC), 3600),
        (datetime(2025, 3, 30, 1, tzinfo=UTC), 7200),
        (datetime(2025, 10, 26, 1, tzinfo=UTC), 3600),
    )


def test_a_local_day_begins_where_local_date_says_it_does(zone: str) -> None:
    for day in (date(2025, 1, 1) + timedelta(days=n) for n in range(0, 366, 3)):
        midnight = local_midnight(day)
        assert local_date(midnight) == day, (zone, day)
        assert local_date(midnight - ONE_SECOND) == day - timedelta(days=1), (zone, day)


def test_offsets_give_the_local_day_sql_computes(zone: str) -> None:
    # The SQL side computes (epoch seconds + offset in force) // 86400: check that formula
    # against local_date() every 97 minutes through a year, DST changes included.
    lo = datetime(2025, 1, 1, tzinfo=UTC)
    pieces = utc_offsets(lo, lo + timedelta(days=366))
    moments = [lo + timedelta(minutes=97 * n) for n in range(366 * 24 * 60 // 97)]
    moments += [at for since, _ in pieces[1:] for at in (since - ONE_SECOND, since)]
    for moment in moments:
        offset = next((o for since, o in reversed(pieces) if since <= moment), pieces[0][1])
        assert (int(moment.timestamp()) + offset) // 86_400 == day_number(local_date(moment))
