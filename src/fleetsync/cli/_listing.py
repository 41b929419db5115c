"""Lists in three formats: a table for people, CSV for spreadsheets, JSON for scripts."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.table import Table

from fleetsync.cli._context import FormatOption, OutputFormat, console, output_format, print_json

__all__ = ["CsvOption", "ListFormat", "ListFormatOption", "chosen_format", "emit_list"]


ListFormat = OutputFormat
ListFormatOption = FormatOption
CsvOption = Annotated[bool, typer.Option("--csv", help="Print CSV: the same as --format csv.")]


def chosen_format(
    fmt: OutputFormat | None, *, as_json: bool = False, as_csv: bool = False
) -> OutputFormat:
    """``--format``, ``--json`` or ``--csv``; refused when they disagree."""
    if as_csv:
        if as_json or fmt not in (None, OutputFormat.CSV):
            raise typer.BadParameter("--csv and --json/--format disagree: give one of them")
        return OutputFormat.CSV
    return output_format(fmt, as_json)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    return _text(value)


def emit_list(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: OutputFormat, *, title: str
) -> None:
    """``rows`` (values: text, numbers, dates, booleans, lists) in ``fmt``."""
    if fmt is ListFormat.JSON:
        print_json(list(rows))
        return
    if fmt is ListFormat.CSV:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row[c]) for c in columns])
        sys.stdout.write(out.getvalue())
        return
    table = Table(*(c.replace("_", " ") for c in columns), title=title)
    for row in rows:
        table.add_row(*(_text(row[c]) for c in columns))
    console.print(table, highlight=False, soft_wrap=True)
