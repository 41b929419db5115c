"""Desks at the API, on both databases: a desk sees, changes and collects the first password of
its own loans only; a borrower id known with other names is another person until the desk
confirms it; and no refusal names another desk's borrower, loan or dates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2 as httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from fleetsync.ledger import Ledger
from fleetsync.ledger.credentials import load_key, open_password
from fleetsync.ledger.models import Borrower, PendingCredential
from fleetsync.settings import Settings
from tests.api.conftest import (
    Desk,
    audit_actions,
    checkout_event,
    deliver,
    event,
    loans,
)
from tests.pinned import TODAY, days_from_today


def _lend(client: TestClient, desk: Desk, body: bytes) -> str:
    response = deliver(client, desk, body)
    assert response.status_code == 202, response.text
    loan: str = response.json()["loan"]
    return loan


def _collect(client: TestClient, desk: Desk, loan: str) -> httpx.Response:
    return client.post(f"/v1/loans/{loan}/credentials", headers=desk.auth)


def _person(
    borrower: str,
    given: str,
    family: str,
    serial: str = "5CD2000AAA",
    region: str = "Antwerpen",
    **more: Any,
) -> bytes:
    person = {"id": borrower, "given_name": given, "family_name": family, "region": region}
    return checkout_event(serial, borrower, borrower=person, **more)


def _returned(serial: str = "5CD1234XYZ") -> bytes:
    return event("loan.returned", device={"serial": serial})


def _problem(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    return response.text


def test_a_desk_never_receives_another_desks_first_password(
    client: TestClient,
    antwerpen: Desk,
    brussel: Desk,
    ledger: Ledger,
    settings: Settings,
) -> None:
    # Antwerpen lends to its B-9; the device comes back before Antwerpen collected the password.
    theirs = _lend(client, antwerpen, checkout_event(borrower_id="B-9"))
    assert deliver(client, antwerpen, _returned()).status_code == 202
    with ledger.read() as session:
        sealed = session.scalars(sa.select(PendingCredential)).one().sealed_password
    password = open_password(load_key(settings), sealed)
    # Brussel lends to a B-9 of the same name: the account exists, no password comes with it.
    mine = _lend(client, brussel, checkout_event("5CD2000AAA", "B-9"))
    answer = _collect(client, brussel, mine)
    assert answer.status_code == 404, "Brussel was handed Antwerpen's first password"
    assert answer.json()["code"] == "not_found"
    assert password not in answer.text
    assert client.get(f"/v1/loans/{mine}", headers=brussel.auth).json()["first_password"] == "none"
    # Nor through Antwerpen's loan, which Brussel cannot see.
    assert _collect(client, brussel, theirs).status_code == 404
    with ledger.read() as session:
        assert session.scalars(sa.select(PendingCredential.collected_at)).one() is None


def test_a_known_borrower_id_with_other_names_is_refused_until_the_desk_confirms(
    client: TestClient, antwerpen: Desk, brussel: Desk, ledger: Ledger
) -> None:
    theirs = _lend(client, antwerpen, checkout_event(borrower_id="B-9"))  # Ayşe Öztürk
    assert deliver(client, antwerpen, _returned()).status_code == 202
    refused = _problem(
        deliver(client, brussel, _person("B-9", "John", "Smith")), 409, "borrower_names_differ"
    )
    assert "another given name and family name" in refused
    assert '\\"same_person\\": true' in refused
    for secret in ("Ay", "ztürk", "ozturk", theirs, TODAY.isoformat(), "antwerpen"):
        assert secret not in refused
    with ledger.read() as session:
        person = session.scalars(sa.select(Borrower)).one()
        assert (person.given_name, person.family_name) == ("Ayşe", "Öztürk")
    assert len(loans(ledger)) == 1
    # A correction the desk confirms is taken.
    confirmed = deliver(client, brussel, _person("B-9", "Ayşe", "Öztürk-Peeters", same_person=True))
    assert confirmed.status_code == 202, confirmed.text
    with ledger.read() as session:
        assert session.scalars(sa.select(Borrower.family_name)).one() == "Öztürk-Peeters"
    # Case and spacing are no difference.
    assert deliver(client, brussel, _returned("5CD2000AAA")).status_code == 202
    again = _person("B-9", " ayşe", "ÖZTÜRK-PEETERS ", serial="5CD3000BBB", region="Brussel")
    assert deliver(client, brussel, again).status_code == 202


def test_a_409_never_names_another_desks_borrower_loan_or_dates(
    client: TestClient, antwerpen: Desk, brussel: Desk
) -> None:
    theirs = _lend(client, antwerpen, checkout_event())  # B-1017 has 5CD1234XYZ
    secrets = ("B-1017", theirs, TODAY.isoformat(), "Ayşe")
    # Brussel tries to lend the same device, and another device to the same person.
    device = _problem(
        deliver(client, brussel, checkout_event(borrower_id="B-2")), 409, "device_state"
    )
    assert "device 5CD1234XYZ is on loan at another desk" in device
    person = _problem(
        deliver(client, brussel, checkout_event("5CD2000AAA")), 409, "borrower_has_loan"
    )
    assert "borrower B-1017 already has a device on loan at another desk" in person
    for secret in secrets:
        assert secret not in device
    for secret in (*secrets[1:], "5CD1234XYZ"):
        assert secret not in person
    # The desk whose loan it is reads all of it.
    own = _problem(
        deliver(client, antwerpen, checkout_event("5CD2000AAA")), 409, "borrower_has_loan"
    )
    assert f"(loan {theirs})" in own


ACTIONS: dict[str, Callable[[str], bytes]] = {
    "extend by loan": lambda loan: event("loan.extended", loan=loan, agreed_end=_later()),
    "extend by device": lambda _loan: event(
        "loan.extended", device={"asset_tag": "CB-0001"}, agreed_end=_later()
    ),
    "return": lambda _loan: _returned(),
    "report lost": lambda _loan: event("device.reported_lost", device={"serial": "5CD1234XYZ"}),
}


def _later() -> str:
    return days_from_today(90).isoformat()


@pytest.mark.parametrize("action", list(ACTIONS))
def test_another_desks_loan_is_404_for_every_action(
    client: TestClient, antwerpen: Desk, brussel: Desk, ledger: Ledger, action: str
) -> None:
    theirs = _lend(client, antwerpen, checkout_event())
    refused = deliver(client, brussel, ACTIONS[action](theirs))
    detail = _problem(refused, 404, "not_found")
    assert "desk brussel has no loan" in detail
    for secret in ("B-1017", TODAY.isoformat(), *([] if action == "extend by loan" else [theirs])):
        assert secret not in detail
    if action == "extend by loan":
        # Exactly the answer for a loan that does not exist.
        nothing = deliver(client, brussel, ACTIONS[action]("L-999"))
        assert refused.json()["detail"].replace(theirs, "L-999") == nothing.json()["detail"]
    [loan] = loans(ledger)
    assert (loan.returned_at, loan.agreed_end) == (None, days_from_today(60))
    assert audit_actions(ledger) == [("webhook:antwerpen", "checkout")]
    # The loan's own desk may.
    assert deliver(client, antwerpen, ACTIONS[action](theirs)).status_code == 202


def test_a_device_found_while_on_another_desks_loan_names_nothing_of_it(
    client: TestClient, antwerpen: Desk, brussel: Desk, ledger: Ledger
) -> None:
    theirs = _lend(client, antwerpen, checkout_event())  # B-1017 has 5CD1234XYZ
    found = event("device.found", device={"serial": "5CD1234XYZ"}, reason="handed in")
    detail = _problem(deliver(client, brussel, found), 409, "device_state")
    assert "device 5CD1234XYZ is on loan at another desk" in detail
    for secret in ("B-1017", theirs, TODAY.isoformat()):
        assert secret not in detail
    # The loan's own desk reads all of it; nothing changed.
    own = _problem(deliver(client, antwerpen, found), 409, "device_state")
    assert f"is on loan to borrower B-1017 since {TODAY.isoformat()} (loan {theirs})" in own
    [loan] = loans(ledger)
    assert loan.returned_at is None
    assert audit_actions(ledger) == [("webhook:antwerpen", "checkout")]
