"""``fleetsync daemon``: the service the ICT service runs (systemd or Kubernetes)."""

from __future__ import annotations

from typing import Annotated

import typer

from fleetsync.cli._context import ConfigOption
from fleetsync.cli.db import ledger_settings
from fleetsync.daemon import run_daemon
from fleetsync.daemon.api import listen, run_api
from fleetsync.ledger import Ledger

__all__ = ["daemon_command"]


def daemon_command(
    host: Annotated[
        str | None, typer.Option("--host", help="Address the API listens on. Default: [api] host.")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="Port the API listens on. Default: [api] port.")
    ] = None,
    no_api: Annotated[
        bool,
        typer.Option("--no-api", help="Run only the scheduler (the API runs elsewhere)."),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Run fleetsync as a service: the loan desk's API and the scheduler in one process.

    The scheduler runs the full reconcile (every `[daemon] reconcile_interval_minutes`), the
    command tracker, the outbox drain (targeted reconciles after each ledger change), and the
    daily overdue and retention jobs. Several replicas on PostgreSQL elect one leader to run it
    (a standby takes over within `leader_poll_seconds`); on SQLite a second daemon refuses to
    start. SIGTERM finishes the action in flight, writes the journal and exits 0.

    Exit codes: 0 stopped cleanly, 2 configuration error (the API's port is in use, or another
    daemon runs on this SQLite ledger).
    """
    settings = ledger_settings(config)
    # Bound before the scheduler starts: a port in use stops the daemon before it does anything.
    sock = None if no_api else listen(host or settings.api.host, port or settings.api.port)

    def serve(ledger: Ledger) -> None:
        run_api(settings, ledger, host=host, port=port, sock=sock)

    raise typer.Exit(run_daemon(settings, serve_api=None if no_api else serve))
