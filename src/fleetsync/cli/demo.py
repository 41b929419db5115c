"""``fleetsync demo``: the whole system running on one machine, with nothing to set up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fleetsync.cli._context import ConfigOption
from fleetsync.demo import DemoOptions, run_demo
from fleetsync.settings import config_document

__all__ = ["demo_command"]


def demo_command(
    directory: Annotated[
        Path,
        typer.Option(
            "--dir",
            help="Where the demo keeps its ledger, sandbox tenant, config and key file. A second "
            "run continues the first.",
            file_okay=False,
        ),
    ] = Path("demo"),
    reset: Annotated[
        bool,
        typer.Option(
            "--reset",
            help="Start afresh: empty the demo's directory first (only ever a directory the "
            "demo made).",
        ),
    ] = False,
    port: Annotated[int, typer.Option("--port", help="Port of the loan desk's API.")] = 8080,
    sandbox_port: Annotated[
        int, typer.Option("--sandbox-port", help="Port of the sandbox (the stand-in for Google).")
    ] = 8765,
    pace: Annotated[
        float,
        typer.Option(
            "--pace",
            min=0.1,
            help="Seconds between the loan desk's events, on average. Below about 3 the desk "
            "outpaces Google's quota for Chrome device writes, and changes queue up.",
        ),
    ] = 3.0,
    loan_seconds: Annotated[
        float,
        typer.Option(
            "--loan-seconds",
            min=1,
            help="How long a loan runs before the desk may take the device back (a real course "
            "runs about 65 days).",
        ),
    ] = 20.0,
    duration: Annotated[
        float | None,
        typer.Option(
            "--duration",
            min=1,
            help="Stop after this many seconds and check that Google converged (exit 1 if not). "
            "Default: run until Ctrl-C.",
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Watch fleetsync run a loan programme: the sandbox with the agency's 1,000 Chromebooks, an
    SQLite ledger, the daemon with its API, and a simulated loan desk lending devices and taking
    them back through signed webhooks, while returned devices are switched on and powerwashed.

    The fleet is adopted first; then devices move between org units, accounts appear and are
    suspended, powerwashes execute and devices become spare again — in the log, and in
    `fleetsync status --config demo/fleetsync.toml` from a second terminal. Ctrl-C stops it.

    With --config (or a config/fleetsync.toml in use), the demo rehearses that configuration:
    its org units, regions and policies, with only the Google connection (the sandbox), the
    ledger, the loan desk and the timings replaced.

    A second run continues the first (its ledger and its sandbox tenant, saved on the way out);
    --reset starts afresh. Exit 2 when a port is in use (choose another with --port or
    --sandbox-port) or --dir holds files that are not the demo's.
    """
    options = DemoOptions(
        directory=directory, port=port, sandbox_port=sandbox_port, pace_seconds=pace,
        duration=duration, loan_seconds=loan_seconds, base=config_document(config), reset=reset,
    )  # fmt: skip
    raise typer.Exit(run_demo(options))
