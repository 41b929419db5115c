"""The token endpoint and bearer tokens: what Google grants, and what it refuses (tables of
named cases, part of the refusal suite with ``test_refusals.py``)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import google_auth_httplib2
import httpx
import pytest
from google.auth import crypt, jwt
from google.auth.exceptions import RefreshError
from google.oauth2 import credentials as oauth2_credentials
from google.oauth2 import service_account
from googleapiclient.errors import HttpError

from fleetsync.google.errors import GoogleAuthError, GooglePermissionDenied, from_exception
from fleetsync.sandbox.auth import ServiceAccount
from fleetsync.sandbox.handoff import write_oauth_client
from fleetsync.sandbox.state import dump_tenant, load_tenant, save_tenant
from fleetsync.sandbox.testing import RunningSandbox, running_sandbox
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
    """The token endpoint over raw HTTP (httpx), as a form."""
    response = httpx.post(
        sandbox.token_uri,
        content=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    return response.status_code, response.json()


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


# ------------------------------------------------------------ a service account without ``sub``
def test_a_service_account_without_delegation_gets_a_token_and_the_apis_refuse_it(
    sandbox: RunningSandbox,
) -> None:
    """Google issues a token to the account acting as itself (the delegated scopes do not
    apply), and the APIs refuse it as no admin of the tenant."""
    group = AUTH + "admin.directory.group"  # not delegated: it does not matter without a sub
    status, body = _post_token(
        sandbox,
        urlencode({"grant_type": JWT_BEARER, "assertion": _signed(sandbox, sub=None, scope=group)}),
    )
    assert (status, body["token_type"]) == (200, "Bearer")

    itself = service_account.Credentials.from_service_account_file(
        str(sandbox.key_file), scopes=list(GOOGLE_SCOPES)
    )
    http = sandbox.authorized(itself)
    directory = sandbox.discovered("admin", "directory_v1", http=http)
    with pytest.raises(HttpError) as refused:
        directory.users().list(customer="my_customer").execute()
    assert refused.value.status_code == 403
    assert refused.value.error_details[0]["reason"] == "forbidden"
    assert "Not Authorized to access this resource/api" in str(refused.value)
    assert isinstance(from_exception(refused.value), GooglePermissionDenied)
    policy = sandbox.discovered("chromepolicy", "v1", form="host", http=http)
    with pytest.raises(HttpError) as denied:
        policy.customers().policySchemas().list(parent="customers/my_customer").execute()
    assert denied.value.status_code == 403
    assert json.loads(denied.value.content)["error"]["status"] == "PERMISSION_DENIED"


# ----------------------------------------------------------------- installed-app OAuth clients
@dataclass
class Installed:
    """The tenant's installed-app client and an admin's refresh token, as written to files."""

    client_file: Path
    token_file: Path

    @property
    def client(self) -> dict[str, Any]:
        return dict(json.loads(self.client_file.read_text())["installed"])

    @property
    def refresh_token(self) -> str:
        return str(json.loads(self.token_file.read_text())["refresh_token"])

    def form(self, **changes: str | None) -> dict[str, str]:
        form: dict[str, Any] = {
            "grant_type": "refresh_token",
            "client_id": self.client["client_id"],
            "client_secret": self.client["client_secret"],
            "refresh_token": self.refresh_token,
        }
        form.update(changes)
        return {k: v for k, v in form.items() if v is not None}


@pytest.fixture
def installed(sandbox: RunningSandbox, tmp_path: Path) -> Installed:
    return Installed(*write_oauth_client(sandbox.tenant, sandbox.token_uri, tmp_path / "c.json"))


def test_the_client_and_the_refresh_token_are_written_as_google_hands_them_out(
    sandbox: RunningSandbox, installed: Installed
) -> None:
    client = installed.client
    assert client["client_id"].endswith(".apps.googleusercontent.com")
    assert client["client_secret"].startswith("GOCSPX-")
    assert client["token_uri"] == sandbox.token_uri
    assert client["redirect_uris"] == ["http://localhost"]
    user = json.loads(installed.token_file.read_text())
    assert user["type"] == "authorized_user"
    assert (user["client_id"], user["token_uri"]) == (client["client_id"], sandbox.token_uri)
    assert installed.token_file.name == "c.authorized-user.json"
    for path in (installed.client_file, installed.token_file):
        assert oct(path.stat().st_mode & 0o777) == "0o600"
    saved = json.dumps(dump_tenant(sandbox.tenant))
    assert client["client_secret"] in saved, "a restarted sandbox knows its client"
    assert installed.refresh_token not in saved, "the state keeps only a digest of the token"


def test_an_admin_tool_signs_in_with_the_refresh_token(
    sandbox: RunningSandbox, installed: Installed
) -> None:
    """google-auth's own credentials, made from the written file as admin tools make them,
    through a client built from the served document: the calls act as the admin who consented.
    (``Credentials.from_authorized_user_file`` would not do: it ignores the file's token_uri
    and always asks Google.)"""
    info = json.loads(installed.token_file.read_text())
    credentials = oauth2_credentials.Credentials(
        None,
        refresh_token=info["refresh_token"],
        token_uri=info["token_uri"],
        client_id=info["client_id"],
        client_secret=info["client_secret"],
    )
    directory = sandbox.discovered("admin", "directory_v1", http=sandbox.authorized(credentials))
    users = directory.users().list(customer="my_customer").execute()["users"]
    assert [u["primaryEmail"] for u in users] == [sandbox.admin]
    customer = directory.customers().get(customerKey="my_customer").execute()
    assert customer["id"] == sandbox.customer_id, "the admin consented to every served scope"
    calls = [e for e in sandbox.control.log() if e["method"].startswith("directory.")]
    assert [e["user"] for e in calls] == [sandbox.admin] * 2
    assert sandbox.control.counters()["tokenRequests"] == 1


def test_the_refresh_grant_over_raw_http(sandbox: RunningSandbox, installed: Installed) -> None:
    answer = httpx.post(sandbox.token_uri, data=installed.form(scope=AUTH + "admin.directory.user"))
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599
    assert body["scope"] == AUTH + "admin.directory.user", "narrowed to what was asked"
    users = httpx.get(
        sandbox.url + "admin/directory/v1/users?customer=my_customer",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert users.status_code == 200
    devices = httpx.get(
        sandbox.url + DEVICES, headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert devices.status_code == 403, "the token carries only the scope asked for"
    # The client's id and secret may come as HTTP Basic instead of in the form.
    basic = httpx.post(
        sandbox.token_uri,
        data=installed.form(client_id=None, client_secret=None),
        auth=(installed.client["client_id"], installed.client["client_secret"]),
    )
    assert basic.status_code == 200


def _suspend_the_admin(sandbox: RunningSandbox) -> None:
    sandbox.tenant.users.get(sandbox.admin).data["suspended"] = True


REFRESH_REFUSALS = {
    "no-client-id": ({"client_id": None}, None, 400, "invalid_request", "client ID"),
    "unknown-client": ({"client_id": "1-x.apps.googleusercontent.com"}, None, 401,
                       "invalid_client", "The OAuth client was not found."),
    "wrong-secret": ({"client_secret": "GOCSPX-guessed"}, None, 401, "invalid_client",
                     "Unauthorized"),
    "no-refresh-token": ({"refresh_token": None}, None, 400, "invalid_request",
                         "Missing required parameter: refresh_token"),
    "unknown-refresh-token": ({"refresh_token": "1//made-up"}, None, 400, "invalid_grant",
                              "Bad Request"),
    "a-scope-not-granted": ({"scope": AUTH + "gmail.send"}, None, 400, "invalid_scope",
                            "gmail.send"),
    "the-admin-is-suspended": ({}, _suspend_the_admin, 400, "invalid_grant",
                               "Token has been expired or revoked."),
}  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "before", "status", "error", "description"),
    REFRESH_REFUSALS.values(),
    ids=REFRESH_REFUSALS,
)
def test_the_refresh_grant_refuses_as_google_does(
    sandbox: RunningSandbox,
    installed: Installed,
    changes: dict[str, str | None],
    before: Callable[[RunningSandbox], None] | None,
    status: int,
    error: str,
    description: str,
) -> None:
    if before is not None:
        before(sandbox)
    answer = httpx.post(sandbox.token_uri, data=installed.form(**changes))
    assert answer.status_code == status
    body = answer.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error
    assert description in body["error_description"]


def test_the_refresh_token_outlives_a_restart(
    sandbox: RunningSandbox, installed: Installed, tmp_path: Path
) -> None:
    save_tenant(sandbox.tenant, tmp_path / "tenant.json")
    with running_sandbox(tmp_path / "again", tenant=load_tenant(tmp_path / "tenant.json")) as again:
        answer = httpx.post(again.token_uri, data=installed.form())
        assert answer.status_code == 200
