"""The loan desk's reservation events, signed and applied once like every other event, and
course periods named by checkouts; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient

from fleetsync import clock, services
from fleetsync.ledger import Ledger
from fleetsync.ledger.models import Reservation
from fleetsync.services import courses
from fleetsync.settings import AccountSettings
from tests.api.conftest import Desk, audit_actions, checkout_event, deliver, event, loans


def _course(ledger: Ledger, name: str, start: int, end: int) -> None:
    today = clock.today()
    with ledger.transaction() as session:
        courses.add_course(
            session,
            name=name,
            first=today + timedelta(days=start),
            last=today + timedelta(days=end),
            programme=services.Programme(
                regions=("Antwerpen", "Brussel"), accounts=AccountSettings(), key=lambda: b""
            ),
            actor="cli:tester",
        )


def _reservations(ledger: Ledger) -> list[tuple[int, str, str, int | None, str | None]]:
    with ledger.read() as session:
        return [
            (r.id, r.borrower, r.status, r.loan_id, r.given_name)
            for r in session.scalars(sa.select(Reservation).order_by(Reservation.id))
        ]


def _reserve(borrower: str, course: str = "Now", **extra: object) -> bytes:
    person = {"id": borrower, "given_name": "Samir", "region": "Antwerpen"}
    return event("reservation.created", borrower=person, course_period=course, **extra)


def test_reservations_are_made_cancelled_and_fulfilled_once(
    client: TestClient, antwerpen: Desk, brussel: Desk, ledger: Ledger
) -> None:
    _course(ledger, "Now", -1, 40)
    made = deliver(client, antwerpen, _reserve("B-1", needs_data=True), webhook_id="msg_r1")
    assert made.status_code == 202, made.text
    assert made.json() == {
        "status": "accepted",
        "event": "reservation.created",
        "webhook_id": "msg_r1",
        "desk": "antwerpen",
        "serial": None,
        "loan": None,
        "status_url": None,
        "reservation": "R-1",
    }
    again = deliver(client, antwerpen, _reserve("B-1", needs_data=True), webhook_id="msg_r1")
    assert (again.status_code, again.json()) == (202, made.json())
    assert again.headers["fleetsync-replayed"] == "true"
    # A second reservation for the same person and course period (a new event) is refused.
    twice = deliver(client, antwerpen, _reserve("B-1"))
    assert twice.status_code == 409
    assert "has an open reservation for Now already (R-1)" in twice.json()["detail"]
    unknown = deliver(client, antwerpen, _reserve("B-2", course="Autumn"))
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "unknown_course"
    assert "the course periods are 'Now'" in unknown.json()["detail"]

    # Another desk cannot see it; its own desk cancels it, once.
    cancel = event("reservation.cancelled", reservation="R-1", reason="moved away")
    assert deliver(client, brussel, cancel).status_code == 404
    assert deliver(client, antwerpen, cancel).json()["reservation"] == "R-1"
    closed = deliver(
        client, antwerpen, event("reservation.cancelled", reservation="r-1", reason="x")
    )
    assert closed.status_code == 409
    assert closed.json()["code"] == "reservation_closed"

    # A checkout of the borrower for the course period (found by the day) fulfils theirs.
    assert deliver(client, antwerpen, _reserve("B-2")).status_code == 202
    lent = deliver(client, antwerpen, checkout_event("5CD2000AAA", "B-2", agreed_end=None))
    assert lent.status_code == 202, lent.text
    [loan] = loans(ledger)
    assert loan.course_period == "Now"
    assert loan.agreed_end == clock.today() + timedelta(days=47)  # course end + 7 grace days
    # Closed, a reservation keeps no name.
    assert _reservations(ledger) == [
        (1, "B-1", "cancelled", None, None),
        (2, "B-2", "fulfilled", 1, None),
    ]
    assert audit_actions(ledger) == [
        ("cli:tester", "course_add"),
        ("webhook:antwerpen", "reservation_add"),
        ("webhook:antwerpen", "reservation_cancel"),
        ("webhook:antwerpen", "reservation_add"),
        ("webhook:antwerpen", "checkout"),
        ("webhook:antwerpen", "reservation_fulfil"),
    ]
    # An unknown course period on a checkout is refused with the known ones.
    wrong = deliver(client, antwerpen, checkout_event("5CD1234XYZ", "B-3", course_period="Q9"))
    assert wrong.status_code == 422
    assert "there is no course period 'Q9'; the course periods are 'Now'" in wrong.json()["detail"]
