"""Lend: the form, the suggestion of a spare device, the checkout, and the loan's page with its
live progress panel (followed by ``static/desk.js`` until the loan is ready).

The checkout is :func:`fleetsync.services.checkout`, the one the webhook and the command line
use: it refuses with the same reasons, and the page shows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from fleetsync import clock, services
from fleetsync.desk.pages import not_found, scope
from fleetsync.desk.web import CSP, DeskRoute, Visit, page, redirect, require
from fleetsync.domain.errors import (
    BorrowerNamesDiffer,
    FleetsyncError,
    InvalidInput,
    NotFound,
    Refused,
)
from fleetsync.domain.lifecycle import Connectivity
from fleetsync.domain.progress import Progress, loan_progress
from fleetsync.domain.staff import Permission
from fleetsync.ledger import progress as ledger_progress
from fleetsync.ledger import queries
from fleetsync.services import lookup
from fleetsync.services.agreement import agreement_page

__all__ = ["LoanView", "loan_view", "router"]

router = APIRouter(prefix="/desk", route_class=DeskRoute, include_in_schema=False)

Lender = Annotated[Visit, Depends(require(Permission.LEND))]
LookUp = Annotated[Visit, Depends(require(Permission.LOOK_UP))]
TakingBack = Annotated[Visit, Depends(require(Permission.TAKE_BACK))]
AGREEMENT_CSP = CSP.replace("style-src 'self'", "style-src 'unsafe-inline'")
#: A loan's default length when the desk does not say otherwise.
DEFAULT_DAYS = 60


@dataclass
class LendForm:
    device: str = ""
    borrower: str = ""
    given_name: str = ""
    family_name: str = ""
    region: str = ""
    until: str = ""
    needs_data: bool = False
    same_person: bool = False
    #: The borrower signed the loan agreement's current version (when one is configured).
    agreement_signed: bool = False
    #: Filled in when the desk left the device empty and a spare one fits.
    suggested: lookup.SpareDevice | None = None
    #: The checkout's refusal, word for word, and whether the names differ (to confirm).
    error: str | None = None
    names_differ: bool = False
    problems: list[str] = field(default_factory=list)

    @classmethod
    def posted(cls, fields: dict[str, str]) -> LendForm:
        return cls(
            device=fields.get("device", "").strip(),
            borrower=fields.get("borrower", "").strip(),
            given_name=fields.get("given_name", "").strip(),
            family_name=fields.get("family_name", "").strip(),
            region=fields.get("region", "").strip(),
            until=fields.get("until", "").strip(),
            needs_data=fields.get("needs_data") == "yes",
            same_person=fields.get("same_person") == "yes",
            agreement_signed=fields.get("agreement_signed") == "yes",
        )


def _desk_region(seen: Visit) -> str:
    settings = seen.desk.api.settings
    desk = settings.api.desks.get(seen.own_desk)
    if desk is not None and desk.region:
        try:
            return seen.desk.api.programme.region(desk.region)
        except InvalidInput:
            pass
    return settings.regions[0]


def _render(seen: Visit, form: LendForm, *, status: int = 200) -> Response:
    return page(
        seen,
        "lend.html",
        {
            "form": form,
            "regions": seen.desk.api.settings.regions,
            "agreement": seen.desk.api.programme.agreement,
        },
        status=status,
    )


@router.get("/lend")
def lend_form(seen: Lender, device: str = "", borrower: str = "") -> Response:
    default_end = date.fromordinal(clock.today().toordinal() + DEFAULT_DAYS)
    form = LendForm(device=device[:64], borrower=borrower[:64], region=_desk_region(seen))
    form.until = default_end.isoformat()
    if form.borrower:
        with seen.desk.api.ledger.read() as session:
            try:
                known = lookup.find_borrower(
                    session, form.borrower, desk=scope(seen), today=clock.today()
                )
            except (NotFound, InvalidInput):
                known = None
        if known is not None and not known.pseudonymised:
            form.given_name = known.given_name or ""
            form.family_name = known.family_name or ""
            form.region = known.region
    return _render(seen, form)


def _suggest(seen: Visit, form: LendForm, region: str) -> lookup.SpareDevice | None:
    """A spare device of the borrower's region: 4G for one who needs data; for one who does
    not, Wi-Fi first (the 4G devices stay for those who need them), else any."""
    with seen.desk.api.ledger.read() as session:
        four_g, wifi = Connectivity.FOUR_G, Connectivity.WIFI
        wanted = [four_g] if form.needs_data else [wifi, four_g]
        for connectivity in wanted:
            found = lookup.spare_devices(
                session, region=region, connectivity=connectivity, limit=1
            ).items
            if found:
                return found[0]
    return None


@router.post("/lend")
async def lend(seen: Lender) -> Response:
    form = LendForm.posted(await seen.form())
    api = seen.desk.api
    try:
        until = date.fromisoformat(form.until)
    except ValueError:
        form.error = seen._("Give the agreed end as a date (YYYY-MM-DD).")
        return _render(seen, form, status=422)
    if not form.device:
        try:
            region = api.programme.region(form.region)
        except InvalidInput as exc:
            form.error = seen.refusal(exc)
            return _render(seen, form, status=422)
        form.suggested = _suggest(seen, form, region)
        if form.suggested is None:
            form.error = seen._(
                "No spare device of this region and connectivity is left. Scan another device "
                "or ask a technician."
            )
            return _render(seen, form, status=409)
        form.device = form.suggested.serial
        return _render(seen, form)
    try:
        with api.ledger.transaction() as session:
            result = services.checkout(
                session,
                device=form.device,
                borrower=form.borrower,
                given_name=form.given_name,
                family_name=form.family_name,
                region=form.region,
                until=until,
                needs_data=form.needs_data,
                same_person=form.same_person,
                agreement_signed=form.agreement_signed,
                programme=api.programme,
                actor=seen.actor,
            )
    except FleetsyncError as exc:
        form.error = seen.refusal(exc)
        form.names_differ = isinstance(exc, BorrowerNamesDiffer)
        status = 409 if isinstance(exc, Refused) else 404 if isinstance(exc, NotFound) else 422
        return _render(seen, form, status=status)
    if api.worker is not None:  # the reconcile starts now, not at the next tick
        api.worker.wake()
    return redirect(f"/desk/loans/{quote(result.loan)}")


@dataclass(frozen=True)
class LoanView:
    #: The loan as the lists show it (:func:`fleetsync.ledger.queries.loan_row`).
    loan: dict[str, Any]
    borrower_name: str
    model: str
    progress: Progress
    account: str | None
    #: The first password's state (``waiting``, ``collected``, ``expired``, ``none``).
    password_state: str
    #: The desk that lent it (``None``: a technician's loan).
    desk: str | None = None
    #: Whether Google has it yet (a new one is set by the next reconcile).
    password_in_google: ledger_progress.FirstPasswordInGoogle = field(
        default_factory=ledger_progress.FirstPasswordInGoogle
    )


def loan_view(seen: Visit, ref: str) -> LoanView | None:
    """The loan as this desk sees it, with its progress; ``None`` for another desk's."""
    api = seen.desk.api
    with api.ledger.read() as session:
        try:
            loan = services.loan_for(session, ref, actor=seen.actor, all_desks=seen.all_desks)
        except (NotFound, InvalidInput):
            return None
        targets = api.targets(loan.borrower.region)
        facts = ledger_progress.loan_facts(session, loan, policy_org_units=targets.policy_org_units)
        device, person = loan.device, loan.borrower
        line = queries.loan_row(
            loan,
            serial=device.serial,
            asset_tag=device.asset_tag,
            borrower=person.desk_id,
            today=clock.today(),
        )
        return LoanView(
            loan=line,
            borrower_name=" ".join(n for n in (person.given_name, person.family_name) if n),
            model=device.model,
            progress=loan_progress(facts, targets),
            account=loan.borrower.account_email,
            password_state=ledger_progress.first_password_state(session, loan, clock.now()),
            desk=loan.desk,
            password_in_google=ledger_progress.first_password_in_google(session, loan, clock.now()),
        )


@router.get("/loans/{ref}")
def loan_page(seen: LookUp, ref: str) -> Response:
    return _after(seen, ref, None, None, 200)


def _after(seen: Visit, ref: str, error: str | None, done: str | None, status: int) -> Response:
    view = loan_view(seen, ref)
    if view is None:
        return not_found(seen)
    context = {
        "view": view,
        "error": error,
        "done": done,
        "agreement_version": seen.desk.api.programme.agreement.version,
    }
    return page(seen, "loan.html", context, status=status)


def _status(exc: FleetsyncError) -> int:
    return 409 if isinstance(exc, Refused) else 404 if isinstance(exc, NotFound) else 422


@router.post("/loans/{ref}/extend")
async def extend(seen: Lender, ref: str) -> Response:
    """A later agreed end: :func:`fleetsync.services.extend_loan`, as on the command line."""
    fields = await seen.form()
    try:
        until = date.fromisoformat(fields.get("until", "").strip())
    except ValueError:
        return _after(seen, ref, seen._("Give the new end as a date (YYYY-MM-DD)."), None, 422)
    api = seen.desk.api
    try:
        with api.ledger.transaction() as session:
            services.extend_loan(
                session,
                loan=ref,
                until=until,
                reason=fields.get("reason"),
                actor=seen.actor,
                all_desks=seen.all_desks,
            )
    except FleetsyncError as exc:
        return _after(seen, ref, seen.refusal(exc), None, _status(exc))
    return _after(seen, ref, None, seen._("The loan is extended."), 200)


@router.post("/loans/{ref}/lost")
async def report_lost(seen: TakingBack, ref: str) -> Response:
    """The borrower lost the device: :func:`fleetsync.services.mark_lost` on the loan's device
    (the loan ends, the account is suspended), once the clerk has ticked the confirmation."""
    fields = await seen.form()
    if fields.get("confirm") != "yes":
        return _after(seen, ref, seen._("Tick the box to confirm the device is lost."), None, 422)
    view = loan_view(seen, ref)
    if view is None:
        return not_found(seen)
    api = seen.desk.api
    try:
        with api.ledger.transaction() as session:
            services.mark_lost(
                session,
                device=view.loan["serial"],
                reason=fields.get("reason"),
                actor=seen.actor,
                all_desks=seen.all_desks,
            )
    except FleetsyncError as exc:
        return _after(seen, ref, seen.refusal(exc), None, _status(exc))
    if api.worker is not None:
        api.worker.wake()
    return _after(seen, ref, None, seen._("The device is reported lost."), 200)


@router.get("/loans/{ref}/agreement")
def agreement(seen: LookUp, ref: str) -> Response:
    """The loan agreement filled in for this loan, to print and sign
    (:func:`fleetsync.services.agreement.agreement_page`, as ``fleetsync loan agreement``)."""
    api = seen.desk.api
    try:
        with api.ledger.read() as session:
            filled = agreement_page(
                session,
                loan=ref,
                programme=api.programme,
                actor=seen.actor,
                now=clock.now(),
                all_desks=seen.all_desks,
            )
    except NotFound:
        return not_found(seen)
    except InvalidInput as exc:
        return _after(seen, ref, seen.refusal(exc), None, 409)
    # A page of its own, self-contained: its one inline style sheet is allowed, no script.
    return HTMLResponse(
        filled.html,
        headers={"Content-Security-Policy": AGREEMENT_CSP},
    )


@router.get("/loans/{ref}/progress")
def loan_progress_panel(seen: LookUp, ref: str) -> Response:
    """The progress panel alone, for the page's script to follow."""
    view = loan_view(seen, ref)
    if view is None:
        return not_found(seen)
    return page(seen, "progress.html", {"view": view})
