"""The desk's lists: its open loans (all, due this week, overdue with the days overdue) and the
spare devices by connectivity, each on screen (a page at a time) and as CSV.

The CSV is UTF-8 with a byte order mark (spreadsheets then read the accents right), with ``;``
between fields in Dutch (the separator Dutch-language spreadsheets expect, since the decimal
comma takes ``,``) and ``,`` in English; dates are ISO (YYYY-MM-DD), whatever the language.

A clerk or a technician sees their own desk's loans only. An admin chooses the desk (``?desk=``):
their own desk unless they ask for another one or for every desk (``?desk=all``, which adds the
desk to each line and a "Desk" column to the CSV). Spare devices are shared by every desk.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import Response, StreamingResponse

from fleetsync import clock
from fleetsync.desk.web import DeskRoute, Visit, page, require
from fleetsync.domain.actors import ADMIN, DESK_NAME
from fleetsync.domain.errors import InvalidInput
from fleetsync.domain.staff import Permission
from fleetsync.services import lookup

__all__ = ["router"]

router = APIRouter(prefix="/desk", route_class=DeskRoute, include_in_schema=False)

LookUp = Annotated[Visit, Depends(require(Permission.LOOK_UP))]
Show = Literal["open", "week", "overdue"]
PAGE = 100
BOM = "\ufeff"
#: The desk filter's value for every desk's loans (no desk may be named so: see ``ADMIN``).
EVERY_DESK = "all"


def _desk_filter(seen: Visit, value: str) -> str:
    """The desk whose loans the list shows (``all``: every desk's): always the staff member's own
    for a clerk or a technician; for an admin the one asked for, their own by default."""
    wanted = value.strip()
    if not seen.all_desks or not wanted:
        return seen.own_desk
    if wanted == EVERY_DESK or (DESK_NAME.fullmatch(wanted) and wanted != ADMIN):
        return wanted
    return seen.own_desk


def _desks(seen: Visit) -> list[str]:
    """The desks an admin chooses from: every configured desk, and their own."""
    return sorted({*seen.desk.api.settings.api.desks, seen.own_desk})


def _loans_page(
    seen: Visit, show: str, cursor: str | None, limit: int, desk: str
) -> lookup.Page[lookup.LoanLine]:
    today = clock.today()
    state = lookup.LoanState.OVERDUE if show == "overdue" else lookup.LoanState.OPEN
    # "Due this week": the agreed end falls within the next seven days (today included), or
    # has passed already.
    due_before = today + timedelta(days=7) if show == "week" else None
    with seen.desk.api.ledger.read() as session:
        return lookup.list_loans(
            session,
            desk=None if desk == EVERY_DESK else desk,
            today=today,
            state=state,
            due_before=due_before,
            limit=limit,
            cursor=cursor,
        )


def _show(value: str) -> str:
    return value if value in ("open", "week", "overdue") else "open"


@router.get("/loans")
def loans(seen: LookUp, show: str = "open", cursor: str | None = None, desk: str = "") -> Response:
    show, chosen = _show(show), _desk_filter(seen, desk)
    try:
        found = _loans_page(seen, show, cursor, PAGE, chosen)
    except InvalidInput:  # a cursor from another list, or mangled
        found = _loans_page(seen, show, None, PAGE, chosen)
    context = {
        "show": show,
        "page": found,
        "desk_filter": chosen,
        "desks": _desks(seen) if seen.all_desks else [],
        # The query that keeps the desk chosen (for the filters, the next page, the CSV).
        "desk_query": f"&desk={quote(chosen)}" if seen.all_desks else "",
    }
    return page(seen, "loans.html", context)


def _separator(seen: Visit) -> str:
    return ";" if seen.language.code.startswith("nl") else ","


def _csv(seen: Visit, name: str, header: list[str], rows: Iterator[list[str]]) -> Response:
    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=_separator(seen), lineterminator="\r\n")
        buffer.write(BOM)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/loans.csv")
def loans_csv(seen: LookUp, show: str = "open", desk: str = "") -> Response:
    show, chosen = _show(show), _desk_filter(seen, desk)
    every = chosen == EVERY_DESK
    _ = seen._

    def rows() -> Iterator[list[str]]:
        cursor: str | None = None
        while True:
            found = _loans_page(seen, show, cursor, lookup.MAX_PAGE, chosen)
            for line in found.items:
                yield ([line.desk or ""] if every else []) + [
                    line.loan,
                    line.serial,
                    line.asset_tag or "",
                    line.borrower,
                    line.given_name or "",
                    line.family_name or "",
                    line.region,
                    line.connectivity,
                    line.checked_out_at.date().isoformat(),
                    line.agreed_end.isoformat(),
                    str(line.days_overdue),
                ]
            cursor = found.next_cursor
            if cursor is None:
                return

    header = [
        _("Loan"), _("Serial"), _("Asset tag"), _("Borrower"), _("Given name"),
        _("Family name"), _("Region"), _("Connectivity"), _("Lent on"), _("Agreed end"),
        _("Days overdue"),
    ]  # fmt: skip
    if every:
        header.insert(0, _("Desk"))
    name = f"loans-{show}-{'' if chosen == seen.own_desk else chosen + '-'}"
    return _csv(seen, f"{name}{clock.today().isoformat()}.csv", header, rows())


def _spares_page(
    seen: Visit, connectivity: str | None, cursor: str | None, limit: int
) -> lookup.Page[lookup.SpareDevice]:
    with seen.desk.api.ledger.read() as session:
        return lookup.spare_devices(session, connectivity=connectivity, limit=limit, cursor=cursor)


def _connectivity(value: str) -> str | None:
    return value if value in ("wifi", "4g") else None


@router.get("/spares")
def spares(seen: LookUp, connectivity: str = "", cursor: str | None = None) -> Response:
    wanted = _connectivity(connectivity)
    try:
        found = _spares_page(seen, wanted, cursor, PAGE)
    except InvalidInput:
        found = _spares_page(seen, wanted, None, PAGE)
    return page(seen, "spares.html", {"connectivity": wanted or "", "page": found})


@router.get("/spares.csv")
def spares_csv(seen: LookUp, connectivity: str = "") -> Response:
    wanted = _connectivity(connectivity)
    _ = seen._

    def rows() -> Iterator[list[str]]:
        cursor: str | None = None
        while True:
            found = _spares_page(seen, wanted, cursor, lookup.MAX_PAGE)
            for device in found.items:
                yield [
                    device.serial,
                    device.asset_tag or "",
                    device.model,
                    device.region,
                    device.connectivity,
                    device.spare_since.date().isoformat(),
                ]
            cursor = found.next_cursor
            if cursor is None:
                return

    header = [
        _("Serial"),
        _("Asset tag"),
        _("Model"),
        _("Region"),
        _("Connectivity"),
        _("Spare since"),
    ]
    return _csv(seen, f"spare-devices-{clock.today().isoformat()}.csv", header, rows())
