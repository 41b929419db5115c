"""schemathesis against the OpenAPI document: whatever is sent, the answer is never a 5xx, and it
conforms to what the document promises (status, content type, body).

Every operation gets requests as generated (fuzzed headers and tokens: the checks before the
ledger) and requests signed by a desk or carrying the admin token, so that generated events and
loan ids reach the ledger: on SQLite and PostgreSQL for the operations that reach it, on one
database for the others.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
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
from tests.api.conftest import ANY_DATABASE, WEBHOOK, Desk, checkout_event, deliver

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FUZZ = settings(
    max_examples=60,
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
    """A loan, put in the place of the generated loan id now and then."""
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


def _fuzz(
    operation: Operation, client: TestClient, desk: Desk, admin_token: str, loan: str | None
) -> None:
    @given(case=operation.as_strategy(), authentic=st.booleans(), known=st.booleans())
    @FUZZ
    def fuzz(case: AnyCase, authentic: bool, known: bool) -> None:
        if known and loan is not None:
            # Now and then, things that exist: the loan, its device and its borrower.
            given = case.path_parameters or {}
            real = {"loan_id": loan, "ref": "CB-0002", "borrower_id": "B-1017"}
            case.path_parameters = {**given, **{k: v for k, v in real.items() if k in given}}
        if not authentic:
            response = _send(client, case)
        elif case.path == WEBHOOK:
            body = json.dumps(case.as_transport_kwargs().get("json")).encode()
            response = client.post(WEBHOOK, content=body, headers=desk.sign(body))
        else:
            response = _send(client, case, Authorization=f"Bearer {admin_token}")
        case.validate_response(response, checks=CHECKS)

    fuzz()


LEDGER_OPERATIONS = [op for op in OPERATIONS if op.path.startswith(("/webhooks/", "/v1/"))]
OTHER_OPERATIONS = [op for op in OPERATIONS if op not in LEDGER_OPERATIONS]


@pytest.mark.parametrize("operation", LEDGER_OPERATIONS, ids=lambda op: op.label)
def test_no_request_that_reaches_the_ledger_gets_a_5xx(
    operation: Operation, client: TestClient, loan: str, antwerpen: Desk, admin_token: str
) -> None:
    _fuzz(operation, client, antwerpen, admin_token, loan)


@ANY_DATABASE
@pytest.mark.parametrize("operation", OTHER_OPERATIONS, ids=lambda op: op.label)
def test_no_request_elsewhere_gets_a_5xx(
    operation: Operation, client: TestClient, antwerpen: Desk, admin_token: str
) -> None:
    _fuzz(operation, client, antwerpen, admin_token, None)
