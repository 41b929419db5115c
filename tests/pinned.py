"""The moment the test suite lives at: every test that needs "now" or "today" takes it from here.

The whole run (this process and every process it starts) reads :mod:`fleetsync.clock` pinned to
``PINNED_AT`` at the start of the run, whatever the wall clock says; fixtures give dates relative to
``TODAY``. ``FLEETSYNC_TEST_NOW`` moves it (``.ci/run`` runs the suite on a day Europe/Brussels
changes to summer time, for instance): a test that passes only on the default day is a defect.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta

__all__ = ["PINNED_AT", "TODAY", "days_from_today"]

#: Midday UTC on a Tuesday (the same date in every time zone), unless the run says otherwise.
PINNED_AT = datetime.fromisoformat(
    os.environ.get("FLEETSYNC_TEST_NOW", "2026-09-01T14:00:00+02:00")
)
if PINNED_AT.tzinfo is None:
    raise ValueError("FLEETSYNC_TEST_NOW needs a time zone, e.g. 2027-03-28T01:58:00+01:00")

#: The server's local date at ``PINNED_AT`` (what ``fleetsync.clock.today()`` says at the start).
TODAY: date = PINNED_AT.astimezone().date()


def days_from_today(days: int) -> date:
    """``days_from_today(60)``: an agreed end two months ahead, on any day the suite runs."""
    return TODAY + timedelta(days=days)
