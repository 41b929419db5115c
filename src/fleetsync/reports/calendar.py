"""The calendar reports count in: periods of local dates, and the UTC instants where they begin.

The ledger stores UTC instants; people mean local dates, as :func:`fleetsync.services.local_date`
derives them (the server's time zone). A report turns each period boundary into the UTC instant
at which that local day begins, and hands the database the UTC offsets in force over the report's
window, so that SQL turns an instant into the local date people mean without knowing any time
zone (SQLite knows none, and PostgreSQL's may not be the server's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from fleetsync.services import local_date

__all__ = [
    "EPOCH",
    "Period",
    "day_number",
    "local_midnight",
    "months",
    "utc_offsets",
    "whole",
]

#: Day numbers count days since this date (the SQL side counts the same way).
EPOCH = date(1970, 1, 1)
#: How often the local offset is sampled when looking for DST changes: no zone changes its
#: offset twice within six hours.
_PROBE = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class Period:
    """A run of local dates, both ends included. ``label``: ``2026-03`` for a month."""

    label: str
    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"period {self.label} ends ({self.last}) before it starts")


def months(first: date, last: date) -> tuple[Period, ...]:
    """The calendar months from ``first`` to ``last``, the first and last clipped to them."""
    periods = []
    start = first
    while start <= last:
        following = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
        end = min(following - timedelta(days=1), last)
        periods.append(Period(f"{start.year:04d}-{start.month:02d}", start, end))
        start = following
    return tuple(periods)


def whole(first: date, last: date) -> Period:
    """One period from ``first`` to ``last``."""
    return Period(f"{first.isoformat()}..{last.isoformat()}", first, last)


def day_number(day: date) -> int:
    return (day - EPOCH).days


def local_midnight(day: date) -> datetime:
    """The UTC instant at which local ``day`` begins: the first instant whose
    :func:`~fleetsync.services.local_date` is ``day`` (to the second; also right when a DST change
    skips midnight itself)."""
    # Local offsets lie within ±26 h of UTC, so the instant lies in this window.
    naive_utc = datetime.combine(day, time(), tzinfo=UTC)
    lo, hi = naive_utc - timedelta(hours=27), naive_utc + timedelta(hours=27)
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if local_date(mid) < day:
            lo = mid
        else:
            hi = mid
    # Midnights fall on whole seconds: the one found is hi's.
    return hi.replace(microsecond=0)


def _offset(moment: datetime) -> int:
    offset = moment.astimezone().utcoffset()
    assert offset is not None  # astimezone() without a zone gives the local one, always set
    return int(offset.total_seconds())


def utc_offsets(lo: datetime, hi: datetime) -> tuple[tuple[datetime, int], ...]:
    """The server's offsets from UTC in force between ``lo`` and ``hi``: ``(since, seconds)``
    pieces, ordered, the first one from ``lo``. Instants before ``lo`` take the first piece's
    offset, instants after ``hi`` the last one's."""
    pieces = [(lo, _offset(lo))]
    probe = lo
    while probe < hi:
        following = min(probe + _PROBE, hi)
        if _offset(following) != pieces[-1][1]:
            # Narrow the change down to the second it happens.
            before, after = probe, following
            while after - before > timedelta(seconds=1):
                mid = before + (after - before) / 2
                if _offset(mid) == pieces[-1][1]:
                    before = mid
                else:
                    after = mid
            # Offsets change on whole seconds: the change found is after's.
            change = after.replace(microsecond=0)
            pieces.append((change, _offset(change)))
        probe = following
    return tuple(pieces)
