"""The API, served, bound to the reconciler: the composition root that ``fleetsync serve``,
``fleetsync daemon`` and the demo share (``fleetsync.api`` itself never imports the Google side)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

import uvicorn

from fleetsync.api import create_app
from fleetsync.google import Google
from fleetsync.ledger import Ledger
from fleetsync.log import get_logger
from fleetsync.settings import Settings
from fleetsync.sync import drain_outbox

__all__ = ["reconciler_drain", "run_api"]

_log = get_logger(__name__)


def reconciler_drain(
    ledger: Ledger, settings: Settings, google: Google
) -> Callable[[threading.Event], int]:
    """The outbox drain: a targeted reconcile of the pending entries' devices and borrowers.
    Safe on several replicas at once: drains take the ledger's reconcile lock in turn."""

    def drain(stopping: threading.Event) -> int:
        return drain_outbox(ledger, settings, google=google, stop=stopping)

    return drain


def run_api(settings: Settings, ledger: Ledger, *, host: str | None, port: int | None) -> None:
    """The API under uvicorn until SIGINT / SIGTERM, draining the outbox in the background.

    Without a service-account key the API only records the desks' events and the daemon drains
    the outbox: an internet-facing replica need not hold the domain-wide delegation key."""
    with contextlib.ExitStack() as stack:
        drain = None
        if settings.google.key_file is not None:
            google = stack.enter_context(Google.connect(settings))
            drain = reconciler_drain(ledger, settings, google)
        else:
            _log.info("api.no_google_key", outbox="left to the daemon")
        app = create_app(settings, ledger, drain=drain)
        uvicorn.run(
            app,
            host=host or settings.api.host,
            port=port or settings.api.port,
            # Logging stays as fleetsync configured it (structlog, secrets redacted); uvicorn's
            # access log names method, path and status, never a header or a body.
            log_config=None,
            server_header=False,
        )
