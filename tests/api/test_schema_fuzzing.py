"""schemathesis against the OpenAPI document: whatever is sent, the answer is never a 5xx, and it
conforms to what the document promises (status, content type, body).

Two passes over every operation: the requests as generated (fuzzed headers and tokens: the
checks before the ledger), and the same requests signed by a desk or carrying the admin token, so
that generated events and loan ids reach the ledger, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import APIOperation, Case
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from fleetsync.api import create_app
from fleetsync.ledger import Ledger
from fleetsync.settings import Settings
from tests.api.conftest import WEBHOOK, Desk, checkout_event, deliver

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _document() -> dict[str, Any]:
    # The document depends on no configuration and no database: build it once, for collection.
    # (schemathesis' own pytest loader, from_fixture, does not run on pytest 9.)
    app = create_app(Settings(), Ledger(sa.create_engine("sqlite://")))
    return app.openapi()


Operation = APIOperation[Any, Any, Any, Any]
AnyCase = Case[Any]


def _operations() -> list[Operation]:
    found = []
    for result in schemathesis.openapi.from_dict(_document()).get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # the document itself is broken
        found.append(result.ok())
    return found


OPERATIONS = _operations()


@pytest.fixture
def loan(client: TestClient, antwerpen: Desk) -> str:
    """A loan (L-1), so that generated loan ids find one now and then."""
    response = deliver(client, antwerpen, checkout_event("5CD2000AAA"))
    assert response.status_code == 202
    loan: str = response.json()["loan"]
    return loan


def _send(client: TestClient, case: AnyCase, **extra_headers: str) -> Any:
    """The generated request, its JSON body encoded as any client would."""
    request = case.as_transport_kwargs(base_url="http://testserver")
    body = json.dumps(request["json"]).encode() if "json" in request else None
    return client.request(
        request["method"],
        request["url"],
        headers={**request["headers"], **extra_headers},
        params=request.get("params"),
        content=body,
    )


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_no_generated_request_gets_a_5xx(
    operation: Operation, client: TestClient, loan: str
) -> None:
    @given(case=operation.as_strategy())
    @FUZZ
    def fuzz(case: AnyCase) -> None:
        case.validate_response(_send(client, case), checks=CHECKS)

    fuzz()


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_no_signed_or_authorised_request_gets_a_5xx(
    operation: Operation, client: TestClient, loan: str, antwerpen: Desk, admin_token: str
) -> None:
    @given(case=operation.as_strategy())
    @FUZZ
    def fuzz(case: AnyCase) -> None:
        if case.path == WEBHOOK:
            body = json.dumps(case.as_transport_kwargs().get("json")).encode()
            response = client.post(WEBHOOK, content=body, headers=antwerpen.sign(body))
        else:
            response = _send(client, case, Authorization=f"Bearer {admin_token}")
        case.validate_response(response, checks=CHECKS)

    fuzz()
