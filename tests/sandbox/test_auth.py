"""The token endpoint and bearer tokens: what Google grants, and what it refuses (tables of
named cases, part of the refusal suite with ``test_refusals.py``)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import google_auth_httplib2
import pytest
from google.auth import crypt, jwt
from google.auth.exceptions import RefreshError
from google.oauth2 import service_account

from fleetsync.google.errors import GoogleAuthError, from_exception
from fleetsync.sandbox.auth import ServiceAccount
from fleetsync.sandbox.testing import RunningSandbox
from fleetsync.settings import GOOGLE_SCOPES

AUTH = "https://www.googleapis.com/auth/"
DEVICES = "admin/directory/v1/customer/my_customer/devices/chromeos"
POLICY_SCHEMAS = "v1/customers/my_customer/policySchemas"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


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


# --------------------------------------------------------------------- token endpoint refusals
def _forged_key(sandbox: RunningSandbox, tmp_path: Path) -> service_account.Credentials:
    """A key file naming the tenant's service account, signed by a key that is not its own."""
    forged = ServiceAccount.generate().key_file(sandbox.url + "token")
    key = json.loads(sandbox.key_file.read_text())
    forged["client_email"], forged["private_key_id"] = key["client_email"], key["private_key_id"]
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(forged))
    credentials: service_account.Credentials = (
        service_account.Credentials.from_service_account_file(
            str(path), scopes=list(GOOGLE_SCOPES), subject=sandbox.admin
        )
    )
    return credentials


def _suspended_admin(sandbox: RunningSandbox, tmp_path: Path) -> service_account.Credentials:
    sandbox.directory().users().insert(
        body={
            "primaryEmail": "old.admin@example.org",
            "name": {"givenName": "Old", "familyName": "Admin"},
            "password": "correct horse battery",
            "suspended": True,
        }
    ).execute()
    return sandbox.credentials(subject="old.admin@example.org")


def _withdrawn(sandbox: RunningSandbox, tmp_path: Path) -> service_account.Credentials:
    sandbox.control.delegated_scopes([AUTH + "admin.directory.user"])  # in the Admin console
    return sandbox.credentials()


@pytest.mark.parametrize(
    ("credentials", "error", "description"),
    [
        pytest.param(
            lambda s, _: s.credentials(scopes=[*GOOGLE_SCOPES, AUTH + "admin.directory.group"]),
            "unauthorized_client", "not authorized for any of the scopes requested",
            id="a-scope-not-delegated",
        ),
        pytest.param(
            _withdrawn, "unauthorized_client", "not authorized for any of the scopes",
            id="delegation-withdrawn",
        ),
        pytest.param(
            lambda s, _: s.credentials(subject="nobody@example.org"), "invalid_grant",
            "Invalid email or User ID", id="unknown-subject",
        ),
        pytest.param(
            _suspended_admin, "invalid_grant", "Invalid email or User ID",
            id="suspended-subject",
        ),
        pytest.param(_forged_key, "invalid_grant", "Invalid JWT Signature.", id="bad-signature"),
    ],
)  # fmt: skip
def test_google_auth_is_refused_a_token(
    sandbox: RunningSandbox,
    tmp_path: Path,
    credentials: Callable[[RunningSandbox, Path], service_account.Credentials],
    error: str,
    description: str,
) -> None:
    refused = credentials(sandbox, tmp_path)
    asked = sandbox.control.counters()["tokenRequests"]
    with pytest.raises(RefreshError) as caught:
        refused.refresh(google_auth_httplib2.Request(sandbox.raw_http()))
    body = caught.value.args[1]
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error
    assert description in body["error_description"]
    mapped = from_exception(caught.value)
    assert isinstance(mapped, GoogleAuthError)
    assert mapped.reason == error
    assert sandbox.control.counters()["tokenRequests"] == asked + 1


def _post_token(sandbox: RunningSandbox, form: str) -> tuple[int, dict[str, Any]]:
    response, content = sandbox.raw_http().request(
        sandbox.token_uri,
        "POST",
        form,
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    return response.status, json.loads(content)


def _signed(sandbox: RunningSandbox, **claims: Any) -> str:
    """A JWT signed with the tenant's own key, with these claims changed (None drops one)."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": json.loads(sandbox.key_file.read_text())["client_email"],
        "aud": "https://oauth2.googleapis.com/token",
        "scope": " ".join(GOOGLE_SCOPES),
        "sub": sandbox.admin,
        "iat": now,
        "exp": now + 3600,
    }
    for name, value in claims.items():
        if value is None:
            payload.pop(name)
        else:
            payload[name] = value
    signer = crypt.RSASigner.from_service_account_file(str(sandbox.key_file))
    return str(jwt.encode(signer, payload).decode())


HOUR = 3600


@pytest.mark.parametrize(
    ("form", "status", "error", "description"),
    [
        pytest.param(
            lambda s: {"grant_type": JWT_BEARER, "assertion": _signed(
                s, scope=" ".join([*GOOGLE_SCOPES, AUTH + "admin.directory.group"]))},
            401, "unauthorized_client", "not authorized for any of the scopes",
            id="a-scope-not-delegated",
        ),
        pytest.param(
            lambda s: {"grant_type": JWT_BEARER, "assertion": _signed(s, sub="x@example.org")},
            400, "invalid_grant", "Invalid email or User ID", id="unknown-subject",
        ),
        pytest.param(
            lambda s: {"grant_type": JWT_BEARER, "assertion": _signed(s, sub=None)}, 401,
            "unauthorized_client", "no 'sub'", id="no-subject-no-delegation",
        ),
        pytest.param(
            lambda s: {"grant_type": JWT_BEARER, "assertion": _signed(s, aud="https://x.test/")},
            400, "invalid_grant", "Failed audience check", id="wrong-audience",
        ),
        pytest.param(
            lambda s: {"grant_type": JWT_BEARER, "assertion": _signed(
                s, iat=int(time.time()) - 3 * HOUR, exp=int(time.time()) - 2 * HOUR)},
            400, "invalid_grant", "Token must be a short-lived token", id="expired",
        ),
        pytest.param(
            lambda s: {"grant_type": JWT_BEARER, "assertion": _signed(
                s, exp=int(time.time()) + 2 * HOUR)},
            400, "invalid_grant", "Token must be a short-lived token", id="lives-too-long",
        ),
        pytest.param(
            lambda s: {"grant_type": JWT_BEARER,
                       "assertion": _signed(s, iss="someone@else.iam.gserviceaccount.com")},
            400, "invalid_grant", "account not found", id="another-issuer",
        ),
        pytest.param(
            lambda s: {"grant_type": JWT_BEARER, "assertion": _signed(s, scope=None)},
            400, "invalid_scope", "Invalid OAuth scope", id="no-scope",
        ),
        pytest.param(
            lambda s: {"grant_type": "client_credentials", "assertion": _signed(s)},
            400, "unsupported_grant_type", "Invalid grant_type", id="another-grant-type",
        ),
        pytest.param(
            lambda s: {"grant_type": JWT_BEARER, "assertion": "not.a-jwt"},
            400, "invalid_grant", "Invalid JWT", id="not-a-jwt",
        ),
    ],
)  # fmt: skip
def test_the_token_endpoint_refuses_a_bad_assertion(
    sandbox: RunningSandbox,
    form: Callable[[RunningSandbox], dict[str, str]],
    status: int,
    error: str,
    description: str,
) -> None:
    got, body = _post_token(sandbox, urlencode(form(sandbox)))
    assert got == status
    assert body["error"] == error
    assert description in body["error_description"]


def test_the_assertion_google_auth_makes_is_granted(sandbox: RunningSandbox) -> None:
    status, body = _post_token(
        sandbox, urlencode({"grant_type": JWT_BEARER, "assertion": _signed(sandbox)})
    )
    assert status == 200
    assert body["token_type"] == "Bearer"


# ------------------------------------------------------------------------- API call refusals
def _users_only(s: RunningSandbox) -> Any:
    return s.http(scopes=[AUTH + "admin.directory.user"]).request(s.url + DEVICES, "GET")


def _read_only_write(s: RunningSandbox) -> Any:
    readonly = AUTH + "admin.directory.device.chromeos.readonly"
    s.control.delegated_scopes([*GOOGLE_SCOPES, readonly])
    http = s.http(scopes=[readonly])
    listed, _ = http.request(s.url + DEVICES, "GET")
    assert listed.status == 200, "the read-only scope reads"
    device_id = s.tenant.devices.devices[0].device_id
    return http.request(
        s.url + f"{DEVICES}/{device_id}",
        "PATCH",
        json.dumps({"notes": "x"}),
        {"Content-Type": "application/json"},
    )


def _teacher(s: RunningSandbox) -> Any:
    s.directory().users().insert(
        body={
            "primaryEmail": "teacher@example.org",
            "name": {"givenName": "Tea", "familyName": "Cher"},
            "password": "correct horse battery",
        }
    ).execute()
    # Google grants the token (delegation may impersonate anyone in the domain); the API refuses.
    return s.http(subject="teacher@example.org").request(s.url + DEVICES, "GET")


@pytest.mark.parametrize(
    ("call", "status", "reason", "api"),
    [
        pytest.param(
            lambda s: s.raw_http().request(s.url + DEVICES, "GET"), 401, "required", "admin",
            id="no-token",
        ),
        pytest.param(
            lambda s: s.raw_http().request(
                s.url + DEVICES, "GET", headers={"Authorization": "Bearer ya29.made-up"}
            ), 401, "authError", "admin", id="unknown-token",
        ),
        pytest.param(
            lambda s: s.raw_http().request(s.url + POLICY_SCHEMAS, "GET"), 401,
            "UNAUTHENTICATED", "chromepolicy", id="no-token-chrome-policy",
        ),
        pytest.param(
            _users_only, 403, "insufficientPermissions", "admin", id="token-without-the-scope"
        ),
        pytest.param(
            _read_only_write, 403, "insufficientPermissions", "admin",
            id="read-only-scope-for-a-write",
        ),
        pytest.param(
            lambda s: s.http(scopes=[AUTH + "admin.directory.user"]).request(
                s.url + POLICY_SCHEMAS, "GET"), 403, "PERMISSION_DENIED", "chromepolicy",
            id="token-without-the-policy-scope",
        ),
        pytest.param(_teacher, 403, "forbidden", "admin", id="a-subject-who-is-no-admin"),
    ],
)  # fmt: skip
def test_an_api_call_needs_a_token_with_the_method_scope_for_an_admin(
    sandbox: RunningSandbox,
    call: Callable[[RunningSandbox], tuple[Any, bytes]],
    status: int,
    reason: str,
    api: str,
) -> None:
    sandbox.tenant.orgunits.ensure_path("/Chromebooks")
    sandbox.control.seed_devices(1)
    response, content = call(sandbox)
    assert response.status == status
    error = json.loads(content)["error"]
    assert error["code"] == status
    if api == "admin":
        assert error["errors"][0]["reason"] == reason
    else:
        assert error["status"] == reason
    if status == 401:
        assert response["www-authenticate"].startswith("Bearer")


def test_revoked_tokens_are_refreshed_by_the_client(sandbox: RunningSandbox) -> None:
    directory = sandbox.directory()
    directory.chromeosdevices().list(customerId="my_customer").execute()
    assert sandbox.control.revoke_tokens() == 1
    directory.chromeosdevices().list(customerId="my_customer").execute()  # 401, refresh, retry
    counters = sandbox.control.counters()
    assert counters["tokenRequests"] == 2
    assert counters["statuses"]["directory.chromeosdevices.list 401"] == 1
