"""Take back: scan the device, say how it came back (in good order, or damaged with a note),
confirm. :func:`fleetsync.services.return_device` ends the loan, as for the webhook and the
command line; the page says what happens next."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from fleetsync import services
from fleetsync.desk.web import DeskRoute, Visit, page, require
from fleetsync.domain.errors import FleetsyncError, NotFound, Refused
from fleetsync.domain.lifecycle import Condition
from fleetsync.domain.staff import Permission

__all__ = ["router"]

router = APIRouter(prefix="/desk", route_class=DeskRoute, include_in_schema=False)

TakingBack = Annotated[Visit, Depends(require(Permission.TAKE_BACK))]


@router.get("/return")
def return_form(seen: TakingBack, device: str = "") -> Response:
    return page(
        seen,
        "return.html",
        {"device": device[:64], "condition": "ok", "note": "", "error": None, "done": None},
    )


@router.post("/return")
async def take_back(seen: TakingBack) -> Response:
    fields = await seen.form()
    device = fields.get("device", "").strip()
    condition = fields.get("condition", "ok")
    note = fields.get("note", "").strip()
    context = {"device": device, "condition": condition, "note": note, "done": None}
    if condition not in (Condition.OK, Condition.DAMAGED):
        error = seen._("Choose the condition.")
        return page(seen, "return.html", context | {"error": error}, status=422)
    if condition == Condition.DAMAGED and not note:
        error = seen._("Say what is damaged in the note.")
        return page(seen, "return.html", context | {"error": error}, status=422)
    api = seen.desk.api
    try:
        with api.ledger.transaction() as session:
            change = services.return_device(
                session,
                device=device,
                condition=Condition(condition),
                note=note or None,
                actor=seen.actor,
                all_desks=seen.all_desks,
            )
    except FleetsyncError as exc:
        status = 409 if isinstance(exc, Refused) else 404 if isinstance(exc, NotFound) else 422
        return page(seen, "return.html", context | {"error": seen.refusal(exc)}, status=status)
    if api.worker is not None:
        api.worker.wake()
    return page(
        seen,
        "returned.html",
        {
            "change": change,
            "condition": condition,
            "loan_url": f"/desk/loans/{quote(change.loan or '')}",
        },
    )
