"""Loaded only by .ci/run's clock runs (it puts this folder on PYTHONPATH under faketime).

libfaketime 0.9.10 (Debian 12) and Python 3.11 disagree about the monotonic clock: with it faked,
every timed wait (``Event.wait(1)``, ``Lock.acquire(timeout=...)``) waits for ever; with it left
alone (``FAKETIME_DONT_FAKE_MONOTONIC=1``, as .ci/run sets), ``time.sleep`` fails with EINVAL,
because libfaketime shifts the absolute deadline Python gives ``clock_nanosleep``. A sleep through
``select`` takes a relative timeout that libfaketime leaves alone. The wall clock (what the runs are
about) stays faked.
"""

from __future__ import annotations

import os
import select
import time

if os.environ.get("FAKETIME") and os.environ.get("FAKETIME_DONT_FAKE_MONOTONIC") == "1":

    def _sleep(seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            select.select([], [], [], left)

    time.sleep = _sleep
