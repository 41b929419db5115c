"""A checkout at the loan desk that meets a deletion of the borrower's account in flight (the
reconciler has committed its intent and is calling Google) fails cleanly, on both databases:
409 ``account_being_deleted`` saying what to do, nothing recorded. Once the deletion is settled,
the same checkout, sent as a new event, gives the borrower a new account."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from fleetsync import clock
from fleetsync.domain.lifecycle import AccountStatus, DeviceState
from fleetsync.ledger import Ledger
from fleetsync.ledger.models import Borrower, Device, OutboxEntry
from fleetsync.services import reconciled
from tests.api.conftest import (
    Desk,
    checkout_event,
    count,
    deliver,
    event,
    loans,
)


def _borrower(ledger: Ledger) -> Borrower:
    with ledger.read() as session:
        return session.scalars(sa.select(Borrower).where(Borrower.desk_id == "B-1017")).one()


def test_a_checkout_that_meets_an_account_deletion_in_flight_gets_409_with_what_to_do(
    client: TestClient, antwerpen: Desk, ledger: Ledger
) -> None:
    lent = deliver(client, antwerpen, checkout_event())
    assert lent.status_code == 202, lent.text
    returned = deliver(client, antwerpen, event("loan.returned", device={"serial": "5CD1234XYZ"}))
    assert returned.status_code == 202, returned.text
    email = _borrower(ledger).account_email
    assert email is not None
    assert _borrower(ledger).account_status == AccountStatus.SUSPENDED.value
    # The retention has passed: the reconciler records its intent before it calls Google.
    with ledger.transaction() as session:
        assert reconciled.begin_account_deletion(session, "B-1017", email=email, now=clock.now())
    outbox_before = count(ledger, OutboxEntry)

    refused = deliver(client, antwerpen, checkout_event("5CD2000AAA"))

    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["code"] == "account_being_deleted"
    assert "check the device out again in a few minutes" in problem["detail"]
    assert "new webhook-id" in problem["detail"]
    assert email not in refused.text
    assert len(loans(ledger)) == 1
    assert count(ledger, OutboxEntry) == outbox_before
    with ledger.read() as session:
        state = session.scalar(sa.select(Device.state).where(Device.serial == "5CD2000AAA"))
    assert state == DeviceState.SPARE.value
    assert _borrower(ledger).account_status == AccountStatus.SUSPENDED.value

    # Google's answer is recorded: the deletion is settled, and the desk sends the event again.
    with ledger.transaction() as session:
        reconciled.account_deleted(session, "B-1017", now=clock.now())
    again = deliver(client, antwerpen, checkout_event("5CD2000AAA"))
    assert again.status_code == 202, again.text
    person = _borrower(ledger)
    assert (person.account_status, person.account_deleting_since) == ("active", None)
    assert person.account_email not in (None, email)
