"""The token endpoint and bearer tokens: what Google grants, and what it refuses."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import google_auth_httplib2
import pytest
from google.auth.exceptions import RefreshError
from google.oauth2 import service_account
from googleapiclient.errors import HttpError

from fleetsync.google.errors import GoogleAuthError, GooglePermissionDenied, from_exception
from fleetsync.sandbox.auth import ServiceAccount
from fleetsync.sandbox.testing import RunningSandbox
from fleetsync.settings import GOOGLE_SCOPES
from tests.sandbox.conftest import refusal

AUTH = "https://www.googleapis.com/auth/"
DEVICES = "admin/directory/v1/customer/my_customer/devices/chromeos"


def test_the_key_file_is_a_google_key_whose_token_uri_is_the_sandbox(
    sandbox: RunningSandbox,
) -> None:
    key = json.loads(sandbox.key_file.read_text())
    assert key["type"] == "service_account"
    assert key["token_uri"] == sandbox.url + "token"
    assert key["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert oct(sandbox.key_file.stat().st_mode & 0o777) == "0o600"


def test_a_real_token_exchange_grants_an_hour_long_bearer_token(sandbox: RunningSandbox) -> None:
    http = sandbox.http()
    response, content = http.request(sandbox.url + DEVICES, "GET")
    assert response.status == 200, content
    credentials = http.credentials
    assert credentials.token.startswith("ya29.")
    lifetime = credentials.expiry - datetime.now(UTC).replace(tzinfo=None)
    assert timedelta(minutes=58) < lifetime <= timedelta(hours=1)
    assert sandbox.control.counters()["tokenRequests"] == 1


@pytest.mark.parametrize(
    ("change", "error", "description"),
    [
        pytest.param(
            {"scopes": [*GOOGLE_SCOPES, AUTH + "admin.directory.group"]},
            "unauthorized_client",
            "not authorized for any of the scopes requested",
            id="scope-not-delegated",
        ),
        pytest.param(
            {"subject": "nobody@example.org"},
            "invalid_grant",
            "Invalid email or User ID",
            id="unknown-subject",
        ),
    ],
)
def test_token_refusals(
    sandbox: RunningSandbox, change: dict[str, Any], error: str, description: str
) -> None:
    credentials = sandbox.credentials(**change)
    with pytest.raises(RefreshError) as caught:
        credentials.refresh(google_auth_httplib2.Request(sandbox.raw_http()))
    assert caught.value.args[1]["error"] == error
    assert description in caught.value.args[1]["error_description"]
    mapped = from_exception(caught.value)
    assert isinstance(mapped, GoogleAuthError)
    assert mapped.reason == error


def test_a_delegation_withdrawn_in_the_admin_console_refuses_the_token(
    sandbox: RunningSandbox,
) -> None:
    sandbox.control.delegated_scopes([AUTH + "admin.directory.user"])
    with pytest.raises(RefreshError) as caught:
        sandbox.directory().chromeosdevices().list(customerId="my_customer").execute()
    assert caught.value.args[1]["error"] == "unauthorized_client"


def test_a_key_signed_by_someone_else_is_refused(sandbox: RunningSandbox, tmp_path: Any) -> None:
    forged = ServiceAccount.generate().key_file(sandbox.url + "token")
    key = json.loads(sandbox.key_file.read_text())
    forged["client_email"], forged["private_key_id"] = key["client_email"], key["private_key_id"]
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(forged))
    credentials = service_account.Credentials.from_service_account_file(
        str(path), scopes=list(GOOGLE_SCOPES), subject=sandbox.admin
    )
    with pytest.raises(RefreshError) as caught:
        credentials.refresh(google_auth_httplib2.Request(sandbox.raw_http()))
    assert caught.value.args[1] == {
        "error": "invalid_grant",
        "error_description": "Invalid JWT Signature.",
    }


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        pytest.param({}, "required", id="no-token"),
        pytest.param({"Authorization": "Bearer ya29.made-up"}, "authError", id="unknown-token"),
    ],
)
def test_calls_without_a_valid_token_are_401(
    sandbox: RunningSandbox, headers: dict[str, str], reason: str
) -> None:
    response, content = sandbox.raw_http().request(sandbox.url + DEVICES, "GET", headers=headers)
    assert response.status == 401
    body = json.loads(content)
    assert body["error"]["errors"][0]["reason"] == reason
    assert body["error"]["status"] == "UNAUTHENTICATED"


def test_a_token_without_the_method_scope_is_403(sandbox: RunningSandbox) -> None:
    users_only = sandbox.directory(scopes=[AUTH + "admin.directory.user"])
    with pytest.raises(HttpError) as caught:
        users_only.chromeosdevices().list(customerId="my_customer").execute()
    mapped = refusal(caught.value)
    assert caught.value.status_code == 403
    assert mapped.reason == "insufficientPermissions"
    assert isinstance(mapped, GooglePermissionDenied)


def test_a_user_who_is_no_admin_gets_a_token_but_no_access(sandbox: RunningSandbox) -> None:
    directory = sandbox.directory()
    directory.users().insert(
        body={
            "primaryEmail": "teacher@example.org",
            "name": {"givenName": "Tea", "familyName": "Cher"},
            "password": "correct horse battery",
        }
    ).execute()
    as_teacher = sandbox.directory(subject="teacher@example.org")
    with pytest.raises(HttpError) as caught:
        as_teacher.chromeosdevices().list(customerId="my_customer").execute()
    assert caught.value.status_code == 403
    assert refusal(caught.value).reason == "forbidden"


def test_revoked_tokens_are_refreshed_by_the_client(sandbox: RunningSandbox) -> None:
    directory = sandbox.directory()
    directory.chromeosdevices().list(customerId="my_customer").execute()
    assert sandbox.control.revoke_tokens() == 1
    directory.chromeosdevices().list(customerId="my_customer").execute()  # 401, refresh, retry
    counters = sandbox.control.counters()
    assert counters["tokenRequests"] == 2
    assert counters["statuses"]["directory.chromeosdevices.list 401"] == 1
