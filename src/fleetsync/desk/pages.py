"""Find, and what it opens: a device, a borrower, a list of borrowers by name.

One search field a barcode scanner types into (it types and presses Enter): an exact serial or
asset tag opens the device, a borrower id of this desk opens the borrower, anything else is
searched in the names of this desk's borrowers. Never a prefix match on devices
(:mod:`fleetsync.services.lookup`). An admin's search covers every desk, and the list of names
says which desk lent to each borrower.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from fleetsync import clock, services
from fleetsync.desk.web import DeskRoute, Visit, page, redirect, require
from fleetsync.domain.errors import FleetsyncError, InvalidInput, NotFound
from fleetsync.domain.staff import Permission
from fleetsync.services import lookup

__all__ = ["router"]

router = APIRouter(prefix="/desk", route_class=DeskRoute, include_in_schema=False)

LookUp = Annotated[Visit, Depends(require(Permission.LOOK_UP))]


def scope(seen: Visit) -> str | None:
    """Whose loans and borrowers the page shows: the staff member's desk, every desk's (``None``)
    for an admin."""
    return seen.scope


@router.get("")
def home(seen: LookUp) -> Response:
    return page(seen, "home.html", {"query": "", "message": None, "borrowers": []})


@router.get("/find")
def find(seen: LookUp, q: str = "") -> Response:
    query = " ".join(q.split())[:120]
    if not query:
        return redirect("/desk")
    desk, today = scope(seen), clock.today()
    with seen.desk.api.ledger.read() as session:
        try:
            device = lookup.find_device(session, query, desk=desk, today=today)
        except (NotFound, InvalidInput):
            device = None
        if device is not None:
            return redirect(f"/desk/devices/{quote(device.serial, safe='')}")
        try:
            person = lookup.find_borrower(session, query, desk=desk, today=today)
        except (NotFound, InvalidInput):
            person = None
        if person is not None:
            return redirect(f"/desk/borrowers/{quote(person.id, safe='')}")
        try:
            matches = lookup.search_borrowers(session, query, desk=desk, limit=50)
        except InvalidInput:
            matches = []
    message = None
    if not matches and seen.all_desks:
        message = seen._(
            "Nothing found: no device has this serial or asset tag (exactly), and no borrower "
            "of any desk has this id or name."
        )
    elif not matches:
        message = seen._(
            "Nothing found: no device has this serial or asset tag (exactly), and no borrower "
            "of this desk has this id or name."
        )
    return page(
        seen,
        "home.html",
        {"query": query, "message": message, "borrowers": matches},
        status=200 if matches else 404,
    )


@router.get("/devices/{ref}")
def device_page(seen: LookUp, ref: str) -> Response:
    with seen.desk.api.ledger.read() as session:
        try:
            device = lookup.find_device(session, ref, desk=scope(seen), today=clock.today())
        except (NotFound, InvalidInput):
            return not_found(seen)
    return page(seen, "device.html", {"device": device, "error": None})


@router.get("/borrowers/{borrower_id}")
def borrower_page(seen: LookUp, borrower_id: str) -> Response:
    with seen.desk.api.ledger.read() as session:
        try:
            person = lookup.find_borrower(
                session, borrower_id, desk=scope(seen), today=clock.today()
            )
        except (NotFound, InvalidInput):
            return not_found(seen)
    return page(seen, "borrower.html", {"borrower": person})


Technician = Annotated[Visit, Depends(require(Permission.DEVICE_WORK))]


@router.post("/devices/{ref}/ready")
async def mark_ready(seen: Technician, ref: str) -> Response:
    """Refurbishment done (a technician's or an admin's): :func:`fleetsync.services.mark_ready`,
    which refuses while the device's powerwash has not executed."""
    await seen.form()
    api = seen.desk.api
    error = None
    try:
        with api.ledger.transaction() as session:
            services.mark_ready(session, device=ref, actor=seen.actor, all_desks=seen.all_desks)
    except FleetsyncError as exc:
        error = seen.refusal(exc)
    with api.ledger.read() as session:
        try:
            device = lookup.find_device(session, ref, desk=scope(seen), today=clock.today())
        except (NotFound, InvalidInput):
            return not_found(seen)
    return page(
        seen, "device.html", {"device": device, "error": error}, status=409 if error else 200
    )


def not_found(seen: Visit) -> Response:
    return page(seen, "not_found.html", status=404)
