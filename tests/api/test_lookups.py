"""The desk's look-ups over HTTP, on both databases: ``/v1/devices/{ref}``,
``/v1/borrowers/{borrower_id}`` and ``/v1/loans`` answer a desk about its own loans and borrowers
only (another desk's are 404 exactly like nothing at all), never name a borrower, are never
cached, and page through a desk's loans without losing or repeating one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fleetsync import services
from fleetsync.domain.lifecycle import Condition
from fleetsync.ledger import Ledger
from fleetsync.settings import Settings
from tests.api.conftest import ANY_DATABASE, Desk, add_devices, checkout_event, deliver, event
from tests.pinned import PINNED_AT, TODAY, days_from_today


def _lend(client: TestClient, desk: Desk, serial: str, borrower_id: str, **more: Any) -> str:
    response = deliver(client, desk, checkout_event(serial, borrower_id, **more))
    assert response.status_code == 202, response.text
    loan: str = response.json()["loan"]
    return loan


def _get(client: TestClient, who: Desk | str, path: str, **params: Any) -> httpx.Response:
    token = who if isinstance(who, str) else who.token
    return client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})


def _lent_long_ago(
    ledger: Ledger, settings: Settings, desk: Desk, serial: str, borrower: str, days_late: int
) -> str:
    """A loan the desk made weeks ago, whose agreed end was ``days_late`` days ago."""
    with ledger.transaction() as session:
        result = services.checkout(
            session,
            device=serial,
            borrower=borrower,
            given_name="Jan",
            family_name="Peeters",
            region="Antwerpen",
            until=TODAY - timedelta(days=days_late),
            programme=services.Programme.from_settings(settings),
            actor=f"webhook:{desk.name}",
            now=PINNED_AT - timedelta(days=60),
        )
    return result.loan


# --------------------------------------------------------------------------- devices
def test_a_device_is_found_by_its_exact_serial_or_asset_tag(
    client: TestClient, antwerpen: Desk
) -> None:
    for ref in ("5CD2000AAA", "5cd2000aaa", "CB-0002", "cb-0002"):
        response = _get(client, antwerpen, f"/v1/devices/{ref}")
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert body["serial"] == "5CD2000AAA"
        assert (body["state"], body["lendable"], body["loan"]) == ("spare", True, None)
    for prefix in ("5CD2000", "CB-000", "CB-00021"):
        response = _get(client, antwerpen, f"/v1/devices/{prefix}")
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"
        assert "exactly" in response.json()["detail"]


def test_a_device_shows_its_loan_to_the_desk_that_lent_it_and_the_admin_only(
    client: TestClient, antwerpen: Desk, brussel: Desk, admin_token: str
) -> None:
    loan = _lend(client, antwerpen, "5CD1234XYZ", "B-1017")
    mine = _get(client, antwerpen, "/v1/devices/CB-0001").json()
    assert mine["loan"]["loan"] == loan
    assert mine["loan"]["borrower"] == "B-1017"
    assert (mine["state"], mine["lendable"], mine["on_loan_elsewhere"]) == (
        "on_loan",
        False,
        False,
    )
    theirs = _get(client, brussel, "/v1/devices/CB-0001")
    assert theirs.status_code == 200
    assert theirs.json()["loan"] is None
    assert theirs.json()["on_loan_elsewhere"] is True
    for word in (loan, "B-1017", "Ayşe", "Öztürk", days_from_today(60).isoformat()):
        assert word not in theirs.text
    assert _get(client, admin_token, "/v1/devices/CB-0001").json()["loan"] == mine["loan"]


# --------------------------------------------------------------------------- borrowers
def test_a_desk_sees_its_borrower_and_its_own_loans_of_them_never_their_names(
    client: TestClient, antwerpen: Desk, brussel: Desk, admin_token: str
) -> None:
    first = _lend(client, antwerpen, "5CD1234XYZ", "B-1017")
    returned = event("loan.returned", device={"serial": "5CD1234XYZ"})
    assert deliver(client, antwerpen, returned).status_code == 202
    second = _lend(client, brussel, "5CD2000AAA", "B-1017")
    mine = _get(client, antwerpen, "/v1/borrowers/B-1017")
    assert mine.status_code == 200, mine.text
    assert mine.headers["cache-control"] == "no-store"
    body = mine.json()
    assert body["id"] == "B-1017"
    assert [line["loan"] for line in body["loans"]] == [first]
    assert body["open_loan"] is None
    assert body["on_loan_elsewhere"] is True
    assert body["account"] is not None
    assert "Ayşe" not in mine.text
    assert "Öztürk" not in mine.text
    assert second not in mine.text
    theirs = _get(client, brussel, "/v1/borrowers/B-1017").json()
    assert theirs["open_loan"]["loan"] == second
    assert [line["loan"] for line in theirs["loans"]] == [second]
    everyone = _get(client, admin_token, "/v1/borrowers/B-1017").json()
    assert [line["loan"] for line in everyone["loans"]] == [second, first]


def test_another_desks_borrower_is_answered_like_no_borrower_at_all(
    client: TestClient, antwerpen: Desk, brussel: Desk
) -> None:
    _lend(client, antwerpen, "5CD1234XYZ", "B-9")
    hidden = _get(client, brussel, "/v1/borrowers/B-9")
    missing = _get(client, brussel, "/v1/borrowers/B-8")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == {
        **missing.json(),
        "detail": missing.json()["detail"].replace("B-8", "B-9"),
    }
    assert "antwerpen" not in hidden.text


# --------------------------------------------------------------------------- loans
def test_the_loan_list_filters_and_counts_days_overdue_for_the_desk_only(
    client: TestClient,
    ledger: Ledger,
    settings: Settings,
    antwerpen: Desk,
    brussel: Desk,
    admin_token: str,
) -> None:
    late = _lent_long_ago(ledger, settings, antwerpen, "5CD2000AAA", "B-1", days_late=12)
    on_time = _lend(client, antwerpen, "5CD1234XYZ", "B-2")
    theirs = _lend(
        client,
        brussel,
        "5CD3000BBB",
        "B-3",
        borrower={"id": "B-3", "given_name": "Els", "family_name": "Maes", "region": "Brussel"},
    )

    def listed(who: Desk | str, **params: Any) -> list[str]:
        response = _get(client, who, "/v1/loans", **params)
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        return [line["loan"] for line in response.json()["items"]]

    assert listed(antwerpen) == [late, on_time]
    assert listed(antwerpen, state="overdue") == [late]
    assert listed(antwerpen, due_before=TODAY.isoformat()) == [late]
    assert listed(antwerpen, borrower="B-2") == [on_time]
    assert listed(antwerpen, borrower="B-3") == []
    assert listed(brussel) == [theirs]
    assert listed(admin_token, state="all") == [theirs, on_time, late]
    overdue = _get(client, antwerpen, "/v1/loans", state="overdue").json()["items"][0]
    assert (overdue["overdue"], overdue["days_overdue"], overdue["borrower"]) == (True, 12, "B-1")
    assert "Peeters" not in _get(client, antwerpen, "/v1/loans").text

    with ledger.transaction() as session:
        services.return_device(
            session, device="5CD2000AAA", condition=Condition.OK, actor="webhook:antwerpen"
        )
    assert listed(antwerpen, state="overdue") == []
    ended = _get(client, antwerpen, "/v1/loans", state="all").json()["items"][-1]
    assert (ended["loan"], ended["open"], ended["days_overdue"]) == (late, False, 0)


def test_the_pages_of_a_desks_loans_hold_each_loan_once(
    client: TestClient, ledger: Ledger, antwerpen: Desk, brussel: Desk
) -> None:
    add_devices(ledger, *(f"5CD9{i:03d}ZZ,CB-9{i:03d},Acer,Antwerpen,wifi" for i in range(9)))
    mine = [_lend(client, antwerpen, f"5CD9{i:03d}ZZ", f"B-{i}") for i in range(7)]
    _lend(client, brussel, "5CD9007ZZ", "B-7")
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 3}
    pages = 0
    while True:
        body = _get(client, antwerpen, "/v1/loans", **params).json()
        seen += [line["loan"] for line in body["items"]]
        pages += 1
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert pages == 3
    assert sorted(seen) == sorted(mine)
    assert len(seen) == len(set(seen))


@ANY_DATABASE
@pytest.mark.parametrize(
    ("params", "pointer"),
    [
        ({"state": "late"}, "#/query/state"),
        ({"due_before": "2026-13-01"}, "#/query/due_before"),
        ({"limit": "0"}, "#/query/limit"),
        ({"limit": "501"}, "#/query/limit"),
    ],
)
def test_bad_list_parameters_are_422_naming_the_parameter(
    client: TestClient, antwerpen: Desk, params: dict[str, str], pointer: str
) -> None:
    response = _get(client, antwerpen, "/v1/loans", **params)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["pointer"] == pointer


@ANY_DATABASE
@pytest.mark.parametrize("cursor", ["nonsense", "WyJzIiwiNUNEIl0", "WyJvIiwieCIsMV0"])
def test_a_cursor_the_list_did_not_give_is_422_saying_to_start_again(
    client: TestClient, antwerpen: Desk, cursor: str
) -> None:
    response = _get(client, antwerpen, "/v1/loans", cursor=cursor)
    assert response.status_code == 422, response.text
    assert "start again" in response.json()["detail"]


@ANY_DATABASE
@pytest.mark.parametrize(
    "path", ["/v1/devices/CB-0001", "/v1/borrowers/B-1", "/v1/loans", "/v1/loans?state=all"]
)
def test_the_look_ups_need_a_known_token(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer " + "x" * 40}).status_code == 401


@ANY_DATABASE
def test_the_look_ups_are_in_the_openapi_document(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    assert set(paths["/v1/devices/{ref}"]) == {"get"}
    assert set(paths["/v1/borrowers/{borrower_id}"]) == {"get"}
    parameters = {p["name"] for p in paths["/v1/loans"]["get"]["parameters"]}
    assert parameters == {"state", "borrower", "due_before", "limit", "cursor"}
