"""``fleetsync serve``: the service API alone (extra replicas next to the daemon)."""

from __future__ import annotations

from typing import Annotated

import typer

from fleetsync.cli._context import ConfigOption
from fleetsync.cli.db import opened_ledger
from fleetsync.daemon.api import run_api

__all__ = ["serve"]


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
