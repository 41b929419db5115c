"""``POST /webhooks/loan-desk``: the loan desk's signed events.

verify → validate → apply once → answer, and then wake the outbox worker:

1. the body is read up to ``[api] max_body_bytes`` (64 KiB), counted while it arrives: 413 beyond;
2. its signature says which desk sent it (:mod:`fleetsync.api.signing`): 401 / 400 otherwise;
3. it must be one of the events of :mod:`fleetsync.api.events`: 422 naming the field otherwise;
4. ONE ledger transaction applies it and records its ``webhook-id`` with the answer
   (:func:`fleetsync.ledger.deliveries.deliver_batch`, run by :mod:`fleetsync.api.committer`,
   which lets deliveries arriving together share a commit): a redelivery gets the first answer
   back;
5. ``202 Accepted`` with the loan's status URL (also in ``Location``); 409 when the lifecycle
   refuses, 404 for an unknown device — both recorded and replayed like a success.

The answer never waits for Google: the change's outbox entries are drained in the background.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session

from fleetsync import clock
from fleetsync.api.events import EVENT_TYPES, EVENTS, Event
from fleetsync.api.problems import (
    PROBLEM_JSON,
    Problem,
    field_errors,
    invalid,
    problem_of,
    problem_responses,
)
from fleetsync.api.signing import SignedDelivery
from fleetsync.api.state import ApiState, api_state
from fleetsync.domain.errors import FleetsyncError
from fleetsync.ledger.deliveries import Answer, Delivery, Job, PayloadMismatch
from fleetsync.log import get_logger
from fleetsync.metrics import WEBHOOK_EVENTS

__all__ = ["REPLAYED_HEADER", "SCHEMA_COMPONENTS", "Accepted", "loan_status_url", "router"]

router = APIRouter(tags=["loan desk webhooks"])
_log = get_logger(__name__)
#: Set on an answer replayed from the record of an earlier delivery of the same webhook.
REPLAYED_HEADER = "Fleetsync-Replayed"


class Accepted(BaseModel):
    """The event is in the ledger; Google follows in the background."""

    status: Literal["accepted"] = "accepted"
    event: str = Field(examples=["loan.checked_out"])
    webhook_id: str = Field(examples=["msg_2mVxmK3xnTgYQ6uPkUJf0ZcX"])
    desk: str = Field(examples=["antwerpen"])
    #: ``None``: the event concerns no device (a reservation).
    serial: str | None = Field(examples=["5CD1234XYZ"])
    loan: str | None = Field(examples=["L-88"])
    #: The reservation a ``reservation.*`` event made or cancelled (only on those).
    reservation: str | None = Field(None, examples=["R-12"])
    #: Where the clerk follows the loan (``GET``, with the desk's token). ``None``: no loan.
    status_url: str | None = Field(examples=["/v1/loans/L-88"])


def loan_status_url(loan: str) -> str:
    return f"/v1/loans/{loan}"


# ------------------------------------------------------------------------------ OpenAPI
def _request_body() -> tuple[dict[str, Any], dict[str, Any]]:
    """The events' schema for the OpenAPI document (the body is read raw, so FastAPI cannot
    derive it), and the component schemas it refers to."""
    schema = EVENTS.json_schema(ref_template="#/components/schemas/{model}")
    components = schema.pop("$defs", {})
    examples = {
        example["type"]: {"summary": example["type"], "value": example}
        for definition in components.values()
        for example in definition.get("examples", [])
        if "type" in example
    }
    body = {
        "required": True,
        "content": {"application/json": {"schema": schema, "examples": examples}},
    }
    return body, components


_BODY, SCHEMA_COMPONENTS = _request_body()
_SIGNATURE_HEADERS = [
    {
        "name": name,
        "in": "header",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }
    for name, description in (
        ("webhook-id", "The event's unique id; a redelivery carries the same one."),
        ("webhook-timestamp", "When it was signed, in Unix seconds (at most 5 minutes ago)."),
        ("webhook-signature", "v1,<base64 HMAC-SHA256 of id.timestamp.body>; space-separated."),
    )
]


@router.post(
    "/webhooks/loan-desk",
    status_code=202,
    response_model=Accepted,
    summary="Receive a signed loan desk event",
    responses=problem_responses(
        {
            400: "Bad webhook-id, or timestamp outside the tolerance.",
            401: "Unsigned, or no desk's secret verifies it.",
            404: "No device has this serial or asset tag.",
            409: "The lifecycle refuses it (the message says why), or the webhook-id was used "
            "for another event.",
            413: "The body is larger than 64 KiB.",
            422: "Not a valid event; `errors` names each field.",
        }
    ),
    openapi_extra={"requestBody": _BODY, "parameters": _SIGNATURE_HEADERS},
)
async def loan_desk_webhook(
    request: Request, state: Annotated[ApiState, Depends(api_state)]
) -> JSONResponse:
    """Apply one event of the loan desk, once. See docs/api.md for the events and signing."""
    event_type = "unknown"
    try:
        body = await read_body(request, limit=state.settings.api.max_body_bytes)
        # The signing time is checked against this machine's own clock, as the Standard Webhooks
        # library checks it: it is about two machines' clocks agreeing, not about business dates.
        signed = state.desks.verify(body, request.headers, now=clock.machine_now())
        event = parse_event(body)
        event_type = event.type
        digest = hashlib.sha256(body).hexdigest()
        delivery = await _deliver(state, signed, event, digest)
    except Problem as problem:
        WEBHOOK_EVENTS.labels(event_type, _outcome(problem.status)).inc()
        # Never the headers or the body: the reason is enough to see a desk misconfigured.
        _log.warning(
            "webhook not accepted", type=event_type, status=problem.status, code=problem.code
        )
        raise
    except BaseException:
        WEBHOOK_EVENTS.labels(event_type, "error").inc()
        raise
    answer = delivery.answer
    outcome = "replayed" if delivery.replayed else _outcome(answer.status)
    WEBHOOK_EVENTS.labels(event_type, outcome).inc()
    _log.info(
        "webhook",
        desk=signed.desk,
        webhook_id=signed.webhook_id,
        type=event_type,
        status=answer.status,
        outcome=outcome,
    )
    if answer.status == 202 and not delivery.replayed and state.worker is not None:
        state.worker.wake()
    return _respond(delivery)


async def read_body(request: Request, *, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it grows beyond ``limit`` bytes (whatever the
    Content-Length header claims, and without one)."""
    too_large = Problem(
        413,
        "payload_too_large",
        f"the body is larger than {limit} bytes; an event is a few hundred bytes, so this is "
        "not one",
    )
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def parse_event(body: bytes) -> Event:
    try:
        return EVENTS.validate_json(body)
    except ValidationError as exc:
        raise invalid("event", field_errors(exc.errors(), skip=EVENT_TYPES)) from None


async def _deliver(state: ApiState, signed: SignedDelivery, event: Event, digest: str) -> Delivery:
    actor = f"webhook:{signed.desk}"

    def apply(session: Session) -> Answer:
        applied = event.apply(session, programme=state.programme, actor=actor)
        accepted = Accepted(
            event=event.type,
            webhook_id=signed.webhook_id,
            desk=signed.desk,
            serial=applied.serial,
            loan=applied.loan,
            status_url=None if applied.loan is None else loan_status_url(applied.loan),
            reservation=applied.reservation,
        )
        body = accepted.model_dump()
        if applied.reservation is None:
            del body["reservation"]
        return Answer(202, body)

    def refusal(exc: FleetsyncError) -> Answer:
        problem = problem_of(exc)
        return Answer(problem.status, problem.body())

    job = Job(
        desk=signed.desk,
        webhook_id=signed.webhook_id,
        event_type=event.type,
        digest=digest,
        now=state.now(),
        apply=apply,
        refusal=refusal,
    )
    try:
        return await state.committer.deliver(job)
    except PayloadMismatch as exc:
        raise Problem(409, "webhook_id_reused", str(exc)) from None


def _respond(delivery: Delivery) -> JSONResponse:
    answer = delivery.answer
    headers = {REPLAYED_HEADER: "true"} if delivery.replayed else {}
    status_url = answer.body.get("status_url")
    if answer.status == 202 and isinstance(status_url, str):
        headers["Location"] = status_url
    media_type = PROBLEM_JSON if answer.status >= 400 else "application/json"
    return JSONResponse(
        answer.body, status_code=answer.status, headers=headers, media_type=media_type
    )


_OUTCOMES = {
    202: "accepted",
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    409: "refused",
    413: "too_large",
    422: "invalid",
}


def _outcome(status: int) -> str:
    return _OUTCOMES.get(status, "error")
