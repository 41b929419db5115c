"""The borrower's slip: their Workspace address, the first password (revealed on a click, a POST,
and marked collected then), the agreed end, where to bring the device back and the programme's
contact. Prints on A4 and on an 80 mm receipt printer (``?paper=80mm``; print CSS).

The password is collected with :func:`fleetsync.services.collect_first_password`, the one the
API and the command line use: once, while the loan is open, by its desk. It appears only in the
answer to the POST, which no cache keeps (``Cache-Control: no-store`` on every desk page) and no
log records; never in a URL.

A borrower who lost theirs gets a new one (:func:`fleetsync.services.issue_first_password`, a
POST): the slip then shows it the same way, once, and says whether Google has it yet (the next
reconcile sets it; the desk's action wakes it).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from fleetsync import services
from fleetsync.desk.lending import LoanView, loan_view
from fleetsync.desk.pages import not_found
from fleetsync.desk.web import DeskRoute, Visit, page, require
from fleetsync.domain.errors import FleetsyncError
from fleetsync.domain.staff import Permission

__all__ = ["router"]

router = APIRouter(prefix="/desk", route_class=DeskRoute, include_in_schema=False)

Handing = Annotated[Visit, Depends(require(Permission.FIRST_PASSWORD))]
Paper = Literal["a4", "80mm"]


def _slip(
    seen: Visit,
    view: LoanView,
    paper: str,
    *,
    password: str | None = None,
    error: str | None = None,
    done: str | None = None,
    status: int = 200,
) -> Response:
    settings = seen.desk.api.settings
    # Where to bring it back: the desk that lent it (an admin may open another desk's slip).
    desk = settings.api.desks.get(view.desk or seen.own_desk)
    return page(
        seen,
        "slip.html",
        {
            "view": view,
            "paper": "80mm" if paper == "80mm" else "a4",
            "password": password,
            "error": error,
            "done": done,
            "return_address": "" if desk is None else desk.return_address,
            "contact": settings.desk.contact,
            "change_at_first_sign_in": settings.accounts.change_password_at_next_login,
        },
        status=status,
    )


async def _posted(seen: Visit, ref: str) -> tuple[str, LoanView | None]:
    """A POST to the slip: the paper it is printed on, and the loan as this visit may see it
    (``None``: not this desk's, or no such loan)."""
    fields = await seen.form()
    return fields.get("paper", "a4"), loan_view(seen, ref)


@router.get("/loans/{ref}/slip")
def slip(seen: Handing, ref: str, paper: str = "a4") -> Response:
    view = loan_view(seen, ref)
    if view is None:
        return not_found(seen)
    return _slip(seen, view, paper)


@router.post("/loans/{ref}/slip")
async def reveal(seen: Handing, ref: str) -> Response:
    """Reveal the first password: collected now, shown in this answer only."""
    paper, view = await _posted(seen, ref)
    if view is None:
        return not_found(seen)
    api = seen.desk.api
    try:
        with api.ledger.transaction() as session:
            handed = services.collect_first_password(
                session,
                loan=ref,
                programme=api.programme,
                actor=seen.actor,
                all_desks=seen.all_desks,
            )
            # Rendered inside the transaction: if rendering fails, nothing is marked collected.
            view = loan_view_after(view, handed.email)
            answer = _slip(seen, view, paper, password=handed.password)
    except FleetsyncError as exc:
        fresh = loan_view(seen, ref) or view
        return _slip(seen, fresh, paper, error=seen.refusal(exc), status=409)
    return answer


@router.post("/loans/{ref}/slip/new-password")
async def new_password(seen: Handing, ref: str) -> Response:
    """Issue a new first password for a borrower who lost theirs; the slip then reveals it once,
    like the checkout's, and Google gets it at the next reconcile."""
    paper, view = await _posted(seen, ref)
    if view is None:
        return not_found(seen)
    api = seen.desk.api
    try:
        with api.ledger.transaction() as session:
            services.issue_first_password(
                session,
                loan=ref,
                programme=api.programme,
                actor=seen.actor,
                all_desks=seen.all_desks,
            )
    except FleetsyncError as exc:
        return _slip(seen, view, paper, error=seen.refusal(exc), status=409)
    if api.worker is not None:
        api.worker.wake()
    fresh = loan_view(seen, ref) or view
    done = seen._(
        "A new first password is ready: reveal it with the borrower at the desk. Google gets it "
        "at the next reconcile, in a few minutes; until then the old one still works."
    )
    return _slip(seen, fresh, paper, done=done)


def loan_view_after(view: LoanView, email: str) -> LoanView:
    """The view once the password is collected."""
    return replace(
        view,
        account=view.account or email,
        password_state="collected",  # noqa: S106 - a state, not a password
        desk=view.desk,
    )
