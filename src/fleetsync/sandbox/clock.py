"""The tenant's simulated clock: real time plus an offset a test or a trainer can advance.

Device check-ins, command expiry, ``lastSync`` and user ``creationTime`` follow it. OAuth tokens and
quotas do not: the client's clock is real, and so are Google's per-minute windows. "Real time" is
:mod:`fleetsync.clock`'s, so a test that pins fleetsync's clock pins the tenant's with it and the
two agree (a command issued "now" by fleetsync is issued "now" in Google too).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from fleetsync import clock

__all__ = ["Clock", "from_rfc3339", "rfc3339"]


class Clock:
    def __init__(self, offset: float = 0.0) -> None:
        self._offset = offset
        self._lock = threading.Lock()

    @property
    def offset(self) -> float:
        return self._offset

    def now(self) -> float:
        return clock.timestamp() + self._offset

    def advance(self, seconds: float) -> float:
        """Move simulated time forward (never back: Google's clock does not go back either)."""
        if seconds < 0:
            raise ValueError(f"the clock only moves forward; got {seconds} seconds")
        with self._lock:
            self._offset += seconds
        return self.now()


def rfc3339(timestamp: float) -> str:
    """Google's timestamp format: ``2024-03-05T17:30:04.325Z``."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def from_rfc3339(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
