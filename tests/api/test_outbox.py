"""The outbox worker: the background half of a webhook, which no crash or restart loses."""

from __future__ import annotations

import threading

import sqlalchemy as sa
from fastapi.testclient import TestClient

from fleetsync import clock
from fleetsync.api import OutboxWorker, create_app
from fleetsync.ledger import Ledger
from fleetsync.ledger.models import OutboxEntry
from fleetsync.settings import Settings
from tests.api.conftest import (
    ANY_DATABASE,
    Desk,
    checkout_event,
    deliver,
    mark_outbox_done,
    pending_outbox,
)
from tests.waiting import wait_until


def _drained(ledger: Ledger, timeout: float = 10.0) -> None:
    wait_until(
        lambda: pending_outbox(ledger) == 0,
        what="the outbox drained",
        timeout=timeout,
        interval=0.02,
    )


def _workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "fleetsync-outbox"]


def test_an_accepted_webhook_is_reconciled_in_the_background(
    client: TestClient, antwerpen: Desk, ledger: Ledger
) -> None:
    _drained(ledger)  # what the devices' import left
    assert deliver(client, antwerpen, checkout_event()).status_code == 202
    _drained(ledger)
    with ledger.read() as session:
        done = session.scalars(
            sa.select(OutboxEntry.entity_key).where(OutboxEntry.reason == "checkout")
        ).all()
    assert sorted(done) == ["5CD1234XYZ", "B-1017"]


def test_a_checkout_interrupted_by_a_restart_is_picked_up_by_the_next_process(
    settings: Settings, ledger: Ledger, antwerpen: Desk
) -> None:
    def dies_halfway(_stopping: threading.Event) -> int:
        # The reconcile is cut off halfway (the process is stopping, the connection drops): its
        # transaction never commits.
        with ledger.transaction() as session:
            session.execute(sa.update(OutboxEntry).values(done_at=clock.now()))
            raise ConnectionError("server closed the connection unexpectedly")

    with TestClient(create_app(settings, ledger, drain=dies_halfway)) as first:
        assert deliver(first, antwerpen, checkout_event()).status_code == 202
    assert pending_outbox(ledger) == 5  # three imported devices, the loan's device and borrower
    assert _workers() == []

    with TestClient(create_app(settings, ledger, drain=mark_outbox_done(ledger))):
        _drained(ledger)
    assert _workers() == []


@ANY_DATABASE
def test_the_worker_carries_on_after_a_failing_drain(ledger: Ledger) -> None:
    failures: list[str] = []
    mark_done = mark_outbox_done(ledger)

    def flaky(stopping: threading.Event) -> int:
        if len(failures) < 2:
            failures.append("database went away")
            raise ConnectionError("database went away")
        return mark_done(stopping)

    worker = OutboxWorker(flaky, interval_seconds=0.05)
    worker.start()
    try:
        _drained(ledger)
    finally:
        worker.stop()
    assert len(failures) == 2
    assert _workers() == []


@ANY_DATABASE
def test_a_wake_drains_at_once_without_waiting_for_the_timer(ledger: Ledger) -> None:
    worker = OutboxWorker(mark_outbox_done(ledger), interval_seconds=3600)
    worker.start()
    try:
        _drained(ledger)  # the drain at start
        with ledger.transaction() as session:
            session.add(
                OutboxEntry(
                    entity_kind="device",
                    entity_key="5CD1234XYZ",
                    reason="test",
                    created_at=clock.now(),
                )
            )
        assert pending_outbox(ledger) == 1
        worker.wake()
        _drained(ledger, timeout=5)
    finally:
        worker.stop()
