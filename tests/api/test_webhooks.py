"""The loan desk's webhook: signed events applied once, every error an answer (never a 500)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fleetsync import clock
from fleetsync.api import create_app
from fleetsync.ledger import Ledger
from fleetsync.ledger.models import Device, Loan
from fleetsync.settings import Settings
from tests.api.conftest import (
    ANY_DATABASE,
    WEBHOOK,
    Desk,
    api_settings,
    audit_actions,
    checkout_event,
    count,
    deliver,
    deliveries,
    event,
    loans,
    new_secret,
    serving,
)


def _device_state(ledger: Ledger, serial: str) -> str:
    with ledger.read() as session:
        device = session.query(Device).filter_by(serial=serial).one()
        return device.state


# ------------------------------------------------------------------------------ the events
def test_a_signed_checkout_is_applied_and_answered_with_the_status_url(
    client: TestClient, antwerpen: Desk, ledger: Ledger
) -> None:
    response = deliver(client, antwerpen, checkout_event(), webhook_id="msg_1")
    assert response.status_code == 202, response.text
    [loan] = loans(ledger)
    assert response.json() == {
        "status": "accepted",
        "event": "loan.checked_out",
        "webhook_id": "msg_1",
        "desk": "antwerpen",
        "serial": "5CD1234XYZ",
        "loan": loan.ref,
        "status_url": f"/v1/loans/{loan.ref}",
    }
    assert response.headers["location"] == f"/v1/loans/{loan.ref}"
    assert _device_state(ledger, "5CD1234XYZ") == "on_loan"
    assert audit_actions(ledger) == [("webhook:antwerpen", "checkout")]
    [delivery] = deliveries(ledger)
    assert (delivery.desk, delivery.webhook_id, delivery.status_code) == ("antwerpen", "msg_1", 202)


def test_return_extend_lost_and_found_by_serial_or_asset_tag(
    client: TestClient, antwerpen: Desk, ledger: Ledger
) -> None:
    assert deliver(client, antwerpen, checkout_event()).status_code == 202
    [loan] = loans(ledger)
    later = (loan.agreed_end + timedelta(days=14)).isoformat()
    steps: list[tuple[bytes, str]] = [
        (event("loan.extended", loan=loan.ref, agreed_end=later), "on_loan"),
        (
            event("loan.returned", device={"asset_tag": "cb-0001"}, condition="damaged"),
            "in_refurbishment",
        ),
        (event("device.reported_lost", device={"serial": "5CD1234XYZ"}), "lost"),
        (event("device.found", device={"asset_tag": "CB-0001"}), "in_refurbishment"),
    ]
    for body, state in steps:
        response = deliver(client, antwerpen, body)
        assert response.status_code == 202, response.text
        assert _device_state(ledger, "5CD1234XYZ") == state
    [loan] = loans(ledger)
    assert (loan.agreed_end.isoformat(), loan.return_condition) == (later, "damaged")
    assert [a for _, a in audit_actions(ledger)] == [
        "checkout",
        "extend",
        "return",
        "lost",
        "found",
    ]


# ------------------------------------------------------------------------------ once only
def test_a_redelivery_gets_the_first_answer_and_changes_nothing(
    client: TestClient, antwerpen: Desk, ledger: Ledger
) -> None:
    body = checkout_event()
    first = deliver(client, antwerpen, body, webhook_id="msg_retry")
    # The desk retries later: signed again (a fresh timestamp), same id, same body.
    again = deliver(client, antwerpen, body, webhook_id="msg_retry")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    assert again.headers["fleetsync-replayed"] == "true"
    assert "fleetsync-replayed" not in first.headers
    assert len(loans(ledger)) == 1
    assert audit_actions(ledger) == [("webhook:antwerpen", "checkout")]


def test_a_refusal_is_recorded_and_replayed_too(
    client: TestClient, antwerpen: Desk, ledger: Ledger
) -> None:
    body = event("loan.returned", device={"serial": "5CD1234XYZ"})
    first = deliver(client, antwerpen, body, webhook_id="msg_early_return")
    assert first.status_code == 409
    # The device is lent meanwhile; the retried return must not end that new loan.
    assert deliver(client, antwerpen, checkout_event()).status_code == 202
    again = deliver(client, antwerpen, body, webhook_id="msg_early_return")
    assert (again.status_code, again.json()) == (409, first.json())
    assert again.headers["content-type"] == "application/problem+json"
    assert _device_state(ledger, "5CD1234XYZ") == "on_loan"


@ANY_DATABASE
def test_the_same_id_for_another_body_is_refused(
    client: TestClient, antwerpen: Desk, ledger: Ledger
) -> None:
    assert deliver(client, antwerpen, checkout_event(), webhook_id="msg_x").status_code == 202
    other = event("loan.returned", device={"serial": "5CD1234XYZ"})
    response = deliver(client, antwerpen, other, webhook_id="msg_x")
    assert response.status_code == 409
    assert response.json()["code"] == "webhook_id_reused"
    assert _device_state(ledger, "5CD1234XYZ") == "on_loan"


@ANY_DATABASE
def test_desks_have_their_own_ids(
    client: TestClient, antwerpen: Desk, brussel: Desk, ledger: Ledger
) -> None:
    assert deliver(client, antwerpen, checkout_event(), webhook_id="msg_1").status_code == 202
    body = event(
        "loan.checked_out",
        device={"serial": "5CD3000BBB"},
        borrower={"id": "B-2000", "given_name": "Jan", "region": "Brussel"},
        agreed_end=loans(ledger)[0].agreed_end.isoformat(),
    )
    second = deliver(client, brussel, body, webhook_id="msg_1")
    assert second.status_code == 202, second.text
    assert len(loans(ledger)) == 2


@pytest.fixture
def served(app: FastAPI) -> Iterator[str]:
    with serving(app) as url:
        yield url


def _at_once(url: str, requests: list[tuple[bytes, dict[str, str]]]) -> list[httpx.Response]:
    """Send every request at the same moment, each from its own thread and connection."""
    barrier = threading.Barrier(len(requests))
    answers: list[httpx.Response | BaseException] = [RuntimeError("not sent")] * len(requests)

    def send(i: int, body: bytes, headers: dict[str, str]) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            barrier.wait()
            try:
                answers[i] = http.post(WEBHOOK, content=body, headers=headers)
            except BaseException as exc:  # reported below
                answers[i] = exc

    threads = [
        threading.Thread(target=send, args=(i, body, headers))
        for i, (body, headers) in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    failed = [a for a in answers if isinstance(a, BaseException)]
    assert not failed, failed
    return [a for a in answers if isinstance(a, httpx.Response)]


def test_identical_deliveries_at_once_apply_once(
    served: str, antwerpen: Desk, ledger: Ledger
) -> None:
    body = checkout_event()
    headers = antwerpen.sign(body, webhook_id="msg_twins")
    answers = _at_once(served, [(body, headers)] * 6)
    assert [a.status_code for a in answers] == [202] * 6, [a.text for a in answers]
    assert len({a.text for a in answers}) == 1
    assert sum(a.headers.get("fleetsync-replayed") == "true" for a in answers) == 5
    assert len(loans(ledger)) == 1
    assert len(deliveries(ledger)) == 1
    assert audit_actions(ledger) == [("webhook:antwerpen", "checkout")]


def test_two_desks_lending_one_device_at_once_lend_it_once(
    served: str, antwerpen: Desk, ledger: Ledger
) -> None:
    requests = []
    for borrower in ("B-1", "B-2", "B-3", "B-4"):
        body = checkout_event(borrower_id=borrower)
        requests.append((body, antwerpen.sign(body)))
    answers = _at_once(served, requests)
    assert sorted(a.status_code for a in answers) == [202, 409, 409, 409]
    assert len(loans(ledger)) == 1
    assert len(deliveries(ledger)) == 4


# ----------------------------------------------------------------------------- signatures
@ANY_DATABASE
def test_a_rotated_secret_and_the_new_one_both_verify_while_both_are_configured(
    database_url: str, tmp_path: Any, ledger: Ledger, admin_token: str
) -> None:
    old, new = new_secret(), new_secret()
    desk = Desk("antwerpen", [old, new])
    settings = api_settings(database_url, tmp_path / "data", [desk], admin_token)
    with TestClient(create_app(settings, ledger)) as client:
        assert deliver(client, desk, checkout_event(), secret=old).status_code == 202
        returned = event("loan.returned", device={"serial": "5CD1234XYZ"})
        assert deliver(client, desk, returned, secret=new).status_code == 202
    # The rotation is over: the old secret is removed from the configuration.
    done = api_settings(database_url, tmp_path / "data", [Desk("antwerpen", [new])], admin_token)
    with TestClient(create_app(done, ledger)) as client:
        again = checkout_event("5CD2000AAA", "B-2")
        assert deliver(client, desk, again, secret=old).status_code == 401
        assert deliver(client, desk, again, secret=new).status_code == 202


@ANY_DATABASE
def test_a_sender_may_send_several_signatures(client: TestClient, antwerpen: Desk) -> None:
    body = checkout_event()
    headers = antwerpen.sign(body)
    stranger = Desk("stranger", [new_secret()]).sign(body, webhook_id=headers["webhook-id"])
    both = f"{stranger['webhook-signature']} {headers['webhook-signature']}"
    response = client.post(WEBHOOK, content=body, headers={**headers, "webhook-signature": both})
    assert response.status_code == 202, response.text


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert (problem["status"], problem["code"]) == (status, code)
    assert problem["type"].endswith("#" + code)
    return problem


@ANY_DATABASE
@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_signature_header_is_401(
    client: TestClient, antwerpen: Desk, missing: str, ledger: Ledger
) -> None:
    body = checkout_event()
    headers = {k: v for k, v in antwerpen.sign(body).items() if k != missing}
    problem = _problem(
        client.post(WEBHOOK, content=body, headers=headers), 401, "invalid_signature"
    )
    assert missing in problem["detail"]
    assert loans(ledger) == []


@ANY_DATABASE
@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h, b: (h, b.replace(b"B-1017", b"B-1018")), id="body-changed"),
        pytest.param(lambda h, b: ({**h, "webhook-id": "msg_other"}, b), id="id-changed"),
        pytest.param(
            lambda h, b: ({**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) - 1)}, b),
            id="timestamp-changed",
        ),
        pytest.param(lambda h, b: ({**h, "webhook-signature": "v1,AAAA"}, b), id="wrong-signature"),
        pytest.param(lambda h, b: ({**h, "webhook-signature": "v1,%%%"}, b), id="not-base64"),
        pytest.param(lambda h, b: ({**h, "webhook-signature": "nonsense"}, b), id="malformed"),
        pytest.param(
            lambda h, b: ({**h, "webhook-signature": "v2," + h["webhook-signature"][3:]}, b),
            id="unknown-version",
        ),
    ],
)
def test_a_wrong_signature_is_401(
    client: TestClient, antwerpen: Desk, tamper: Any, ledger: Ledger
) -> None:
    body = checkout_event()
    headers, sent = tamper(antwerpen.sign(body), body)
    _problem(client.post(WEBHOOK, content=sent, headers=headers), 401, "invalid_signature")
    assert loans(ledger) == []


@ANY_DATABASE
def test_an_unknown_desk_is_401(client: TestClient, ledger: Ledger) -> None:
    stranger = Desk("gent", [new_secret()])
    _problem(deliver(client, stranger, checkout_event()), 401, "invalid_signature")
    assert loans(ledger) == []


@ANY_DATABASE
@pytest.mark.parametrize("minutes", [-6, 6])
def test_a_timestamp_outside_the_tolerance_is_400(
    client: TestClient, antwerpen: Desk, minutes: int, ledger: Ledger
) -> None:
    at = datetime.now(UTC) + timedelta(minutes=minutes)
    problem = _problem(
        deliver(client, antwerpen, checkout_event(), at=at), 400, "timestamp_out_of_tolerance"
    )
    assert "clock" in problem["detail"]
    assert loans(ledger) == []


@ANY_DATABASE
@pytest.mark.parametrize(
    ("header", "value", "code"),
    [
        ("webhook-timestamp", "yesterday", "invalid_timestamp"),
        ("webhook-timestamp", "99999999999999999999", "invalid_timestamp"),
        ("webhook-timestamp", "\u00b2", "invalid_timestamp"),  # a digit to str.isdigit()
        # Seconds beyond the last date Python can hold (9999-12-31): far out of tolerance.
        ("webhook-timestamp", "253402300800", "timestamp_out_of_tolerance"),
        ("webhook-timestamp", "999999999999", "timestamp_out_of_tolerance"),
        ("webhook-id", "has spaces in it", "invalid_webhook_id"),
        ("webhook-id", "x" * 256, "invalid_webhook_id"),
    ],
)
def test_unusable_headers_are_400(
    client: TestClient, antwerpen: Desk, header: str, value: str, code: str
) -> None:
    body = checkout_event()
    # Sent as bytes: a header may carry any Latin-1 character, whatever a client library allows.
    signed = {**antwerpen.sign(body), header: value}
    headers = {k.encode(): v.encode("latin-1") for k, v in signed.items()}
    _problem(client.post(WEBHOOK, content=body, headers=headers), 400, code)


# ----------------------------------------------------------------------------- the payload
@ANY_DATABASE
@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        pytest.param(b"{not json", "#/", id="not-json"),
        pytest.param(json.dumps({"data": {}}).encode(), "#/type", id="no-type"),
        pytest.param(event("loan.stolen", device={"serial": "X"}), "#/type", id="unknown-type"),
        pytest.param(checkout_event(agreed_end="next week"), "#/data/agreed_end", id="bad-date"),
        pytest.param(
            event("loan.returned", device={"serial": "5CD1234XYZ"}, condition="lost"),
            "#/data/condition",
            id="lost-is-not-a-return-condition",
        ),
        pytest.param(
            event("loan.returned", device={}), "#/data/device", id="device-without-reference"
        ),
        pytest.param(checkout_event(needs_date=True), "#/data/needs_date", id="misspelt-field"),
        pytest.param(
            checkout_event(borrower={"id": "B-1", "given_name": "A\x00", "region": "Antwerpen"}),
            "#/data/borrower/given_name",
            id="control-character",
        ),
        pytest.param(
            event("loan.extended", loan="L-99999999999", agreed_end="2030-01-01"),
            "#/data/loan",
            id="loan-id-out-of-range",
        ),
    ],
)
def test_an_invalid_event_is_422_naming_the_field(
    client: TestClient, antwerpen: Desk, body: bytes, pointer: str, ledger: Ledger
) -> None:
    problem = _problem(deliver(client, antwerpen, body), 422, "invalid_input")
    assert pointer in [e["pointer"] for e in problem["errors"]]
    assert pointer.removeprefix("#/").replace("/", ".") in problem["detail"]
    assert loans(ledger) == []


@ANY_DATABASE
def test_the_lifecycle_refusal_is_409_with_its_message(
    client: TestClient, antwerpen: Desk, ledger: Ledger
) -> None:
    assert deliver(client, antwerpen, checkout_event()).status_code == 202
    problem = _problem(
        deliver(client, antwerpen, checkout_event(borrower_id="B-2")), 409, "device_state"
    )
    assert "5CD1234XYZ" in problem["detail"]
    assert "on loan" in problem["detail"]
    wifi = checkout_event("5CD2000AAA", "B-3", needs_data=True)
    _problem(deliver(client, antwerpen, wifi), 409, "connectivity")
    assert len(loans(ledger)) == 1


def test_a_one_day_loan_ends_today(client: TestClient, antwerpen: Desk, ledger: Ledger) -> None:
    # agreed_end is the loan's last day: a loan for today only ends today.
    today = clock.today().isoformat()
    response = deliver(client, antwerpen, checkout_event(agreed_end=today))
    assert response.status_code == 202, response.text
    [loan] = loans(ledger)
    assert loan.agreed_end.isoformat() == today
    yesterday = (clock.today() - timedelta(days=1)).isoformat()
    late = deliver(client, antwerpen, checkout_event("5CD2000AAA", "B-2", agreed_end=yesterday))
    problem = _problem(late, 422, "invalid_input")
    assert f"the agreed end date {yesterday} is before today" in problem["detail"]


@ANY_DATABASE
def test_an_unknown_device_is_404(client: TestClient, antwerpen: Desk, ledger: Ledger) -> None:
    problem = _problem(deliver(client, antwerpen, checkout_event("NOSUCH")), 404, "not_found")
    assert "NOSUCH" in problem["detail"]
    assert loans(ledger) == []


@ANY_DATABASE
def test_input_the_ledger_refuses_is_422(client: TestClient, antwerpen: Desk) -> None:
    body = checkout_event(borrower={"id": "B-1", "given_name": "A", "region": "Atlantis"})
    problem = _problem(deliver(client, antwerpen, body), 422, "invalid_input")
    assert "Atlantis" in problem["detail"]


# ----------------------------------------------------------------------------- body limit
def _big(size: int) -> bytes:
    return checkout_event(course_period="x" * size)


@ANY_DATABASE
def test_a_body_over_64_kib_is_413(client: TestClient, antwerpen: Desk, ledger: Ledger) -> None:
    body = _big(65 * 1024)
    _problem(deliver(client, antwerpen, body), 413, "payload_too_large")
    assert loans(ledger) == []


@ANY_DATABASE
def test_the_limit_holds_without_a_content_length(
    served: str, antwerpen: Desk, ledger: Ledger
) -> None:
    body = _big(200 * 1024)
    headers = antwerpen.sign(body)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    with httpx.Client(base_url=served, timeout=30) as http:
        response = http.post(WEBHOOK, content=chunks(), headers=headers)
    assert "content-length" not in response.request.headers
    _problem(response, 413, "payload_too_large")
    assert count(ledger, Loan) == 0


@ANY_DATABASE
def test_a_body_just_under_the_limit_is_read_whole(client: TestClient, antwerpen: Desk) -> None:
    body = checkout_event(note="x")  # an unknown field: the body got through to validation
    padded = body[:-1] + b" " * (64 * 1024 - len(body)) + b"}"
    assert len(padded) == 64 * 1024
    _problem(deliver(client, antwerpen, padded), 422, "invalid_input")


# ------------------------------------------------------------------------- configuration
@pytest.mark.parametrize(
    ("secrets_", "message"),
    [
        (["not-a-webhook-secret"], "must start with 'whsec_'"),
        (["whsec_***"], "base64"),
    ],
)
def test_an_unusable_secret_is_a_config_error_that_never_shows_it(
    database_url: str, tmp_path: Any, ledger: Ledger, secrets_: list[str], message: str
) -> None:
    from fleetsync.settings import ConfigError

    settings: Settings = api_settings(database_url, tmp_path, [Desk("gent", secrets_)], "a" * 32)
    with pytest.raises(ConfigError, match=message) as raised:
        create_app(settings, ledger)
    assert secrets_[0] not in str(raised.value)


@ANY_DATABASE
def test_two_desks_may_not_share_a_secret(database_url: str, tmp_path: Any, ledger: Ledger) -> None:
    from fleetsync.settings import ConfigError

    shared = new_secret()
    desks = [Desk("gent", [shared]), Desk("brugge", [shared])]
    with pytest.raises(ConfigError, match="each desk needs its own"):
        create_app(api_settings(database_url, tmp_path, desks, "a" * 32), ledger)
