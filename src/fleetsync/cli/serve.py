"""``fleetsync serve``: the service API under uvicorn (the composition root that binds the API to
the reconciler: ``fleetsync.api`` itself never imports the Google side)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
import uvicorn

from fleetsync.api import create_app
from fleetsync.cli._context import ConfigOption
from fleetsync.cli.db import opened_ledger
from fleetsync.ledger import Ledger
from fleetsync.log import get_logger
from fleetsync.settings import Settings

__all__ = ["reconciler_drain", "serve"]

_log = get_logger(__name__)


def reconciler_drain(ledger: Ledger, settings: Settings) -> Callable[[], int] | None:
    """The outbox drain: a targeted reconcile of the pending entries' devices and borrowers.
    ``None`` (and a warning) when this fleetsync has no reconciler to run."""
    try:
        from fleetsync.sync import drain_outbox  # type: ignore[attr-defined]  # issue 4 adds it
    except ImportError:
        _log.warning(
            "this fleetsync has no reconciler (fleetsync.sync.drain_outbox): the API records "
            "the loan desks' events, and the outbox waits for a fleetsync that reconciles"
        )
        return None

    def drain() -> int:
        handled: int = drain_outbox(ledger, settings)
        return handled

    return drain


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
        app = create_app(settings, ledger, drain=reconciler_drain(ledger, settings))
        uvicorn.run(
            app,
            host=host or settings.api.host,
            port=port or settings.api.port,
            # Logging stays as fleetsync configured it (structlog, secrets redacted); uvicorn's
            # access log names method, path and status, never a header or a body.
            log_config=None,
            server_header=False,
        )
