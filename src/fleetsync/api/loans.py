"""``/v1/loans/{loan_id}``: what the clerk needs to see of a loan, and the first password, once.

Everything comes from the ledger alone (no Google call): the loan, its device, the borrower by
their desk id and account address (no names), and a checklist comparing what the ledger wants
with what Google last confirmed (:mod:`fleetsync.domain.progress`).

A desk sees, and collects the first password of, the loans it checked out
(:mod:`fleetsync.services.desks`); any other loan is answered 404, exactly like one that does not
exist. An admin token sees everything.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, Field

from fleetsync import services
from fleetsync.api.access import Caller
from fleetsync.api.events import LoanRef
from fleetsync.api.problems import problem_responses
from fleetsync.api.state import ApiState, api_state
from fleetsync.domain.progress import loan_progress
from fleetsync.ledger import progress as ledger_progress
from fleetsync.services.overdue import escalation_steps

__all__ = ["router"]

router = APIRouter(prefix="/v1/loans", tags=["loans"])
_ERRORS = {
    401: "No token, or an unknown one.",
    404: "No such loan, or not one this desk may see.",
    422: "The loan id is not L-<number>.",
}
LoanId = Annotated[LoanRef, Path(description="The loan: `L-88` or `88`.")]


class DeviceView(BaseModel):
    serial: str
    asset_tag: str | None
    model: str
    #: The device's lifecycle state in the ledger now (``on_loan``, ``in_refurbishment``, ...).
    state: str
    region: str
    connectivity: str


class BorrowerView(BaseModel):
    id: str = Field(examples=["B-1017"], description="The desk's borrower id.")
    account: str | None = Field(examples=["ayse.ozturk@example.org"])
    #: The account as the ledger wants it: ``active``, ``suspended``, ``deleted``, ``none``.
    account_status: str


class StepView(BaseModel):
    step: str = Field(examples=["device_moved"])
    state: Literal["done", "waiting", "failed", "not_needed"]
    detail: str


class ProgressView(BaseModel):
    #: ``checkout`` while the loan is open, ``return`` after it, ``lost`` for a lost device.
    phase: Literal["checkout", "return", "lost"]
    #: Every step done (or not needed): the borrower can go / the device is ready.
    complete: bool
    steps: list[StepView]


class LoanStatus(BaseModel):
    loan: str = Field(examples=["L-88"])
    open: bool
    checked_out_at: datetime
    agreed_end: date
    returned_at: datetime | None
    #: How it ended: ``ok``, ``damaged`` or ``lost``.
    condition: str | None
    device: DeviceView
    borrower: BorrowerView
    progress: ProgressView
    #: A first password sealed for this loan (at checkout, or when Google's account was created
    #: again): ``waiting`` (collect it), ``collected``, ``expired``, or ``none`` (the borrower's
    #: account existed already).
    first_password: Literal["waiting", "collected", "expired", "none"]
    #: How far its overdue escalation has come (``reminder sent``, ``notice sent``,
    #: ``locking``, ``locked``, ``unlocked`` ...); ``null``: no step taken.
    escalation: str | None = None


class FirstPasswordView(BaseModel):
    loan: str = Field(examples=["L-88"])
    borrower: str = Field(examples=["B-1017"])
    account: str = Field(examples=["ayse.ozturk@example.org"])
    password: str = Field(examples=["hT7kR2mWq9pZ4xNc"])
    #: The borrower chooses their own password at first sign-in.
    change_at_first_sign_in: bool


@router.get(
    "/{loan_id}",
    response_model=LoanStatus,
    summary="A loan and how far Google has come with it",
    responses=problem_responses(_ERRORS),
)
def loan_status(
    loan_id: LoanId, caller: Caller, state: Annotated[ApiState, Depends(api_state)]
) -> LoanStatus:
    with state.ledger.read() as session:
        loan = services.loan_for(session, loan_id, actor=caller.actor)
        device, borrower = loan.device, loan.borrower
        targets = state.targets(borrower.region)
        facts = ledger_progress.loan_facts(session, loan, policy_org_units=targets.policy_org_units)
        progress = loan_progress(facts, targets)
        password = ledger_progress.first_password_state(session, loan, state.now())
        return LoanStatus(
            loan=loan.ref,
            open=loan.returned_at is None,
            checked_out_at=loan.checked_out_at,
            agreed_end=loan.agreed_end,
            returned_at=loan.returned_at,
            condition=loan.return_condition,
            device=DeviceView(
                serial=device.serial,
                asset_tag=device.asset_tag,
                model=device.model,
                state=device.state,
                region=device.region,
                connectivity=device.connectivity,
            ),
            borrower=BorrowerView(
                id=borrower.desk_id,
                account=borrower.account_email,
                account_status=borrower.account_status,
            ),
            progress=ProgressView(
                phase=progress.phase.value,
                complete=progress.complete,
                steps=[
                    StepView(step=s.name, state=s.state.value, detail=s.detail)
                    for s in progress.steps
                ],
            ),
            first_password=password,
            escalation=escalation_steps(session, [loan.id]).get(loan.id),
        )


@router.post(
    "/{loan_id}/credentials",
    response_model=FirstPasswordView,
    summary="Collect the borrower's first password, once",
    responses=problem_responses(
        {
            **_ERRORS,
            404: "No such loan for this desk, or no password waits.",
            409: "Already collected, or the loan has ended.",
        }
    ),
)
def collect_first_password(
    loan_id: LoanId,
    caller: Caller,
    state: Annotated[ApiState, Depends(api_state)],
    response: Response,
) -> FirstPasswordView:
    """The first password sealed for this loan (its account's), exactly once; afterwards 409
    "already collected". It is in this answer only: never logged, never cached."""
    # Whatever happens, the answer may hold a password: no cache keeps it.
    response.headers["Cache-Control"] = "no-store"
    with state.ledger.transaction() as session:
        collected = services.collect_first_password(
            session, loan=loan_id, programme=state.programme, actor=caller.actor
        )
        return FirstPasswordView(
            loan=collected.loan,
            borrower=collected.borrower,
            account=collected.email,
            password=collected.password,
            change_at_first_sign_in=state.settings.accounts.change_password_at_next_login,
        )
