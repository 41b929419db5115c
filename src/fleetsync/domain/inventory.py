"""Reading a device inventory file (CSV): every row checked, every problem reported with its line
number, before anything is written.

The file has a header line naming the columns ``serial, asset_tag, model, region, connectivity``
(any order, any case; ``Asset tag`` works too), separated by commas, semicolons (as spreadsheet
programs in Belgium save CSV) or tabs, in UTF-8 with or without a byte-order mark.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

from fleetsync.domain.errors import InvalidRows
from fleetsync.domain.lifecycle import Connectivity

__all__ = ["COLUMNS", "DeviceRow", "parse_devices_csv", "refuse_rows"]

COLUMNS = ("serial", "asset_tag", "model", "region", "connectivity")
_IDENTIFIER = re.compile(r"^[A-Z0-9][A-Z0-9._/-]{0,63}$")
_CONNECTIVITY = {
    "wifi": Connectivity.WIFI,
    "wi-fi": Connectivity.WIFI,
    "4g": Connectivity.FOUR_G,
    "lte": Connectivity.FOUR_G,
}
#: At most this many problems are listed; the count says how many more there are.
MAX_LISTED = 200


@dataclass(frozen=True, slots=True)
class DeviceRow:
    line: int
    serial: str
    asset_tag: str
    model: str
    region: str
    connectivity: Connectivity


def refuse_rows(problems: list[str]) -> InvalidRows:
    """The error for a file with bad rows: nothing is written, every problem is listed."""
    listed = problems[:MAX_LISTED]
    more = len(problems) - len(listed)
    text = "\n".join(f"  {p}" for p in listed)
    if more:
        text += f"\n  ... and {more} more"
    return InvalidRows(
        f"nothing was imported; fix {len(problems)} problem(s) and import the file again:\n{text}",
        problems,
    )


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d])


def _column(name: str) -> str:
    return re.sub(r"[\s-]+", "_", name.strip().lower())


def parse_devices_csv(text: str, *, regions: Sequence[str]) -> list[DeviceRow]:
    """The rows of an inventory file, or :class:`InvalidRows` listing every bad line."""
    text = text.removeprefix("\ufeff")
    header_line = text.split("\n", 1)[0]
    if not header_line.strip():
        raise refuse_rows([f"line 1: the first line must name the columns: {', '.join(COLUMNS)}"])
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(header_line), strict=True)
    try:
        header = [_column(name) for name in next(reader)]
    except csv.Error as exc:
        raise refuse_rows([f"line 1: {exc}"]) from None
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        detail = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"unknown {', '.join(unknown)}" if unknown else "",
                "a column appears twice" if len(set(header)) != len(header) else "",
            )
            if part
        )
        raise refuse_rows([f"line 1: the columns must be {', '.join(COLUMNS)} ({detail})"])
    canonical = {r.casefold(): r for r in regions}
    problems: list[str] = []
    rows: list[DeviceRow] = []
    first_line = {"serial": dict[str, int](), "asset_tag": dict[str, int]()}
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(f"line {reader.line_num}: {exc}")
            continue
        line = reader.line_num
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            problems.append(f"line {line}: {len(fields)} fields, the header has {len(header)}")
            continue
        values = dict(zip(header, (f.strip() for f in fields), strict=True))
        row_problems: list[str] = []
        serial = values["serial"].upper()
        asset_tag = values["asset_tag"].upper()
        for column, value in (("serial", serial), ("asset_tag", asset_tag)):
            if not value:
                row_problems.append(f"{column} is empty")
            elif not _IDENTIFIER.match(value):
                row_problems.append(
                    f"{column} {value!r} may only hold letters, digits and . _ / - (at most 64)"
                )
        if serial and serial == asset_tag:
            row_problems.append("the asset tag equals the serial")
        model = " ".join(values["model"].split())
        if not model or len(model) > 100:
            row_problems.append("model is empty" if not model else "model is over 100 characters")
        region = canonical.get(values["region"].casefold())
        if region is None:
            row_problems.append(
                f"unknown region {values['region']!r} (the regions are {', '.join(regions)})"
            )
        connectivity = _CONNECTIVITY.get(values["connectivity"].lower())
        if connectivity is None:
            row_problems.append(f"connectivity {values['connectivity']!r} is not wifi or 4g")
        for column, value in (("serial", serial), ("asset_tag", asset_tag)):
            if not value:
                continue
            for seen_as in ("serial", "asset_tag"):
                earlier = first_line[seen_as].get(value)
                if earlier is not None:
                    what = "serial" if seen_as == "serial" else "asset tag"
                    row_problems.append(f"{column} {value} is already the {what} on line {earlier}")
        problems.extend(f"line {line}: {p}" for p in row_problems)
        if serial:
            first_line["serial"].setdefault(serial, line)
        if asset_tag:
            first_line["asset_tag"].setdefault(asset_tag, line)
        if not row_problems and region is not None and connectivity is not None:
            rows.append(DeviceRow(line, serial, asset_tag, model, region, connectivity))
    if problems:
        raise refuse_rows(problems)
    return rows
