"""Taking devices in: from an inventory file (CSV), or from Google at adoption (``sync --adopt``).
One set of rules for both, so that whatever enters the ledger fits it and names one device.

- :func:`record_problems`: a serial and an asset tag are letters, digits and ``. _ / -`` (at most
  64), the asset tag is not the serial, the model fits the ledger (100 characters).
- :class:`DeviceIdentities`: serials and asset tags share one namespace (a person, and the
  command tracker, name a device by either), so an asset tag is never another device's serial
  or tag, and a serial never another device's asset tag.
- :func:`observed_problems`: what of Google's record of a device the ledger keeps must fit the
  ledger's columns (the limits below; ``ledger/models.py`` sizes its columns with them).

Reading an inventory file: every row checked, every problem reported with its line number, before
anything is written.

The file has a header line naming the columns ``serial, asset_tag, model, region, connectivity``
(any order, any case; ``Asset tag`` works too) and optionally ``available_from`` (the delivery
date, ``YYYY-MM-DD``; empty or absent: the day of import), separated by commas, semicolons (as
spreadsheet programs in Belgium save CSV) or tabs, in UTF-8 with or without a byte-order mark.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from fleetsync.domain.days import parse_day
from fleetsync.domain.errors import InvalidInput, InvalidRows
from fleetsync.domain.lifecycle import Connectivity
from fleetsync.domain.observed import ObservedDevice

__all__ = [
    "COLUMNS",
    "MAX_ANNOTATED_USER",
    "MAX_GOOGLE_ID",
    "MAX_GOOGLE_STATUS",
    "MAX_IDENTIFIER",
    "MAX_MODEL",
    "MAX_ORG_UNIT_PATH",
    "MAX_REGION",
    "OPTIONAL_COLUMNS",
    "DeviceIdentities",
    "DeviceRow",
    "connectivity_of",
    "observed_problems",
    "parse_devices_csv",
    "quoted",
    "record_problems",
    "refuse_rows",
]

# The ledger's limits: what a device's record may hold.
MAX_IDENTIFIER = 64
MAX_MODEL = 100
MAX_REGION = 64
MAX_GOOGLE_ID = 64
MAX_ORG_UNIT_PATH = 255
MAX_GOOGLE_STATUS = 24
MAX_ANNOTATED_USER = 255

COLUMNS = ("serial", "asset_tag", "model", "region", "connectivity")
OPTIONAL_COLUMNS = ("available_from",)
_IDENTIFIER = re.compile(rf"^[A-Z0-9][A-Z0-9._/-]{{0,{MAX_IDENTIFIER - 1}}}$")
#: Longer values are quoted cut short in messages (with their length): a 5,000-character
#: annotation must not fill the status page.
_QUOTED = 40
_CONNECTIVITY = {
    "wifi": Connectivity.WIFI,
    "wi-fi": Connectivity.WIFI,
    "4g": Connectivity.FOUR_G,
    "lte": Connectivity.FOUR_G,
}


def connectivity_of(text: str) -> Connectivity | None:
    """What a person writes for a device's connectivity (wifi, Wi-Fi, 4G, LTE), or None."""
    return _CONNECTIVITY.get(text.strip().lower())


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
    #: The delivery date: available to lend from that day. ``None``: not given (the day of
    #: import for a new device; a known device keeps its own).
    available_from: date | None = None


def quoted(value: str) -> str:
    """``value`` quoted for a message, cut short when long (with its length)."""
    if len(value) <= _QUOTED:
        return repr(value)
    return f"{value[: _QUOTED - 8]!r}… ({len(value)} characters)"


def record_problems(serial: str, asset_tag: str | None, model: str) -> list[str]:
    """Why this device's record cannot enter the ledger (upper-case serial and asset tag; no
    asset tag is ``None``), or nothing."""
    problems: list[str] = []
    for column, value in (("serial", serial), ("asset_tag", asset_tag)):
        if value is None:
            continue
        if not value:
            problems.append(f"{column} is empty")
        elif not _IDENTIFIER.match(value):
            problems.append(
                f"{column} {quoted(value)} may only hold letters, digits and . _ / - "
                f"(at most {MAX_IDENTIFIER})"
            )
    if serial and serial == asset_tag:
        problems.append("the asset tag equals the serial")
    if not model:
        problems.append("model is empty")
    elif len(model) > MAX_MODEL:
        problems.append(f"model is over {MAX_MODEL} characters")
    return problems


class DeviceIdentities:
    """The serials and asset tags of the ledger's devices and of those being taken in: one
    namespace, in which each name belongs to one device. Give it every serial (known and new)
    first, then check and claim the asset tags: a tag that is a newcomer's serial is refused
    whichever of the two comes first."""

    def __init__(self, serials: Iterable[str] = (), tags: Mapping[str, str] | None = None) -> None:
        self._serials = set(serials)
        #: asset tag → the serial of the device carrying it
        self._tag_owner = dict(tags or {})

    def tag_conflict(self, serial: str, asset_tag: str | None) -> str | None:
        """Why device ``serial`` cannot carry ``asset_tag``, or ``None``."""
        if not asset_tag:
            return None
        owner = self._tag_owner.get(asset_tag)
        if owner is not None and owner != serial:
            return f"asset tag {asset_tag} belongs to device {owner}"
        if asset_tag in self._serials and asset_tag != serial:
            return f"asset tag {asset_tag} is the serial of another device"
        return None

    def serial_conflict(self, serial: str) -> str | None:
        """Why a new device cannot have ``serial`` (known serials are not new), or ``None``."""
        owner = self._tag_owner.get(serial)
        if owner is not None and owner != serial:
            return f"serial {serial} is the asset tag of device {owner}"
        return None

    def conflicts(self, serial: str, asset_tag: str | None) -> list[str]:
        """Why a new device ``serial`` carrying ``asset_tag`` cannot be taken in."""
        found = (self.serial_conflict(serial), self.tag_conflict(serial, asset_tag))
        return [problem for problem in found if problem is not None]

    def claim(self, serial: str, asset_tag: str) -> None:
        """Device ``serial`` carries ``asset_tag`` from now on."""
        self._tag_owner[asset_tag] = serial

    def release(self, serial: str, asset_tag: str | None) -> None:
        """Device ``serial`` gives ``asset_tag`` up (it moves to another device, or changes)."""
        if asset_tag and self._tag_owner.get(asset_tag) == serial:
            del self._tag_owner[asset_tag]


def observed_problems(seen: ObservedDevice) -> list[str]:
    """What of Google's record of a device does not fit the ledger (which keeps its id, org
    unit, status and user annotation), or nothing."""
    if (
        len(seen.device_id) <= MAX_GOOGLE_ID
        and len(seen.org_unit_path) <= MAX_ORG_UNIT_PATH
        and len(seen.status) <= MAX_GOOGLE_STATUS
        and len(seen.annotated_user) <= MAX_ANNOTATED_USER
    ):
        return []  # the usual case, on every device of every full run: no lists built
    limits = (
        ("its id", seen.device_id, MAX_GOOGLE_ID),
        ("its org unit path", seen.org_unit_path, MAX_ORG_UNIT_PATH),
        ("its status", seen.status, MAX_GOOGLE_STATUS),
        ("its user annotation", seen.annotated_user, MAX_ANNOTATED_USER),
    )
    return [
        f"{what} {quoted(value)} is over {limit} characters"
        for what, value, limit in limits
        if len(value) > limit
    ]


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


def column_name(name: str) -> str:
    """A header cell as a column name: ``Asset tag`` and ``asset-tag`` are ``asset_tag``."""
    return re.sub(r"[\s-]+", "_", name.strip().lower())


@dataclass
class Table:
    """A CSV file a person made (UTF-8 with or without BOM; ``,``, ``;`` or tab): its column
    names, and its rows read one by one."""

    header: list[str]
    _reader: Iterator[list[str]]
    _line: Callable[[], int]

    def rows(self, problems: list[str]) -> Iterator[tuple[int, dict[str, str]]]:
        """Each non-blank row as ``(line number, {column: stripped value})``; a row that is not
        CSV or has the wrong number of fields is added to ``problems`` and skipped."""
        while True:
            try:
                fields = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                problems.append(f"line {self._line()}: {exc}")
                continue
            line = self._line()
            if not any(f.strip() for f in fields):
                continue
            if len(fields) != len(self.header):
                problems.append(
                    f"line {line}: {len(fields)} fields, the header has {len(self.header)}"
                )
                continue
            yield line, dict(zip(self.header, (f.strip() for f in fields), strict=True))


def read_table(text: str, *, columns: Sequence[str]) -> Table:
    """The file's header and rows, or :class:`InvalidRows` when its first line names no
    columns (``columns``: the ones expected, for the message)."""
    text = text.removeprefix("\ufeff")
    header_line = text.split("\n", 1)[0]
    if not header_line.strip():
        raise refuse_rows([f"line 1: the first line must name the columns: {', '.join(columns)}"])
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(header_line), strict=True)
    try:
        header = [column_name(name) for name in next(reader)]
    except csv.Error as exc:
        raise refuse_rows([f"line 1: {exc}"]) from None
    return Table(header, reader, lambda: reader.line_num)


def parse_devices_csv(text: str, *, regions: Sequence[str]) -> list[DeviceRow]:
    """The rows of an inventory file, or :class:`InvalidRows` listing every bad line."""
    table = read_table(text, columns=COLUMNS)
    header = table.header
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS and c not in OPTIONAL_COLUMNS]
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
        raise refuse_rows(
            [
                f"line 1: the columns must be {', '.join(COLUMNS)}, and optionally "
                f"{', '.join(OPTIONAL_COLUMNS)} ({detail})"
            ]
        )
    canonical = {r.casefold(): r for r in regions}
    problems: list[str] = []
    rows: list[DeviceRow] = []
    first_line = {"serial": dict[str, int](), "asset_tag": dict[str, int]()}
    for line, values in table.rows(problems):
        serial = values["serial"].upper()
        asset_tag = values["asset_tag"].upper()
        model = " ".join(values["model"].split())
        row_problems = record_problems(serial, asset_tag, model)
        region = canonical.get(values["region"].casefold())
        if region is None:
            row_problems.append(
                f"unknown region {values['region']!r} (the regions are {', '.join(regions)})"
            )
        connectivity = connectivity_of(values["connectivity"])
        if connectivity is None:
            row_problems.append(f"connectivity {values['connectivity']!r} is not wifi or 4g")
        available_from: date | None = None
        if values.get("available_from"):
            try:  # as a spreadsheet exports it: ISO or day first (11/05/2020)
                available_from = parse_day(values["available_from"], "available_from")
            except InvalidInput as exc:
                row_problems.append(str(exc))
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
            rows.append(
                DeviceRow(line, serial, asset_tag, model, region, connectivity, available_from)
            )
    if problems:
        raise refuse_rows(problems)
    return rows
