"""Webhook deliveries, applied exactly once per ``(desk, webhook-id)``.

A loan desk retries a webhook until it gets an answer, and may send the same one twice at the same
moment. :func:`deliver_once` applies an event and records its ``webhook-id`` and answer in ONE
transaction; the unique ``(desk, webhook_id)`` constraint decides which delivery applies it. Any
other delivery of it, before, during or after, gets the recorded answer back and changes nothing:

- it comes later: it finds the recorded delivery and replays its answer;
- it races: on PostgreSQL its insert waits for the first transaction and then fails on the unique
  constraint (SQLite lets one writer in at a time, so it simply comes later); the transaction rolls
  back whole, and the retry reads the first answer back.

A refusal (the lifecycle said no, the device is unknown) is recorded too: a desk that retries a
refused checkout an hour later must not find it applied behind the clerk's back.

:func:`deliver_batch` applies several deliveries in one transaction, a savepoint each, in order:
the API's writer thread (``fleetsync.api.committer``) uses it so that deliveries arriving
together share one commit. Each ends exactly as it would have alone, after the ones before it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fleetsync.domain.errors import FleetsyncError
from fleetsync.ledger.engine import Ledger
from fleetsync.ledger.models import WebhookDelivery

__all__ = [
    "Answer",
    "Delivery",
    "Job",
    "PayloadMismatch",
    "deliver_batch",
    "deliver_once",
    "find_delivery",
    "purge_deliveries",
]

#: A race costs one retry; a conflict that persists beyond this is a bug worth a 500.
ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Answer:
    """What the desk is told: an HTTP status and a JSON body (never a secret, never a name)."""

    status: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Delivery:
    answer: Answer
    #: True when this was a redelivery answered from the record.
    replayed: bool


class PayloadMismatch(Exception):
    """The ``webhook-id`` was already used for another body: the sender reuses ids."""

    def __init__(self, recorded: WebhookDelivery) -> None:
        super().__init__(
            f"webhook id {recorded.webhook_id} was already used on "
            f"{recorded.received_at.isoformat(timespec='seconds')} for another "
            f"{recorded.event_type} event; give every new event a new webhook-id"
        )


def find_delivery(session: Session, desk: str, webhook_id: str) -> WebhookDelivery | None:
    stmt = sa.select(WebhookDelivery).where(
        WebhookDelivery.desk == desk, WebhookDelivery.webhook_id == webhook_id
    )
    return session.scalars(stmt).one_or_none()


@dataclass(frozen=True, slots=True)
class Job:
    """One delivery to apply: who sent it, which event, and how to apply and refuse it.

    ``apply`` runs the business action in the session and returns the answer; a
    :class:`FleetsyncError` it raises is undone (a savepoint) and answered with ``refusal(exc)``,
    recorded all the same."""

    desk: str
    webhook_id: str
    event_type: str
    digest: str
    now: datetime
    apply: Callable[[Session], Answer]
    refusal: Callable[[FleetsyncError], Answer]


def deliver_once(ledger: Ledger, job: Job) -> Delivery:
    """Apply ``job`` once in a transaction of its own, or replay the answer recorded for it.

    Raises :class:`PayloadMismatch` when the id was used for another body.
    """
    for _ in range(ATTEMPTS):
        try:
            with ledger.transaction() as session:
                return _deliver(session, job)
        except sa.exc.IntegrityError:
            # A twin committed first (or the action itself lost a race on a unique index, e.g.
            # two checkouts for one borrower): all of this rolled back; look again.
            continue
    raise RuntimeError(
        f"webhook {job.webhook_id} of desk {job.desk} kept conflicting with concurrent changes "
        f"{ATTEMPTS} times; the desk will retry it"
    )


def deliver_batch(ledger: Ledger, jobs: Sequence[Job]) -> list[Delivery | Exception]:
    """Apply several jobs in ONE transaction (one commit, one disk flush for all of them), each
    in a savepoint of its own, in order: a later job sees what an earlier one did, exactly as if
    they had come one after the other.

    Returns, for each job, its delivery or the exception it raised (:class:`PayloadMismatch`, a
    bug); that job's changes were undone, the others' stand. Nothing is answered before the
    commit: a job whose savepoint failed in the database (it lost a race with another process
    on a unique key, a deadlock), and every job when the commit itself fails, is then applied
    again alone by :func:`deliver_once`.
    """
    outcomes: list[Delivery | Exception | None] = []
    try:
        with ledger.transaction() as session:
            for job in jobs:
                try:
                    with session.begin_nested():
                        outcomes.append(_deliver(session, job))
                except sa.exc.DBAPIError:
                    # Lost a race with another process on a unique key (or a deadlock): its
                    # savepoint is undone; it is applied again, alone, once the others are in.
                    outcomes.append(None)
                except Exception as exc:
                    outcomes.append(exc)
    except sa.exc.DBAPIError:
        outcomes = [None] * len(jobs)
    results: list[Delivery | Exception] = []
    for job, outcome in zip(jobs, outcomes, strict=True):
        if outcome is None:
            try:
                outcome = deliver_once(ledger, job)
            except Exception as exc:
                outcome = exc
        results.append(outcome)
    return results


def _deliver(session: Session, job: Job) -> Delivery:
    recorded = find_delivery(session, job.desk, job.webhook_id)
    if recorded is not None:
        if recorded.payload_digest != job.digest:
            raise PayloadMismatch(recorded)
        return Delivery(Answer(recorded.status_code, json.loads(recorded.answer)), replayed=True)
    # The claim comes first: a racing twin waits here, not halfway through the action.
    delivery = WebhookDelivery(
        desk=job.desk,
        webhook_id=job.webhook_id,
        event_type=job.event_type,
        payload_digest=job.digest,
        received_at=job.now,
        status_code=102,
        answer="",
    )
    session.add(delivery)
    session.flush()
    try:
        with session.begin_nested():
            answer = job.apply(session)
    except FleetsyncError as exc:
        answer = job.refusal(exc)
    delivery.status_code = answer.status
    delivery.answer = json.dumps(answer.body, ensure_ascii=False)
    return Delivery(answer, replayed=False)


def purge_deliveries(session: Session, *, before: datetime) -> int:
    """Forget deliveries received before ``before``: past the desks' retry window, a replay is
    no longer expected (and an old answer holds nothing the ledger does not)."""
    result = session.execute(sa.delete(WebhookDelivery).where(WebhookDelivery.received_at < before))
    return int(getattr(result, "rowcount", 0))
