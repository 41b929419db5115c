"""The ``fleetsync`` command line.

Each command group lives in its own module and is registered in ``_register`` below. Every
command takes ``config: ConfigOption = None`` (``--config PATH``) and raises fleetsync's errors;
the mapping of those errors to the documented exit codes happens once, here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from fleetsync import __version__
from fleetsync.cli._context import EXIT_CODES_HELP, ExitCode, fail
from fleetsync.domain.errors import InvalidInput, NotFound, Refused
from fleetsync.google.errors import GoogleAuthError, GoogleError
from fleetsync.settings import ConfigError

__all__ = ["app", "main"]


class _FleetsyncGroup(TyperGroup):
    """Turns fleetsync's errors into a message on stderr and the documented exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (ConfigError, InvalidInput, GoogleAuthError) as exc:
            fail(str(exc), ExitCode.USAGE)
        except GoogleError as exc:
            fail(f"Google: {exc}", ExitCode.FAILED)
        except Refused as exc:
            fail(str(exc), ExitCode.REFUSED)
        except NotFound as exc:
            fail(str(exc), ExitCode.NOT_FOUND)


_HELP = (
    "Run a Chromebook loan programme on Google Workspace: the loan ledger is the truth, "
    "Google is made to follow it.\n\n" + EXIT_CODES_HELP
)

app = typer.Typer(
    name="fleetsync",
    cls=_FleetsyncGroup,
    help=_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode="markdown",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"fleetsync {__version__}")
        raise typer.Exit()


@app.callback(help=_HELP)
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    pass


def _register() -> None:
    # Each group in its own module; imported here so `fleetsync --help` lists them all.
    from fleetsync.cli import config as config_cli
    from fleetsync.cli import courses as courses_cli
    from fleetsync.cli import daemon as daemon_cli
    from fleetsync.cli import db as db_cli
    from fleetsync.cli import demo as demo_cli
    from fleetsync.cli import devices as devices_cli
    from fleetsync.cli import loans as loans_cli
    from fleetsync.cli import reports as reports_cli
    from fleetsync.cli import sandbox as sandbox_cli
    from fleetsync.cli import serve as serve_cli
    from fleetsync.cli import status as status_cli
    from fleetsync.cli import sync as sync_cli

    app.add_typer(config_cli.app, name="config")
    app.add_typer(devices_cli.app, name="device")
    app.add_typer(loans_cli.app, name="loan")
    app.add_typer(courses_cli.app, name="course")
    app.add_typer(db_cli.app, name="db")
    app.add_typer(sandbox_cli.app, name="sandbox")
    app.command("sync")(sync_cli.sync_command)
    app.command("plan")(sync_cli.plan_command)
    app.command("status")(status_cli.status_command)
    app.add_typer(reports_cli.app, name="report")
    app.command("serve")(serve_cli.serve)
    app.command("daemon")(daemon_cli.daemon_command)
    app.command("demo")(demo_cli.demo_command)


_register()


def main(argv: Sequence[str] | None = None) -> None:
    app(args=list(argv) if argv is not None else None, prog_name="fleetsync")
