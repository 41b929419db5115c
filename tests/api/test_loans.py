"""``/v1/loans/{loan_id}``: the clerk's view of a loan, desk by desk; the first password once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fleetsync import clock, services
from fleetsync.domain.lifecycle import CommandState
from fleetsync.ledger import Ledger
from fleetsync.ledger.credentials import load_key, open_password
from fleetsync.ledger.models import (
    AuditEvent,
    Borrower,
    Device,
    DeviceCommand,
    PendingCredential,
    PolicyState,
)
from fleetsync.settings import Settings
from tests.api.conftest import ANY_DATABASE, Desk, checkout_event, deliver, event
from tests.pinned import PINNED_AT

NOW = PINNED_AT


def _lend(client: TestClient, desk: Desk, *args: Any, **kwargs: Any) -> str:
    response = deliver(client, desk, checkout_event(*args, **kwargs))
    assert response.status_code == 202, response.text
    loan: str = response.json()["loan"]
    return loan


def _status(client: TestClient, desk_or_token: Desk | str, loan: str) -> Any:
    token = desk_or_token if isinstance(desk_or_token, str) else desk_or_token.token
    return client.get(f"/v1/loans/{loan}", headers={"Authorization": f"Bearer {token}"})


def _steps(body: dict[str, Any]) -> dict[str, str]:
    return {s["step"]: s["state"] for s in body["progress"]["steps"]}


# ----------------------------------------------------------------------------- what it says
def test_a_new_checkout_shows_what_the_clerk_needs_and_waits_for_google(
    client: TestClient, antwerpen: Desk
) -> None:
    loan = _lend(client, antwerpen)
    response = _status(client, antwerpen, loan)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["loan"] == loan
    assert body["open"] is True
    assert body["device"] == {
        "serial": "5CD1234XYZ",
        "asset_tag": "CB-0001",
        "model": "Acer Chromebook 314",
        "state": "on_loan",
        "region": "Antwerpen",
        "connectivity": "4g",
    }
    assert body["borrower"] == {
        "id": "B-1017",
        "account": "ayse.ozturk@example.org",
        "account_status": "active",
    }
    # Desk id and account only: the borrower's names stay in the ledger.
    assert "Öztürk" not in response.text
    assert body["progress"]["phase"] == "checkout"
    assert body["progress"]["complete"] is False
    assert _steps(body) == {
        "account_created": "waiting",
        "device_moved": "waiting",
        "device_annotated": "waiting",
        "policies_in_place": "not_needed",
    }
    assert body["first_password"] == "waiting"


def _google_confirms_the_checkout(ledger: Ledger, settings: Settings) -> None:
    """What the reconciler writes once Google has done the checkout's work."""
    with ledger.transaction() as session:
        borrower = session.scalars(sa.select(Borrower)).one()
        borrower.google_user_id = "1000001"
        borrower.google_suspended = False
        device = session.scalars(sa.select(Device).where(Device.serial == "5CD1234XYZ")).one()
        device.google_org_unit = settings.org_units.on_loan
        device.google_annotated_user = borrower.account_email
        device.google_status = "ACTIVE"


def test_the_checklist_follows_what_google_confirmed(
    client: TestClient, antwerpen: Desk, ledger: Ledger, settings: Settings
) -> None:
    loan = _lend(client, antwerpen)
    _google_confirms_the_checkout(ledger, settings)
    body = _status(client, antwerpen, loan).json()
    assert _steps(body)["account_created"] == "done"
    assert _steps(body)["device_moved"] == "done"
    assert _steps(body)["device_annotated"] == "done"
    assert body["progress"]["complete"] is True

    returned = event("loan.returned", device={"serial": "5CD1234XYZ"})
    assert deliver(client, antwerpen, returned).status_code == 202
    body = _status(client, antwerpen, loan).json()
    assert (body["open"], body["condition"]) == (False, "ok")
    assert body["progress"]["phase"] == "return"
    assert _steps(body) == {
        "account_suspended": "waiting",
        "powerwash_issued": "waiting",
        "powerwash_executed": "waiting",
        "device_ready": "waiting",
    }
    with ledger.transaction() as session:
        session.scalars(sa.select(Borrower)).one().google_suspended = True
        wash = session.scalars(sa.select(DeviceCommand)).one()
        wash.state, wash.google_command_id = CommandState.PENDING, "cmd-1"
    assert _steps(_status(client, antwerpen, loan).json()) == {
        "account_suspended": "done",
        "powerwash_issued": "done",
        "powerwash_executed": "waiting",
        "device_ready": "waiting",
    }
    with ledger.transaction() as session:
        wash = session.scalars(sa.select(DeviceCommand)).one()
        wash.state, wash.result = CommandState.EXECUTED_BY_CLIENT, "SUCCESS"
        wash.executed_at = clock.now()
    with ledger.transaction() as session:
        services.mark_ready(session, device="5CD1234XYZ", actor="sync")
        device = session.scalars(sa.select(Device).where(Device.serial == "5CD1234XYZ")).one()
        device.google_org_unit = settings.org_units.spare
    body = _status(client, antwerpen, loan).json()
    assert set(_steps(body).values()) == {"done"}
    assert body["progress"]["complete"] is True


@ANY_DATABASE
def test_policies_count_where_they_reach_the_borrower(
    database_url: str, tmp_path: Any, antwerpen: Desk, admin_token: str
) -> None:
    from fleetsync.api import create_app
    from fleetsync.ledger import open_ledger
    from fleetsync.settings import OrgUnitPolicy
    from tests.api.conftest import DEVICES, add_devices, api_settings

    base = api_settings(database_url, tmp_path / "data", [antwerpen], admin_token)
    settings = base.model_copy(
        update={
            "policies": (
                OrgUnitPolicy(org_unit="/Students"),
                OrgUnitPolicy(org_unit="/Students/{region}"),
                OrgUnitPolicy(org_unit="/Staff"),
            )
        }
    )
    with open_ledger(settings) as ledger, TestClient(create_app(settings, ledger)) as client:
        add_devices(ledger, *DEVICES)
        loan = _lend(client, antwerpen)
        step = next(
            s
            for s in _status(client, antwerpen, loan).json()["progress"]["steps"]
            if s["step"] == "policies_in_place"
        )
        assert step["state"] == "waiting"
        assert "/Students, /Students/Antwerpen" in step["detail"]
        with ledger.transaction() as session:
            for unit in ("/Students", "/Students/Antwerpen"):
                session.add(
                    PolicyState(
                        org_unit=unit, namespace="chrome.users", in_place=True, checked_at=NOW
                    )
                )
        steps = _steps(_status(client, antwerpen, loan).json())
        assert steps["policies_in_place"] == "done"


# ----------------------------------------------------------------------------- who sees what
def test_a_desk_sees_only_its_own_loans(
    client: TestClient,
    app: FastAPI,
    antwerpen: Desk,
    brussel: Desk,
    admin_token: str,
    ledger: Ledger,
) -> None:
    loan = _lend(client, antwerpen)
    theirs = _status(client, brussel, loan)
    assert theirs.status_code == 404
    nothing = _status(client, brussel, "L-999")
    # The same answer for another desk's loan as for no loan at all.
    assert theirs.json()["detail"].replace(loan, "L-999") == nothing.json()["detail"]
    assert _status(client, admin_token, loan).status_code == 200
    # A loan made on the command line belongs to no desk.
    with ledger.transaction() as session:
        cli = services.checkout(
            session,
            device="5CD2000AAA",
            borrower="B-2",
            given_name="Jan",
            family_name="Peeters",
            region="Antwerpen",
            until=(NOW + timedelta(days=30)).date(),
            programme=app.state.fleetsync.programme,
            actor="cli:ann",
        )
    assert _status(client, antwerpen, cli.loan).status_code == 404
    assert _status(client, admin_token, cli.loan).status_code == 200
    # Nor does a desk change it; the admin collects its first password.
    returned = event("loan.returned", device={"serial": "5CD2000AAA"})
    assert deliver(client, antwerpen, returned).status_code == 404
    assert _collect(client, admin_token, cli.loan).status_code == 200


@ANY_DATABASE
@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer not-a-token-anyone-was-given"}, 401),
        ({"Authorization": "Basic YWRtaW46YWRtaW4="}, 401),
    ],
)
def test_the_status_needs_a_known_token(
    client: TestClient, antwerpen: Desk, headers: dict[str, str], status: int
) -> None:
    loan = _lend(client, antwerpen)
    response = client.get(f"/v1/loans/{loan}", headers=headers)
    assert response.status_code == status
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/problem+json"


@ANY_DATABASE
@pytest.mark.parametrize("ref", ["L-x", "88a", "L-99999999999", "%00"])
def test_a_malformed_loan_id_is_422(client: TestClient, admin_token: str, ref: str) -> None:
    response = _status(client, admin_token, ref)
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "#/path/loan_id"


@ANY_DATABASE
def test_a_loan_id_without_prefix_works(client: TestClient, antwerpen: Desk) -> None:
    loan = _lend(client, antwerpen)
    assert _status(client, antwerpen, loan.removeprefix("L-")).json()["loan"] == loan


# ------------------------------------------------------------------------ the first password
def _collect(client: TestClient, token: str, loan: str) -> Any:
    return client.post(
        f"/v1/loans/{loan}/credentials", headers={"Authorization": f"Bearer {token}"}
    )


def test_the_first_password_is_handed_over_once(
    client: TestClient, antwerpen: Desk, ledger: Ledger, settings: Settings
) -> None:
    loan = _lend(client, antwerpen)
    first = _collect(client, antwerpen.token, loan)
    assert first.status_code == 200, first.text
    assert first.headers["cache-control"] == "no-store"
    body = first.json()
    with ledger.read() as session:
        sealed = session.scalars(sa.select(PendingCredential)).one()
        assert open_password(load_key(settings), sealed.sealed_password) == body["password"]
        assert sealed.collected_by == "webhook:antwerpen"
    assert body == {
        "loan": loan,
        "borrower": "B-1017",
        "account": "ayse.ozturk@example.org",
        "password": body["password"],
        "change_at_first_sign_in": True,
    }
    again = _collect(client, antwerpen.token, loan)
    assert again.status_code == 409
    assert again.json()["code"] == "already_collected"
    assert body["password"] not in again.text
    assert _status(client, antwerpen, loan).json()["first_password"] == "collected"
    with ledger.read() as session:
        actions = session.scalars(sa.select(AuditEvent.action)).all()
    assert actions.count("first_password_collected") == 1


@ANY_DATABASE
def test_only_the_desk_that_lent_the_device_collects_the_password(
    client: TestClient, antwerpen: Desk, brussel: Desk
) -> None:
    loan = _lend(client, antwerpen)
    assert _collect(client, brussel.token, loan).status_code == 404
    assert _collect(client, antwerpen.token, loan).status_code == 200


@ANY_DATABASE
def test_no_password_waits_for_a_returning_borrower(client: TestClient, antwerpen: Desk) -> None:
    loan = _lend(client, antwerpen)
    assert _collect(client, antwerpen.token, loan).status_code == 200
    returned = event("loan.returned", device={"serial": "5CD1234XYZ"})
    assert deliver(client, antwerpen, returned).status_code == 202
    ended = _collect(client, antwerpen.token, loan)
    assert (ended.status_code, ended.json()["code"]) == (409, "loan_ended")
    again = _lend(client, antwerpen, "5CD2000AAA")
    assert _status(client, antwerpen, again).json()["first_password"] == "none"
    nothing = _collect(client, antwerpen.token, again)
    assert (nothing.status_code, nothing.json()["code"]) == (404, "not_found")
    assert "no first password is waiting for loan" in nothing.json()["detail"]
