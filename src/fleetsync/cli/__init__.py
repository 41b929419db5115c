"""The ``fleetsync`` command line.

Each command group lives in its own module. Every command takes ``config: ConfigOption = None``
(``--config PATH``) and raises fleetsync's errors; the mapping of those errors to the documented
exit codes happens once, here.

Start-up is part of the interface: a technician runs dozens of commands a day, so a command
imports only what it needs, when it runs. The modules are registered in ``COMMANDS`` below by
name (never imported here): ``fleetsync --help`` lists them from that table alone, and
``fleetsync device show X`` imports ``fleetsync.cli.devices`` and what it needs (the settings,
SQLAlchemy, the ledger), never Google's client, FastAPI or Alembic (unless the ledger must be
migrated). ``tests/cli/test_startup.py`` guards this by checking which modules a command imports.

To add a command: write its module (``app = typer.Typer(...)`` for a group of commands, or a
function for one command) and add one line to ``COMMANDS``::

    "course": Lazy("fleetsync.cli.courses", "app", "Courses: their seats and reservations."),

Inside a command module, import heavy libraries at the top as usual: they are only paid for by
the commands of that module. What the whole CLI shares (``fleetsync.cli._context``) must stay
light: it imports the settings and logging only when a command asks for its settings.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

from fleetsync.cli._context import EXIT_CODES_HELP, ExitCode, fail

__all__ = ["COMMANDS", "Lazy", "app", "main"]


@dataclass(frozen=True, slots=True)
class Lazy:
    """A command (a function) or a group of commands (a ``typer.Typer``) in a module that is
    imported only when the command runs or its own help is asked for."""

    module: str
    attribute: str
    summary: str
    """One line for ``fleetsync --help`` (the listing never imports the module)."""


COMMANDS: dict[str, Lazy] = {
    "sync": Lazy(
        "fleetsync.cli.sync",
        "sync_command",
        "Make Google follow the ledger: observe Google, plan the difference, apply it.",
    ),
    "plan": Lazy(
        "fleetsync.cli.sync",
        "plan_command",
        "Show what fleetsync sync would do, and change nothing.",
    ),
    "status": Lazy(
        "fleetsync.cli.status",
        "status_command",
        "The fleet by state and region, the reconciles, the daemons, what needs a person.",
    ),
    "serve": Lazy(
        "fleetsync.cli.serve", "serve", "Run the service API alone (the loan desks' webhooks)."
    ),
    "daemon": Lazy(
        "fleetsync.cli.daemon",
        "daemon_command",
        "Run fleetsync as a service: the loan desk's API and the scheduler in one process.",
    ),
    "demo": Lazy(
        "fleetsync.cli.demo",
        "demo_command",
        "Watch fleetsync run a loan programme on a sandbox, with nothing to set up.",
    ),
    "init": Lazy(
        "fleetsync.cli.init",
        "init_command",
        "Start a programme: write a commented config and create its ledger.",
    ),
    "config": Lazy("fleetsync.cli.config", "app", "See and check fleetsync's configuration."),
    "device": Lazy(
        "fleetsync.cli.devices",
        "app",
        "Look devices up, import them, and move them through their lifecycle.",
    ),
    "loan": Lazy(
        "fleetsync.cli.loans",
        "app",
        "Lend devices, take them back, extend loans, and list who has what.",
    ),
    "course": Lazy(
        "fleetsync.cli.courses",
        "app",
        "Course periods: the calendar loans and reservations are for.",
    ),
    "reservation": Lazy(
        "fleetsync.cli.reservations",
        "app",
        "Reservations: people registered for a course period who need a device.",
    ),
    "forecast": Lazy(
        "fleetsync.cli.reservations",
        "forecast_command",
        "Reservations against the devices expected lendable when a course period starts.",
    ),
    "db": Lazy(
        "fleetsync.cli.db", "app", "The ledger's database: apply migrations, see the version."
    ),
    "sandbox": Lazy(
        "fleetsync.cli.sandbox",
        "app",
        "A local stand-in for Google Workspace, to rehearse, train and demo.",
    ),
    "staff": Lazy(
        "fleetsync.cli.staff",
        "app",
        "Staff accounts of the desk web app (/desk): add, list, disable, reset a password.",
    ),
    "report": Lazy(
        "fleetsync.cli.reports",
        "app",
        "The programme's figures, from the ledger alone (docs/reports.md).",
    ),
}
"""Every top-level command, in the order ``fleetsync --help`` lists them."""

_MARKUP: Literal["markdown"] = "markdown"


def _is(exc: BaseException, module: str, name: str) -> bool:
    # An exception of a module that was never imported cannot have been raised: checking through
    # sys.modules keeps the error mapping from importing Google's client or pydantic up front.
    loaded = sys.modules.get(module)
    return loaded is not None and isinstance(exc, getattr(loaded, name))


class _FleetsyncGroup(TyperGroup):
    """Loads commands when they are used; turns fleetsync's errors into a message on stderr and
    the documented exit code."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [*COMMANDS, *(name for name in super().list_commands(ctx) if name not in COMMANDS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands or cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        lazy = COMMANDS[cmd_name]
        if self._listing:  # the listing in `fleetsync --help`: no import
            return TyperCommand(cmd_name, help=lazy.summary, short_help=lazy.summary)
        command = _load(cmd_name, lazy)
        self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if _is(exc, "fleetsync.settings", "ConfigError") or _is(
                exc, "fleetsync.domain.errors", "InvalidInput"
            ):
                fail(str(exc), ExitCode.USAGE)
            if _is(exc, "fleetsync.google.errors", "GoogleAuthError"):
                fail(str(exc), ExitCode.USAGE)
            if _is(exc, "fleetsync.google.errors", "GoogleError"):
                fail(f"Google: {exc}", ExitCode.FAILED)
            if _is(exc, "fleetsync.domain.errors", "Refused"):
                fail(str(exc), ExitCode.REFUSED)
            if _is(exc, "fleetsync.domain.errors", "NotFound"):
                fail(str(exc), ExitCode.NOT_FOUND)
            raise


def _load(name: str, lazy: Lazy) -> Any:
    target = getattr(importlib.import_module(lazy.module), lazy.attribute)
    command: Any
    if isinstance(target, typer.Typer):
        command = typer.main.get_group_from_info(
            typer.models.TyperInfo(target, name=name),
            pretty_exceptions_short=True,
            suggest_commands=True,
            rich_markup_mode=_MARKUP,
        )
    else:
        command = typer.main.get_command_from_info(
            typer.models.CommandInfo(name=name, callback=target),
            pretty_exceptions_short=True,
            rich_markup_mode=_MARKUP,
        )
    command.short_help = lazy.summary
    return command


def _no_flag_metavar(self: TyperOption, ctx: Any) -> str | None:
    # Typer's help panel shows a type for every option, `<bool>` for a flag too (which takes no
    # value). A flag shows none, as in click's own help.
    if self.is_flag or self.count:
        return None
    return _typer_display_type(self, ctx)


_typer_display_type = TyperOption.display_type_rich
TyperOption.display_type_rich = _no_flag_metavar  # type: ignore[method-assign]

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
    rich_markup_mode=_MARKUP,
)


def _version(value: bool) -> None:
    if value:
        from fleetsync import __version__

        typer.echo(f"fleetsync {__version__}")
        raise typer.Exit()


@app.callback(help=_HELP)
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    pass


def main(argv: Sequence[str] | None = None) -> None:
    app(args=list(argv) if argv is not None else None, prog_name="fleetsync")
