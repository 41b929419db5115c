"""The desk's look-ups: ``GET /v1/devices/{ref}``, ``GET /v1/borrowers/{borrower_id}`` and
``GET /v1/loans`` (paged), from the ledger alone, through :mod:`fleetsync.services.lookup`.

A desk's token sees its own loans and the borrowers it lent to; any other borrower is ``404``
worded exactly as one that does not exist, and a device on another desk's loan shows no loan.
Borrowers appear by their desk id and account address, never by name (the desk's software has
the names; an answer that needs none carries none). Answers are never cached
(``Cache-Control: no-store``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, Field

from fleetsync import services
from fleetsync.api.access import Caller
from fleetsync.api.problems import Problem, problem_responses
from fleetsync.api.state import ApiState, api_state
from fleetsync.api.tokens import Principal
from fleetsync.domain.errors import NotFound
from fleetsync.domain.inventory import MAX_IDENTIFIER
from fleetsync.domain.lifecycle import Connectivity, DeviceState
from fleetsync.ledger.queries import loan_number
from fleetsync.services import lookup
from fleetsync.services.contacts import loan_contacts
from fleetsync.services.lookup import LoanLine, LoanState
from fleetsync.services.overdue import escalation_steps

__all__ = ["router"]

router = APIRouter()
#: A borrower id is at most this long in the ledger.
MAX_BORROWER_ID = 64
#: A cursor this list gave is far shorter.
MAX_CURSOR = 200
_NO_STORE = "no-store"


class ContactView(BaseModel):
    phone: str | None
    email: str | None
    language: str


class LoanLineView(BaseModel):
    loan: str = Field(examples=["L-88"])
    open: bool
    #: The desk it belongs to (an admin token sees every desk's; ``null``: a technician's loan).
    desk: str | None = Field(examples=["antwerpen"])
    serial: str = Field(examples=["5CD1234XYZ"])
    asset_tag: str | None = Field(examples=["CB-0001"])
    model: str
    borrower: str = Field(examples=["B-1017"], description="The desk's borrower id.")
    region: str
    connectivity: Connectivity
    needs_data: bool
    course_period: str | None
    checked_out_at: datetime
    agreed_end: date
    returned_at: datetime | None
    #: How it ended: ``ok``, ``damaged`` or ``lost``.
    condition: str | None
    overdue: bool
    #: Days past the agreed end today (fleetsync's time zone); 0 when not overdue or ended.
    days_overdue: int = Field(ge=0)
    #: How far its overdue escalation has come: ``reminder sent``, ``notice sent``,
    #: ``locking``, ``locked``, ``unlocking``, ``unlocked`` ...; ``null``: no step taken.
    escalation: str | None = Field(None, examples=["notice sent"])
    #: The borrower's contact details given at checkout (on ``state=overdue`` lists only).
    contact: ContactView | None = None


class LoanPage(BaseModel):
    items: list[LoanLineView]
    #: Send it as ``cursor`` for the next page; ``null`` on the last one.
    next_cursor: str | None


class DeviceLookup(BaseModel):
    serial: str = Field(examples=["5CD1234XYZ"])
    asset_tag: str | None = Field(examples=["CB-0001"])
    model: str
    state: DeviceState
    state_since: datetime
    region: str
    connectivity: Connectivity
    #: Spare: it can be lent now.
    lendable: bool
    #: Its open loan, when it is this desk's (or for an admin token).
    loan: LoanLineView | None
    #: On a loan of another desk (or a technician's): that desk takes it back.
    on_loan_elsewhere: bool


class BorrowerLookup(BaseModel):
    id: str = Field(examples=["B-1017"], description="The desk's borrower id.")
    region: str
    account: str | None = Field(examples=["ayse.ozturk@example.org"])
    #: The account as the ledger wants it: ``active``, ``suspended``, ``deleted``, ``none``.
    account_status: str
    #: Their names were erased after the retention period.
    pseudonymised: bool
    #: Their open loan at this desk, if any.
    open_loan: LoanLineView | None
    #: They hold a device of another desk: a checkout here is refused until it is back.
    on_loan_elsewhere: bool
    #: Their loans at this desk (every desk's for an admin token), newest first.
    loans: list[LoanLineView]


def _view(line: LoanLine) -> LoanLineView:
    return LoanLineView(
        loan=line.loan,
        open=line.open,
        desk=line.desk,
        serial=line.serial,
        asset_tag=line.asset_tag,
        model=line.model,
        borrower=line.borrower,
        region=line.region,
        connectivity=line.connectivity,
        needs_data=line.needs_data,
        course_period=line.course_period,
        checked_out_at=line.checked_out_at,
        agreed_end=line.agreed_end,
        returned_at=line.returned_at,
        condition=line.condition,
        overdue=line.overdue,
        days_overdue=line.days_overdue,
    )


def _scope(caller: Principal) -> str | None:
    return caller.desk


def _today(state: ApiState) -> date:
    return services.local_date(state.now())


@router.get(
    "/v1/devices/{ref}",
    tags=["devices"],
    response_model=DeviceLookup,
    summary="A device by its exact serial or asset tag",
    responses=problem_responses(
        {
            401: "No token, or an unknown one.",
            404: "No device has this serial or asset tag (exactly: never a prefix).",
            422: "An empty reference, one with control characters, or one that is a device's "
            "serial and another's asset tag.",
        }
    ),
)
def device(
    ref: Annotated[
        str,
        Path(
            min_length=1,
            max_length=MAX_IDENTIFIER,
            description="The serial or the asset tag, exactly (any case): `5CD1234XYZ`, `CB-0001`.",
        ),
    ],
    caller: Caller,
    state: Annotated[ApiState, Depends(api_state)],
    response: Response,
) -> DeviceLookup:
    """The device and, when it is on this desk's loan, that loan. Devices are shared: any desk
    finds any device (a spare one to lend, one it takes back)."""
    response.headers["Cache-Control"] = _NO_STORE
    with state.ledger.read() as session:
        try:
            found = lookup.find_device(session, ref, desk=_scope(caller), today=_today(state))
        except NotFound as exc:
            raise Problem(
                404,
                "not_found",
                f"no device has serial or asset tag {ref.strip().upper()}: they must match "
                "exactly, not by prefix; check the label",
            ) from exc
    return DeviceLookup(
        serial=found.serial,
        asset_tag=found.asset_tag,
        model=found.model,
        state=found.state,
        state_since=found.state_since,
        region=found.region,
        connectivity=found.connectivity,
        lendable=found.lendable,
        loan=None if found.loan is None else _view(found.loan),
        on_loan_elsewhere=found.on_loan_elsewhere,
    )


@router.get(
    "/v1/borrowers/{borrower_id}",
    tags=["borrowers"],
    response_model=BorrowerLookup,
    summary="A borrower this desk lent to, and their loans here",
    responses=problem_responses(
        {
            401: "No token, or an unknown one.",
            404: "No such borrower, or not one this desk lent to (answered alike).",
            422: "An empty id, or one with control characters.",
        }
    ),
)
def borrower(
    borrower_id: Annotated[
        str,
        Path(
            min_length=1,
            max_length=MAX_BORROWER_ID,
            description="The desk's id for the borrower, as given at checkout: `B-1017`.",
        ),
    ],
    caller: Caller,
    state: Annotated[ApiState, Depends(api_state)],
    response: Response,
) -> BorrowerLookup:
    response.headers["Cache-Control"] = _NO_STORE
    with state.ledger.read() as session:
        found = lookup.find_borrower(session, borrower_id, desk=_scope(caller), today=_today(state))
    return BorrowerLookup(
        id=found.id,
        region=found.region,
        account=found.account,
        account_status=found.account_status,
        pseudonymised=found.pseudonymised,
        open_loan=None if found.open_loan is None else _view(found.open_loan),
        on_loan_elsewhere=found.on_loan_elsewhere,
        loans=[_view(line) for line in found.loans],
    )


@router.get(
    "/v1/loans",
    tags=["loans"],
    response_model=LoanPage,
    summary="This desk's loans: open, overdue or all, a page at a time",
    responses=problem_responses(
        {
            401: "No token, or an unknown one.",
            422: "An unknown state, a bad date or limit, or a cursor this list did not give.",
        }
    ),
)
def loans(
    caller: Caller,
    state: Annotated[ApiState, Depends(api_state)],
    response: Response,
    loan_state: Annotated[
        LoanState,
        Query(
            alias="state",
            description="`open` (default) and `overdue` (open past the agreed end), by agreed "
            "end, the most urgent first; `all` (ended ones too), newest first.",
        ),
    ] = LoanState.OPEN,
    borrower: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=MAX_BORROWER_ID,
            description="Only this borrower's loans (their desk id).",
        ),
    ] = None,
    due_before: Annotated[
        date | None,
        Query(description="Only loans whose agreed end is before this day (YYYY-MM-DD)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=lookup.MAX_PAGE, description="Loans per page.")] = 50,
    cursor: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=MAX_CURSOR,
            description="The previous page's `next_cursor`, for the next page.",
        ),
    ] = None,
) -> LoanPage:
    """The loans this desk checked out (every desk's for an admin token), with days overdue."""
    response.headers["Cache-Control"] = _NO_STORE
    with state.ledger.read() as session:
        page = lookup.list_loans(
            session,
            desk=_scope(caller),
            today=_today(state),
            state=loan_state,
            borrower=borrower,
            due_before=due_before,
            limit=limit,
            cursor=cursor,
        )
        numbers = [loan_number(line.loan) for line in page.items]
        steps = escalation_steps(session, numbers)
        contacts = (
            loan_contacts(session, numbers, key=state.programme.key)
            if loan_state is LoanState.OVERDUE
            else {}
        )
    items = []
    for line, number in zip(page.items, numbers, strict=True):
        found = contacts.get(number)
        items.append(
            _view(line).model_copy(
                update={
                    "escalation": steps.get(number),
                    "contact": None if found is None else ContactView(**found.to_json()),
                }
            )
        )
    return LoanPage(items=items, next_cursor=page.next_cursor)
