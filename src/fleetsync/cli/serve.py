"""``fleetsync serve``: the service API under uvicorn (the composition root that binds the API to
the reconciler: ``fleetsync.api`` itself never imports the Google side)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Annotated

import typer
import uvicorn

from fleetsync.api import create_app
from fleetsync.cli._context import ConfigOption
from fleetsync.cli.db import opened_ledger
from fleetsync.google import Google
from fleetsync.ledger import Ledger
from fleetsync.log import get_logger
from fleetsync.settings import Settings
from fleetsync.sync import drain_outbox

__all__ = ["reconciler_drain", "run_api", "serve"]

_log = get_logger(__name__)


def reconciler_drain(ledger: Ledger, settings: Settings, google: Google) -> Callable[[], int]:
    """The outbox drain: a targeted reconcile of the pending entries' devices and borrowers.
    Safe on several replicas at once: drains take the ledger's reconcile lock in turn."""

    def drain() -> int:
        return drain_outbox(ledger, settings, google=google)

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


def serve(
    host: Annotated[
        str | None,
        typer.Option(
            "--host", help="Address to listen on. Default: the api.host setting (127.0.0.1)."
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port", min=1, max=65535, help="Port. Default: the api.port setting (8080)."
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Run the service API: the loan desks' signed webhooks, loan status and first passwords,
    /livez, /readyz and /metrics. Changes are reconciled with Google in the background.

    Runs until interrupted (SIGINT or SIGTERM), then finishes the requests in flight. Put it
    behind a TLS-terminating proxy: desks send tokens and receive first passwords.
    """
    with opened_ledger(config) as (settings, ledger):
        run_api(settings, ledger, host=host, port=port)
