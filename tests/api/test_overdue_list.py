"""The desk's overdue list over HTTP, on both databases: each loan's escalation step, and the
borrower's contact details given in the checkout webhook (sealed in the ledger; on the overdue
list only, never logged)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from fleetsync import services
from fleetsync.domain.overdue import Escalation
from fleetsync.ledger import Ledger
from fleetsync.ledger.models import Loan, LoanContact
from fleetsync.services.overdue import take_due_steps
from fleetsync.settings import Settings
from tests.api.conftest import Desk, checkout_event, deliver
from tests.pinned import PINNED_AT, TODAY, days_from_today

PHONE = "+32 470 12 34 56"


def test_the_overdue_list_shows_the_step_and_how_to_reach_the_borrower(
    client: TestClient, ledger: Ledger, settings: Settings, antwerpen: Desk
) -> None:
    contact = {"phone": PHONE, "email": "ayse@example.net", "language": "en"}
    answer = deliver(client, antwerpen, checkout_event("5CD1234XYZ", "B-1", contact=contact))
    assert answer.status_code == 202, answer.text
    loan = answer.json()["loan"]
    with ledger.transaction() as session:
        session.execute(sa.update(Loan).values(agreed_end=days_from_today(-3)))
        [sealed] = session.scalars(sa.select(LoanContact.sealed)).all()
        assert PHONE not in sealed
        take_due_steps(
            session,
            escalation=Escalation(lock_after_days=3),
            today=TODAY,
            key=services.Programme.from_settings(settings).key,
            now=PINNED_AT,
        )

    headers = {"Authorization": f"Bearer {antwerpen.token}"}
    [overdue] = client.get("/v1/loans", params={"state": "overdue"}, headers=headers).json()[
        "items"
    ]
    assert (overdue["loan"], overdue["escalation"]) == (loan, "locking")
    assert overdue["contact"] == contact
    [line] = client.get("/v1/loans", headers=headers).json()["items"]
    assert (line["escalation"], line["contact"]) == ("locking", None)
    status = client.get(f"/v1/loans/{loan}", headers=headers).json()
    assert status["escalation"] == "locking"
    assert PHONE not in str(status)


def test_a_bad_phone_number_is_refused_with_what_to_write(
    client: TestClient, antwerpen: Desk
) -> None:
    answer = deliver(
        client, antwerpen, checkout_event("5CD1234XYZ", "B-1", contact={"phone": "call me"})
    )
    assert answer.status_code == 422, answer.text
    assert "phone number" in answer.text
