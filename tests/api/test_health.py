"""``/livez``, ``/readyz`` and ``/metrics``."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from fleetsync.api import create_app
from fleetsync.ledger import Ledger, create_ledger_engine, open_ledger
from fleetsync.ledger.migrate import schema_version
from fleetsync.settings import Settings
from tests.api.conftest import ANY_DATABASE, Desk, checkout_event, deliver, event


def test_livez_and_readyz(client: TestClient, ledger: Ledger) -> None:
    assert client.get("/livez").json() == {"status": "live", "schema_revision": None}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "schema_revision": schema_version(ledger.engine).head,
    }


def test_not_ready_while_the_schema_is_behind(settings: Settings) -> None:
    with (
        open_ledger(settings, upgrade=False) as empty,
        TestClient(create_app(settings, empty)) as client,
    ):
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["code"] == "schema_not_current"
        assert "fleetsync db upgrade" in response.json()["detail"]
        assert client.get("/livez").status_code == 200


def test_not_ready_without_a_database(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, database_url="postgresql+psycopg://nobody@127.0.0.1:1/nothing"
    )
    unreachable = Ledger(create_ledger_engine(settings.effective_database_url))
    with TestClient(create_app(settings, unreachable)) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["code"] == "ledger_unreachable"
    unreachable.close()


def _sample(text: str, name: str, **labels: str) -> float:
    """One sample of the Prometheus text format (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(rf"{re.escape(name)}(?:\{{(.*)\}})? (\S+)", line)
        if match and ",".join(sorted((match.group(1) or "").split(","))).strip(",") == wanted:
            return float(match.group(2))
    return 0.0


@ANY_DATABASE
def test_metrics_count_events_by_type_and_outcome_and_show_the_outbox(
    settings: Settings, ledger: Ledger, antwerpen: Desk, admin_token: str
) -> None:
    admin = {"Authorization": f"Bearer {admin_token}"}
    # No drain in this process: the outbox keeps what the webhooks write.
    with TestClient(create_app(settings, ledger)) as client:
        before = client.get("/metrics", headers=admin).text
        assert deliver(client, antwerpen, checkout_event()).status_code == 202
        assert deliver(client, antwerpen, checkout_event(borrower_id="B-2")).status_code == 409
        assert deliver(client, antwerpen, b"{}").status_code == 422
        after = client.get("/metrics", headers=admin)
    assert after.status_code == 200
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text
    events = "fleetsync_webhook_events_total"
    for type_, outcome in [
        ("loan.checked_out", "accepted"),
        ("loan.checked_out", "refused"),
        ("unknown", "invalid"),
    ]:
        grew = _sample(text, events, type=type_, outcome=outcome) - _sample(
            before, events, type=type_, outcome=outcome
        )
        assert grew == 1, (type_, outcome)
    # The checkout woke the device and the borrower; the device import woke three devices.
    assert _sample(text, "fleetsync_outbox_depth") == 5
    # Two deliveries reached the ledger (the invalid one did not), one after the other.
    batches = "fleetsync_webhook_batch_size_count"
    assert _sample(text, batches) - _sample(before, batches) == 2
    for name in ("fleetsync_google_calls_total", "fleetsync_reconcile_duration_seconds"):
        assert f"# TYPE {name.removesuffix('_total')}" in text


@ANY_DATABASE
def test_metrics_need_an_admin_token(client: TestClient, antwerpen: Desk) -> None:
    assert client.get("/metrics").status_code == 401
    response = client.get("/metrics", headers=antwerpen.auth)
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")


@ANY_DATABASE
def test_unknown_routes_and_methods_are_problems_too(client: TestClient) -> None:
    missing = client.get("/v2/nothing")
    assert (missing.status_code, missing.headers["content-type"]) == (
        404,
        "application/problem+json",
    )
    wrong = client.get("/webhooks/loan-desk")
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "method_not_allowed"


@ANY_DATABASE
def test_a_database_failure_is_a_500_that_tells_nothing(
    settings: Settings, antwerpen: Desk, tmp_path: Path
) -> None:
    with open_ledger(settings) as ledger:
        with ledger.transaction() as session:
            session.execute(sa.text("DROP TABLE webhook_deliveries"))
        client = TestClient(create_app(settings, ledger), raise_server_exceptions=False)
        with client:
            body = event("loan.returned", device={"serial": "5CD1234XYZ"})
            response = deliver(client, antwerpen, body)
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "webhook_deliveries" not in response.text
