"""What every command shares: settings, output, exit codes, error rendering."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, time
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console, ConsoleDimensions
from rich.text import Text

if TYPE_CHECKING:
    from fleetsync.settings import Settings

__all__ = [
    "EXIT_CODES_HELP",
    "ConfigOption",
    "ExitCode",
    "FormatOption",
    "JsonOption",
    "OutputFormat",
    "console",
    "day_option",
    "err_console",
    "fail",
    "get_settings",
    "output_format",
    "print_csv",
    "print_json",
]


class ExitCode(IntEnum):
    DONE = 0
    FAILED = 1
    USAGE = 2
    REFUSED = 3
    NOT_FOUND = 4


EXIT_CODES_HELP = (
    "Exit codes: 0 done, 1 some actions failed, 2 usage or configuration error, "
    "3 refused (lifecycle rule) or held back (safety budget), 4 not found."
)

# Everything fleetsync prints is plain text, never Rich markup: no value (an asset tag, a name,
# a note, a reason) can be read as markup, break the output, or style it. Emphasis is a style on a
# rich.text.Text, never "[bold]" in a string.


class _Console(Console):
    """A terminal's width on a terminal; unbounded otherwise. Piped into a file, `grep` or a
    spreadsheet, a table is never cut to 80 columns (`5CD…`) and a line never wrapped inside a
    serial. (Rich takes the width of any of stdin, stdout and stderr that is a terminal, so
    `fleetsync device list | less` would be cut to the terminal's width; and it takes `COLUMNS`
    from the environment, which CI runners and pytest-xdist's workers set to 80.)"""

    def _size(self) -> ConsoleDimensions:
        if not self.is_terminal:
            return ConsoleDimensions(UNBOUNDED_WIDTH, 25)
        return Console.size.fget(self)  # type: ignore[attr-defined,no-any-return]

    size = property(_size, Console.size.fset)  # type: ignore[attr-defined]


#: The width of output that is not a terminal: no table or line is that wide.
UNBOUNDED_WIDTH = 1_000_000

console = _Console(markup=False)
err_console = _Console(stderr=True, markup=False)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        envvar="FLEETSYNC_CONFIG",
        dir_okay=False,
        metavar="PATH",
        show_envvar=False,
        help=(
            "Config file (TOML). Default: $FLEETSYNC_CONFIG, else ./config/fleetsync.toml if "
            "present, else the built-in defaults."
        ),
    ),
]
"""Every command takes ``config: ConfigOption = None`` and calls ``get_settings(config)``."""

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON (for scripts) instead of a table.")
]


class OutputFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


FormatOption = Annotated[
    OutputFormat | None,
    typer.Option(
        "--format",
        case_sensitive=False,
        help="table (for people), csv (for a spreadsheet) or json (for scripts). Default: table.",
        show_default=False,
    ),
]
"""Every command that lists things takes ``fmt: FormatOption = None`` next to ``--json`` and
resolves the two with :func:`output_format`."""


def _day(value: str | datetime) -> datetime:
    if isinstance(value, datetime):  # a default
        return value
    from fleetsync.domain.days import parse_day
    from fleetsync.domain.errors import InvalidInput

    try:
        return datetime.combine(parse_day(value, "the date"), time())
    except InvalidInput as exc:
        raise typer.BadParameter(str(exc).removeprefix("the date ")) from None


def day_option(name: str, help_: str) -> Any:
    """An option that takes a day as people type it: 2027-02-28 or 28/02/2027 (DD/MM/YYYY, also
    with '-' or '.'). Its value is a datetime at midnight, as typer's own date options give."""
    return typer.Option(name, parser=_day, metavar="DATE", help=f"{help_} ({DAY_HELP})")


#: How the help names the formats a day option reads.
DAY_HELP = "YYYY-MM-DD or DD/MM/YYYY"


def output_format(fmt: OutputFormat | None, as_json: bool) -> OutputFormat:
    """``--format``, or ``--json`` (the same as ``--format json``); both only when they agree."""
    if as_json and fmt not in (None, OutputFormat.JSON):
        raise typer.BadParameter(
            f"--json and --format {fmt} disagree: give one of them", param_hint="--format"
        )
    return OutputFormat.JSON if as_json else (fmt or OutputFormat.TABLE)


def print_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """CSV on stdout (RFC 4180, a header line, UTF-8): one line per row, ``None`` empty."""
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(columns)
    for row in rows:
        out.writerow(["" if row.get(c) is None else row[c] for c in columns])


def get_settings(config: Path | None) -> Settings:
    """Load and validate the settings for this command and configure logging from them."""
    # Imported here: pydantic and structlog are not needed to print help or fail on usage.
    from fleetsync.log import configure_logging
    from fleetsync.settings import load_settings

    settings = load_settings(config)
    configure_logging(settings.log_level, settings.log_format)
    return settings


def print_json(data: Any) -> None:
    """Machine-readable output on stdout: stable key order, ISO dates, UTF-8."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str, ensure_ascii=False))
    sys.stdout.write("\n")


def fail(message: str, code: ExitCode = ExitCode.FAILED) -> NoReturn:
    err_console.print(
        Text.assemble(("error:", "bold red"), " ", message), highlight=False, soft_wrap=True
    )
    raise typer.Exit(int(code))
