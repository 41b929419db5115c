"""Health and metrics: ``/livez`` (the process answers), ``/readyz`` (the ledger is reachable and
its schema is the one this fleetsync knows), ``/metrics`` (Prometheus, with an admin token)."""

from __future__ import annotations

from typing import Annotated, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from pydantic import BaseModel

from fleetsync import clock
from fleetsync.api.access import Admin
from fleetsync.api.problems import Problem, problem_responses
from fleetsync.api.state import ApiState, api_state
from fleetsync.ledger.budgets import budget_states
from fleetsync.ledger.migrate import schema_version
from fleetsync.ledger.models import OutboxEntry
from fleetsync.metrics import BUDGET_HELD, BUDGET_LIMIT, BUDGET_SPENT, OUTBOX_DEPTH
from fleetsync.sync.config import limits_of

__all__ = ["router"]

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["live", "ready"]
    #: ``/readyz``: the ledger's schema revision.
    schema_revision: str | None = None


@router.get("/livez", response_model=Health, summary="The process is up")
def livez() -> Health:
    return Health(status="live")


@router.get(
    "/readyz",
    response_model=Health,
    summary="The ledger is reachable and its schema current",
    responses=problem_responses({503: "The ledger does not answer, or its schema is not current."}),
)
def readyz(state: Annotated[ApiState, Depends(api_state)]) -> Health:
    try:
        version = schema_version(state.ledger.engine)
    except sa.exc.SQLAlchemyError as exc:
        raise Problem(
            503,
            "ledger_unreachable",
            f"the ledger at {state.settings.display_database_url} does not answer "
            f"({type(exc).__name__}); check that the database is up",
        ) from None
    if not version.up_to_date:
        raise Problem(
            503,
            "schema_not_current",
            f"the ledger's schema is at {version.current or '(empty)'}, this fleetsync needs "
            f"{version.head}: run `fleetsync db upgrade` (or upgrade fleetsync)",
        )
    return Health(status="ready", schema_revision=version.current)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}},
        **problem_responses({401: "No token, or an unknown one.", 403: "Not an admin token."}),
    },
)
def metrics(_admin: Admin, state: Annotated[ApiState, Depends(api_state)]) -> Response:
    """Webhook events by type and outcome, Google calls and retries, reconcile durations and the
    outbox's depth and the safety budgets: spent per window, limits, what each holds back
    (counted now, in the ledger: the same figures whichever replica answers)."""
    with state.ledger.read() as session:
        pending = session.scalar(
            sa.select(sa.func.count()).select_from(OutboxEntry).where(OutboxEntry.done_at.is_(None))
        )
        budgets = budget_states(session, limits_of(state.settings), now=clock.now())
    OUTBOX_DEPTH.set(pending or 0)
    for budget in budgets:
        name = str(budget.budget)
        BUDGET_SPENT.labels(budget=name, window="hour").set(budget.spent.hour)
        BUDGET_SPENT.labels(budget=name, window="day").set(budget.spent.day)
        BUDGET_LIMIT.labels(budget=name, window="hour").set(budget.limit.per_hour)
        BUDGET_LIMIT.labels(budget=name, window="day").set(budget.limit.per_day)
        BUDGET_HELD.labels(budget=name).set(budget.held)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
