"""Reading a report back from each format into records of text, the way a person or a script
would read it, so that one expectation checks every format."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from html.parser import HTMLParser
from typing import Any

__all__ = ["NOTHING", "from_csv", "from_html", "from_json", "from_table", "html_tables"]

#: How the expectations write "nothing to average"; each format's own way is mapped to it.
NOTHING = "-"
_LABEL = re.compile(r"^[\w-]+$")
_FIGURE = re.compile(r"\d+([.,]\d)?|\N{EN DASH}")  # 38.5, or 38,5 in Dutch


def _text(value: Any) -> str:
    if value is None or value in {"", "\N{EN DASH}"}:
        return NOTHING
    return str(value)


def from_json(document: dict[str, Any], keys: Sequence[str]) -> list[dict[str, str]]:
    return [{k: _text(row[k]) for k in keys} for row in document["rows"]]


def from_csv(text: str, keys: Sequence[str]) -> list[dict[str, str]]:
    return [{k: _text(row[k]) for k in keys} for row in csv.DictReader(io.StringIO(text))]


def from_table(text: str, keys: Sequence[str]) -> list[dict[str, str]]:
    """The data lines of a plain-text table whose columns are ``keys``: labels first, then one
    figure per column (a figure cut short, e.g. ``40…``, does not parse)."""
    rows = []
    for line in text.splitlines():
        cells = line.split()
        labels, figures = cells[:2], cells[2:]
        if (
            len(cells) == len(keys)
            and all(_LABEL.match(c) for c in labels)
            and all(_FIGURE.fullmatch(c) for c in figures)
        ):
            rows.append({k: _text(c) for k, c in zip(keys, cells, strict=True)})
    return rows


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict[str, Any]] = []
        self._cell: list[str] | None = None
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append({"caption": "", "head": [], "rows": []})
        elif tag == "caption":
            self._in = "caption"
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in {"td", "th"}:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "caption":
            self._in = None
        elif tag in {"td", "th"} and self._cell is not None:
            self.tables[-1]["rows"][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self._in == "caption":
            self.tables[-1]["caption"] += data


def html_tables(page: str) -> list[dict[str, Any]]:
    """Each table of the page: its caption, and its rows of cell texts (the header row first)."""
    parser = _Tables()
    parser.feed(page)
    return parser.tables


def from_html(page: str, keys: Sequence[str]) -> list[dict[str, str]]:
    """The rows of the page's one table of figures, its columns being ``keys``."""
    (table,) = html_tables(page)
    return [{k: _text(c) for k, c in zip(keys, row, strict=True)} for row in table["rows"][1:]]
