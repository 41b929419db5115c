"""What time it is, for all of fleetsync: one place, so that a test can pin it.

Every "now" and "today" fleetsync uses (agreed ends, overdue days, audit times, journal rows, the
sandbox's simulated tenant) comes from here. In production that is the system clock.

The test suite pins it with ``FLEETSYNC_TEST_CLOCK`` (for tests only; it is ignored otherwise):

- ``2026-06-15T10:00:00+02:00@1781510400.0``: the clock read that moment when the real clock read
  that Unix time. Every process given the same value (the test process, a CLI or ``serve`` started
  as a subprocess, the sandbox) agrees on the time to the microsecond, and time still passes.
- ``2026-06-15T10:00:00+02:00``: the clock starts at that moment when the process first asks.

A moment without a time zone is refused: "today" depends on it.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, date, datetime

__all__ = ["ENV", "local_date", "machine_now", "now", "pinned", "timestamp", "today"]

#: The environment variable the test suite pins the clock with.
ENV = "FLEETSYNC_TEST_CLOCK"

_lock = threading.Lock()
_parsed: tuple[str, float] | None = None  # (the variable's value, its offset in seconds)


def _offset() -> float:
    global _parsed
    value = os.environ.get(ENV, "")
    if not value:
        return 0.0
    cached = _parsed
    if cached is not None and cached[0] == value:
        return cached[1]
    with _lock:
        moment_text, _, epoch_text = value.partition("@")
        try:
            moment = datetime.fromisoformat(moment_text.strip())
            real = float(epoch_text) if epoch_text.strip() else time.time()
        except ValueError as exc:
            raise ValueError(
                f"{ENV}={value!r} is not an ISO moment with a time zone, optionally followed by "
                f"'@' and the Unix time it was pinned at ({exc})"
            ) from None
        if moment.tzinfo is None:
            raise ValueError(f"{ENV}={value!r} has no time zone; add one (e.g. +02:00 or Z)")
        offset = moment.timestamp() - real
        _parsed = (value, offset)
        return offset


def timestamp() -> float:
    """Seconds since the epoch, as :func:`time.time` would say on the pinned clock."""
    return time.time() + _offset()


def now() -> datetime:
    """This moment, timezone-aware (UTC)."""
    return datetime.fromtimestamp(timestamp(), UTC)


def local_date(moment: datetime) -> date:
    """The calendar date people mean (agreed ends, overdue): the server's local time zone."""
    return moment.astimezone().date()


def today() -> date:
    """Today as people mean it (see :func:`local_date`)."""
    return local_date(now())


def machine_now() -> datetime:
    """The machine's own clock, never pinned: only for what two machines' clocks must agree on
    (a webhook's signing time, which the Standard Webhooks library checks against it too), never
    for a business date."""
    return datetime.now(UTC)


def pinned() -> bool:
    """Whether a test pinned the clock (``status`` and ``config show`` say so)."""
    return bool(os.environ.get(ENV))
