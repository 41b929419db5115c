"""Webhook deliveries applied in batches (one transaction, a savepoint each), on SQLite and
PostgreSQL: each delivery ends exactly as if it had come alone, after the ones before it."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from fleetsync import services
from fleetsync.domain.errors import FleetsyncError
from fleetsync.ledger import Ledger, open_ledger
from fleetsync.ledger.deliveries import (
    Answer,
    Delivery,
    Job,
    deliver_batch,
)
from fleetsync.ledger.models import Device, Loan, WebhookDelivery
from fleetsync.settings import Settings
from tests.ledger.conftest import NOW, UNTIL, add_devices

DESK = "antwerpen"


@pytest.fixture
def fleet(ledger: Ledger) -> Ledger:
    add_devices(
        ledger,
        "5CD0000001,CB-1,Acer,Antwerpen,wifi",
        "5CD0000002,CB-2,Acer,Antwerpen,wifi",
        "5CD0000003,CB-3,Acer,Antwerpen,wifi",
    )
    return ledger


def checkout(
    programme: services.Programme, serial: str, borrower: str
) -> Callable[[Session], Answer]:
    def apply(session: Session) -> Answer:
        result = services.checkout(
            session,
            device=serial,
            borrower=borrower,
            given_name="Jan",
            family_name=f"Peeters {borrower}",
            region="Antwerpen",
            until=UNTIL,
            programme=programme,
            actor=f"webhook:{DESK}",
            now=NOW,
        )
        return Answer(202, {"loan": result.loan})

    return apply


def refused(exc: FleetsyncError) -> Answer:
    return Answer(409, {"detail": str(exc)})


def job(webhook_id: str, apply: Callable[[Session], Answer], digest: str = "d") -> Job:
    return Job(
        desk=DESK,
        webhook_id=webhook_id,
        event_type="loan.checked_out",
        digest=f"{digest}-{webhook_id}",
        now=NOW,
        apply=apply,
        refusal=refused,
    )


def loans_by_device(ledger: Ledger) -> dict[str, str]:
    with ledger.read() as session:
        rows = session.execute(
            sa.select(Device.serial, Loan.id).join(Loan, Loan.device_id == Device.id)
        )
        return {serial: f"L-{loan}" for serial, loan in rows}


def recorded(ledger: Ledger) -> dict[str, int]:
    with ledger.read() as session:
        rows = session.execute(sa.select(WebhookDelivery.webhook_id, WebhookDelivery.status_code))
        return {row[0]: row[1] for row in rows}


def answers(results: list[Delivery | Exception]) -> list[object]:
    return [
        type(r).__name__ if isinstance(r, Exception) else (r.answer.status, r.replayed)
        for r in results
    ]


def test_a_batch_ends_as_if_each_delivery_came_after_the_one_before(
    fleet: Ledger, programme: services.Programme
) -> None:
    first = job("msg_1", checkout(programme, "5CD0000001", "B-1"))
    results = deliver_batch(
        fleet,
        [
            first,
            # the same device for someone else: refused, because the first is in the ledger
            job("msg_2", checkout(programme, "5CD0000001", "B-2")),
            # the desk's retry of the first, in the same batch: the first answer, nothing applied
            first,
            # the first's id reused for another event
            job("msg_1", checkout(programme, "5CD0000002", "B-3"), digest="other"),
            job("msg_3", checkout(programme, "5CD0000003", "B-4")),
        ],
    )
    assert answers(results) == [
        (202, False),
        (409, False),
        (202, True),
        "PayloadMismatch",
        (202, False),
    ]
    first_answer, _, replay, _, _ = results
    assert isinstance(first_answer, Delivery)
    assert isinstance(replay, Delivery)
    assert replay.answer == first_answer.answer
    refusal = results[1]
    assert isinstance(refusal, Delivery)
    assert "on loan to borrower B-1" in refusal.answer.body["detail"]
    assert set(loans_by_device(fleet)) == {"5CD0000001", "5CD0000003"}
    assert recorded(fleet) == {"msg_1": 202, "msg_2": 409, "msg_3": 202}


def test_a_delivery_that_fails_half_way_undoes_only_itself(
    fleet: Ledger, programme: services.Programme
) -> None:
    lend = checkout(programme, "5CD0000002", "B-2")

    def lends_then_breaks(session: Session) -> Answer:
        lend(session)
        raise RuntimeError("a bug after the loan was written")

    results = deliver_batch(
        fleet,
        [
            job("msg_1", checkout(programme, "5CD0000001", "B-1")),
            job("msg_2", lends_then_breaks),
            job("msg_3", checkout(programme, "5CD0000003", "B-3")),
        ],
    )
    assert answers(results) == [(202, False), "RuntimeError", (202, False)]
    assert set(loans_by_device(fleet)) == {"5CD0000001", "5CD0000003"}
    assert recorded(fleet) == {"msg_1": 202, "msg_3": 202}
    with fleet.read() as session:
        state = session.scalar(sa.select(Device.state).where(Device.serial == "5CD0000002"))
    assert state == "spare"


def test_a_delivery_another_process_is_recording_gets_that_answer(
    fleet: Ledger, programme: services.Programme, settings: Settings
) -> None:
    """Another replica of the API holds the same delivery in its open transaction: this batch
    waits for it (PostgreSQL: on the unique key; SQLite: on the write lock), and then answers
    with what the other recorded, applying nothing for it."""
    with open_ledger(settings) as other:
        held = other.engine.connect()
        transaction = held.begin()
        held.execute(
            sa.insert(WebhookDelivery).values(
                desk=DESK,
                webhook_id="msg_twin",
                event_type="loan.checked_out",
                payload_digest="d-msg_twin",
                received_at=NOW,
                status_code=202,
                answer='{"loan": "L-elsewhere"}',
            )
        )
        results: list[Delivery | Exception] = []
        batch = threading.Thread(
            target=lambda: results.extend(
                deliver_batch(
                    fleet,
                    [
                        job("msg_twin", checkout(programme, "5CD0000001", "B-1")),
                        job("msg_next", checkout(programme, "5CD0000002", "B-2")),
                    ],
                )
            )
        )
        batch.start()
        batch.join(0.5)  # it cannot finish: it waits on the other replica's transaction
        assert batch.is_alive(), "the batch did not wait for the other replica's transaction"
        transaction.commit()
        held.close()
        batch.join(30)
    assert answers(results) == [(202, True), (202, False)]
    twin = results[0]
    assert isinstance(twin, Delivery)
    assert twin.answer.body == {"loan": "L-elsewhere"}
    assert set(loans_by_device(fleet)) == {"5CD0000002"}
