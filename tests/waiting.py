"""The one way a test waits for something that happens elsewhere (a thread, a process, a server,
the sandbox): ask ``predicate`` again and again until it holds, or fail saying what was awaited.

No fixed sleeps: a wait ends as soon as the thing happened, and a wait that runs out names it
("waited 60 s for the checkout reaching Google"), with whatever ``detail`` adds (a log, say).
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["wait_until"]


def wait_until(
    predicate: Callable[[], object],
    *,
    what: str,
    timeout: float = 60.0,
    interval: float = 0.1,
    between: Callable[[], object] | None = None,
    detail: Callable[[], str] | None = None,
) -> None:
    """Return once ``predicate()`` is true; raise :class:`AssertionError` after ``timeout``
    seconds. ``between()`` runs after each unsuccessful try (time passing in the sandbox, for
    instance). An exception from ``predicate`` (an assertion that the process still runs) ends
    the wait at once."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            message = f"waited {timeout:g} s for {what}; it did not happen"
            if detail is not None:
                message += ":\n" + detail()
            raise AssertionError(message)
        if between is not None:
            between()
        time.sleep(interval)
