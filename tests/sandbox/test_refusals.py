"""The sandbox refuses what Google refuses, with Google's status, reason and error body.

Each table row is a named case: a call (through Google's own client where the client lets it
through, as raw HTTP with a real token where the client would refuse it before sending), and the
answer Google gives. The Directory API answers in the "apiary" shape (``error.errors[].reason``),
the Chrome Policy API in the gRPC shape (``error.status``). The token endpoint's refusals and the
401/403 of a missing or too narrow token are in ``test_auth.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from googleapiclient.errors import HttpError

from fleetsync.sandbox.testing import RunningSandbox, running_sandbox
from tests.sandbox.conftest import policy_target

CUSTOMER = "my_customer"
POLICY_CUSTOMER = "customers/my_customer"
DEVICES = "admin/directory/v1/customer/my_customer/devices/chromeos"
INSTALL = "chrome.users.apps.InstallType"
BOOKMARKS = "chrome.users.ManagedBookmarksSetting"
MEET = "web:https://meet.google.com/"
ACTION = "CHANGE_CHROME_OS_DEVICE_STATUS_ACTION_"


@dataclass
class Ctx:
    """The agency's tenant with /Students/Antwerpen, a student, and one deprovisioned device."""

    sandbox: RunningSandbox
    directory: Any
    policy: Any
    http: Any
    ids: list[str]
    students: str
    antwerpen: str

    def raw(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        """A request as Google's client would send it, but with exactly these parameters."""
        data = body if isinstance(body, str | bytes) or body is None else json.dumps(body)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        response, content = self.http.request(self.sandbox.url + path, method, data, headers)
        return response.status, content

    def chromeos(self) -> Any:
        return self.directory.customer().devices().chromeos()


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Ctx]:
    with running_sandbox(tmp_path / "sandbox", fleet="agency") as sandbox:
        directory = sandbox.directory()
        tenant = sandbox.tenant
        antwerpen = tenant.orgunits.ensure_path("/Students/Antwerpen")
        directory.users().insert(body=student("amira@example.org")).execute()
        ids = [d.device_id for d in tenant.devices.devices[:60]]
        directory.customer().devices().chromeos().batchChangeStatus(
            customerId=CUSTOMER,
            body={
                "deviceIds": [ids[-1]],
                "changeChromeOsDeviceStatusAction": ACTION + "DEPROVISION",
                "deprovisionReason": "DEPROVISION_REASON_RETIRING_DEVICE",
            },
        ).execute()
        sandbox.control.reset_counters()
        yield Ctx(
            sandbox=sandbox,
            directory=directory,
            policy=sandbox.policy(),
            http=sandbox.http(),
            ids=ids,
            students=tenant.orgunits.get("/Students").ou_id,
            antwerpen=antwerpen.ou_id,
        )


def student(email: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "primaryEmail": email,
        "name": {"givenName": "Amira", "familyName": "Haddad"},
        "password": "a-first-password-1",
    }
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def answer(ctx: Ctx, call: Callable[[Ctx], Any]) -> tuple[int, dict[str, Any]]:
    """Status and JSON body of a call that must fail (client call or ``ctx.raw``)."""
    try:
        result = call(ctx)
    except HttpError as error:
        return error.status_code, json.loads(error.content)
    assert isinstance(result, tuple), f"the call was not refused: {result!r}"
    status, content = result
    return status, json.loads(content)


def assert_directory_error(body: dict[str, Any], status: int, reason: str, words: str) -> None:
    error = body["error"]
    assert error["code"] == status
    assert words in error["message"]
    [item] = error["errors"]
    assert item["reason"] == reason
    assert item["message"] == error["message"]
    assert item["domain"] == "global"


def assert_policy_error(body: dict[str, Any], status: int, grpc: str, words: str) -> None:
    error = body["error"]
    assert error["code"] == status
    assert error["status"] == grpc
    assert words in error["message"]
    assert "errors" not in error, "the Chrome Policy API answers in the gRPC shape"
    if grpc == "INVALID_ARGUMENT":
        [detail] = error["details"]
        assert detail["@type"] == "type.googleapis.com/google.rpc.BadRequest"


def _page_token_of_another_query(c: Ctx) -> Any:
    devices = c.directory.chromeosdevices()
    first = devices.list(customerId=CUSTOMER, maxResults=1, orgUnitPath="Chromebooks/Staging")
    token = first.execute()["nextPageToken"]
    return devices.list(customerId=CUSTOMER, maxResults=1, pageToken=token).execute()


def _status_change(ids: list[str], action: str, reason: str | None = None) -> Any:
    def call(c: Ctx) -> Any:
        body: dict[str, Any] = {"deviceIds": ids, "changeChromeOsDeviceStatusAction": action}
        if reason is not None:
            body["deprovisionReason"] = reason
        return c.chromeos().batchChangeStatus(customerId=CUSTOMER, body=body).execute()

    return call


def _command(device: int, body: dict[str, Any]) -> Any:
    def call(c: Ctx) -> Any:
        chromeos = c.chromeos()
        return chromeos.issueCommand(customerId=CUSTOMER, deviceId=c.ids[device], body=body)

    return lambda c: call(c).execute()


def _insert_org_unit(name: str, parent: str) -> Any:
    def call(c: Ctx) -> Any:
        body = {"name": name, "parentOrgUnitPath": parent}
        return c.directory.orgunits().insert(customerId=CUSTOMER, body=body).execute()

    return call


D = pytest.param
DIRECTORY_REFUSALS = [
    # ------------------------------------------------------------------ limits and paging
    D(lambda c: c.directory.chromeosdevices().list(customerId=CUSTOMER, maxResults=301)
      .execute(), 400, "invalid", "within the range: [1, 300]", id="devices-maxResults-301"),
    D(lambda c: c.directory.chromeosdevices().list(customerId=CUSTOMER, maxResults=0).execute(),
      400, "invalid", "within the range", id="devices-maxResults-0"),
    D(lambda c: c.directory.users().list(customer=CUSTOMER, maxResults=501).execute(),
      400, "invalid", "within the range: [1, 500]", id="users-maxResults-501"),
    D(lambda c: c.directory.chromeosdevices().list(customerId=CUSTOMER, pageToken="garbage")
      .execute(), 400, "invalid", "pageToken", id="page-token-garbage"),
    D(_page_token_of_another_query, 400, "invalid", "pageToken",
      id="page-token-of-another-query"),
    D(lambda c: c.directory.users().list(customer=CUSTOMER, pageToken="bm90IGEgdG9rZW4")
      .execute(), 400, "invalid", "pageToken", id="users-page-token-garbage"),
    D(lambda c: c.directory.chromeosdevices().list(customerId=CUSTOMER,
      includeChildOrgunits=True).execute(), 400, "invalid", "requires orgUnitPath",
      id="include-children-without-org-unit"),
    D(lambda c: c.raw("GET", DEVICES + "?colour=red"), 400, "invalid", 'Unknown name "colour"',
      id="unknown-query-parameter"),
    D(lambda c: c.raw("GET", DEVICES + "?projection=EVERYTHING"), 400, "invalid",
      "Values must be one of", id="projection-not-in-enum"),
    D(lambda c: c.raw("GET", DEVICES + "?maxResults=many"), 400, "invalid", "not an integer",
      id="maxResults-not-a-number"),
    # -------------------------------------------------------------------------- devices
    D(lambda c: c.directory.chromeosdevices().get(customerId=CUSTOMER, deviceId="nope")
      .execute(), 404, "notFound", "Resource Not Found: deviceId", id="device-unknown"),
    D(lambda c: c.directory.chromeosdevices().patch(customerId=CUSTOMER, deviceId=c.ids[0],
      body={"colour": "red"}).execute(), 400, "invalid", 'Unknown name "colour"',
      id="patch-unknown-field"),
    D(lambda c: c.directory.chromeosdevices().patch(customerId=CUSTOMER, deviceId=c.ids[0],
      body={"annotatedUser": "x" * 101}).execute(), 400, "invalid", "longer than 100",
      id="patch-annotated-user-too-long"),
    D(lambda c: c.directory.chromeosdevices().moveDevicesToOu(customerId=CUSTOMER,
      orgUnitPath="/Students", body={"deviceIds": c.ids[:51]}).execute(), 400, "invalid",
      "at most 50", id="move-51-devices"),
    D(lambda c: c.raw("POST", DEVICES + "/moveDevicesToOu", {"deviceIds": c.ids[:1]}),
      400, "required", "Required parameter: orgUnitPath", id="move-without-org-unit"),
    D(lambda c: c.directory.chromeosdevices().moveDevicesToOu(customerId=CUSTOMER,
      orgUnitPath="/Students", body={}).execute(), 400, "required",
      "Missing required field: deviceIds", id="move-without-device-ids"),
    D(lambda c: c.directory.chromeosdevices().moveDevicesToOu(customerId=CUSTOMER,
      orgUnitPath="/Nowhere", body={"deviceIds": c.ids[:1]}).execute(), 400, "invalid",
      "INVALID_OU_ID", id="move-to-an-unknown-org-unit"),
    # ---------------------------------------------------------- status changes, commands
    D(lambda c: _status_change(c.ids[:51], ACTION + "DISABLE")(c), 400, "invalid",
      "at most 50", id="status-change-51-devices"),
    D(lambda c: _status_change([], ACTION + "DISABLE")(c), 400, "required", "deviceIds",
      id="status-change-without-devices"),
    D(lambda c: _status_change(c.ids[:1], ACTION + "UNSPECIFIED")(c), 400, "required",
      "changeChromeOsDeviceStatusAction", id="status-change-unspecified-action"),
    D(lambda c: _status_change(c.ids[:1], ACTION + "EXPLODE")(c), 400, "invalid",
      "enum", id="status-change-action-not-in-enum"),
    D(lambda c: _status_change(c.ids[:1], ACTION + "DEPROVISION")(c), 400, "required",
      "deprovisionReason", id="deprovision-without-reason"),
    D(lambda c: _status_change(c.ids[:1], ACTION + "DEPROVISION",
      "DEPROVISION_REASON_UNSPECIFIED")(c), 400, "required", "deprovisionReason",
      id="deprovision-reason-unspecified"),
    D(_command(0, {}), 400, "required", "commandType", id="command-without-type"),
    D(_command(0, {"commandType": "SELF_DESTRUCT"}), 400, "invalid", "enum",
      id="command-type-not-in-enum"),
    D(_command(0, {"commandType": "SET_VOLUME"}), 400, "required", "payload",
      id="set-volume-without-payload"),
    D(_command(0, {"commandType": "SET_VOLUME", "payload": '{"volume": 140}'}), 400, "invalid",
      "0..100", id="set-volume-out-of-range"),
    D(_command(0, {"commandType": "REBOOT", "payload": "{}"}), 400, "invalid",
      "takes no payload", id="payload-on-a-reboot"),
    D(_command(-1, {"commandType": "REMOTE_POWERWASH"}), 400, "invalid", "deprovisioned",
      id="command-to-a-deprovisioned-device"),
    D(lambda c: c.chromeos().commands().get(customerId=CUSTOMER, deviceId=c.ids[0],
      commandId="123").execute(), 404, "notFound", "commandId", id="command-unknown"),
    # ---------------------------------------------------------------------------- users
    D(lambda c: c.directory.users().insert(body=student("omar@example.org", name=None))
      .execute(), 400, "required", "Missing required field: name", id="insert-without-name"),
    D(lambda c: c.directory.users().insert(body=student("omar@example.org",
      name={"familyName": "Diallo"})).execute(), 400, "required", "name.givenName",
      id="insert-without-given-name"),
    D(lambda c: c.directory.users().insert(body=student("omar@example.org", password=None))
      .execute(), 400, "required", "password", id="insert-without-password"),
    D(lambda c: c.directory.users().insert(body=student("omar@example.org", primaryEmail=None))
      .execute(), 400, "required", "primaryEmail", id="insert-without-address"),
    D(lambda c: c.directory.users().insert(body=student("omar@example.org",
      name={"givenName": "Omar", "familyName": "D" * 61})).execute(), 400, "invalid",
      "FamilyName", id="insert-family-name-over-60"),
    D(lambda c: c.directory.users().insert(body=student("omar@example.org", password="short"))
      .execute(), 400, "invalid", "Invalid Password", id="insert-password-too-short"),
    D(lambda c: c.directory.users().insert(body=student("omar@elsewhere.org")).execute(),
      400, "invalid", "Domain not found", id="insert-in-another-domain"),
    D(lambda c: c.directory.users().insert(body=student("amira@example.org")).execute(),
      409, "duplicate", "Entity already exists", id="insert-a-taken-address"),
    D(lambda c: c.directory.users().insert(body=student("AMIRA@example.org")).execute(),
      409, "duplicate", "Entity already exists", id="insert-a-taken-address-in-capitals"),
    D(lambda c: c.directory.users().insert(body=student("omar@example.org",
      orgUnitPath="/Nowhere")).execute(), 400, "invalid", "INVALID_OU_ID",
      id="insert-into-an-unknown-org-unit"),
    D(lambda c: c.directory.users().get(userKey="nobody@example.org").execute(), 404,
      "notFound", "userKey", id="user-unknown"),
    D(lambda c: c.directory.users().list().execute(), 400, "badRequest", "Bad Request",
      id="users-list-without-customer-or-domain"),
    D(lambda c: c.directory.users().list(domain="elsewhere.org").execute(), 400, "invalid",
      "Domain not found", id="users-list-another-domain"),
    # ------------------------------------------------------------------------ org units
    D(lambda c: c.directory.orgunits().get(customerId=CUSTOMER, orgUnitPath="Nowhere")
      .execute(), 404, "notFound", "orgUnitPath", id="org-unit-unknown"),
    D(lambda c: c.directory.orgunits().insert(customerId=CUSTOMER, body={"name": "Orphan"})
      .execute(), 400, "required", "parentOrgUnitPath", id="org-unit-without-parent"),
    # Google's answers, as GAM reads them: "Invalid Ou Id" is "already exists" on an insert.
    D(_insert_org_unit("Antwerpen", "/Students"), 400, "invalid", "Invalid Ou Id",
      id="insert-an-org-unit-that-exists"),
    D(_insert_org_unit("ANTWERPEN", "/students"), 400, "invalid", "Invalid Ou Id",
      id="insert-an-org-unit-that-exists-in-other-case"),
    D(_insert_org_unit("Gent", "/Nowhere"), 400, "invalid", "Invalid Parent Orgunit Id",
      id="insert-under-an-unknown-parent"),
    D(_insert_org_unit("Gent/Oost", "/Students"), 400, "invalid", "Invalid Ou Name",
      id="insert-a-name-with-a-slash"),
    D(lambda c: c.directory.orgunits().delete(customerId=CUSTOMER,
      orgUnitPath="Chromebooks/Staging").execute(), 400, "invalid", "still holds devices",
      id="delete-an-org-unit-with-devices"),
    D(lambda c: c.directory.orgunits().delete(customerId=CUSTOMER, orgUnitPath="Chromebooks")
      .execute(), 400, "invalid", "child org units", id="delete-an-org-unit-with-children"),
    # --------------------------------------------------------------------------- global
    D(lambda c: c.directory.chromeosdevices().list(customerId="C0someoneelse").execute(),
      403, "forbidden", "Not Authorized", id="another-customer"),
    D(lambda c: c.raw("POST", "admin/directory/v1/users", "{not json"), 400, "parseError",
      "Invalid JSON payload", id="body-not-json"),
    D(lambda c: c.raw("GET", "admin/directory/v1/nothing/here"), 404, "notFound",
      "serves no GET", id="no-such-path"),
    D(lambda c: c.raw("POST", DEVICES + f"/{c.ids[0]}/action", {"action": "disable"}), 501,
      "notImplemented", "directory.chromeosdevices.action", id="a-method-not-implemented"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "status", "reason", "words"), DIRECTORY_REFUSALS)
def test_directory_refusal(
    ctx: Ctx, call: Callable[[Ctx], Any], status: int, reason: str, words: str
) -> None:
    before = ctx.sandbox.tenant.version
    got, body = answer(ctx, call)
    assert got == status, body
    assert_directory_error(body, status, reason, words)
    assert ctx.sandbox.tenant.version == before, "a refused call changes nothing"


def _modify(*requests: tuple[str, str, dict[str, str], dict[str, Any]]) -> Any:
    """batchModify of (org unit, schema, additional keys, value) requests."""

    def call(c: Ctx) -> Any:
        # "id:students": the students' id as the Directory API writes it, which this API refuses.
        ou_ids = {"students": c.students, "id:students": f"id:{c.students}"}
        body = {
            "requests": [
                {
                    "policyTargetKey": policy_target(ou_ids.get(ou, ou), **keys),
                    "policyValue": {"policySchema": schema, "value": value},
                    "updateMask": ",".join(value),
                }
                for ou, schema, keys, value in requests
            ]
        }
        orgunits = c.policy.customers().policies().orgunits()
        return orgunits.batchModify(customer=POLICY_CUSTOMER, body=body).execute()

    return call


def _inherit(*requests: tuple[str, dict[str, str]]) -> Any:
    def call(c: Ctx) -> Any:
        body = {
            "requests": [
                {"policyTargetKey": policy_target(c.students, **keys), "policySchema": schema}
                for schema, keys in requests
            ]
        }
        orgunits = c.policy.customers().policies().orgunits()
        return orgunits.batchInherit(customer=POLICY_CUSTOMER, body=body).execute()

    return call


def _resolve(**body: Any) -> Any:
    def call(c: Ctx) -> Any:
        full = {"policyTargetKey": policy_target(c.students), **body}
        policies = c.policy.customers().policies()
        return policies.resolve(customer=POLICY_CUSTOMER, body=full).execute()

    return call


FORCED = {"appInstallType": "FORCED"}
LINKS = {"managedBookmarks": {"toplevelName": "Cursus", "bookmarks": []}}
APP = {"app_id": MEET}
POLICY_REFUSALS = [
    D(_modify(("students", INSTALL, APP, FORCED), ("students", BOOKMARKS, {}, LINKS)), 400,
      "INVALID_ARGUMENT", "share a root namespace", id="two-namespaces-in-one-call"),
    D(_inherit(("chrome.users.apps.*", APP), ("chrome.users.apps.*", {})), 400,
      "INVALID_ARGUMENT", "same additionalTargetKeys names", id="different-key-names"),
    D(_modify(("students", INSTALL, APP, FORCED), ("students", INSTALL, APP, FORCED)), 400,
      "INVALID_ARGUMENT", "same policySchema and target", id="the-same-pair-twice"),
    D(_modify(("students", "chrome.users.Teleport", {}, {"enabled": True})), 400,
      "INVALID_ARGUMENT", "not found", id="unknown-schema"),
    D(_modify(("students", INSTALL, {}, FORCED)), 400, "INVALID_ARGUMENT",
      "needs additionalTargetKeys ['app_id']", id="app-without-app-id"),
    D(_modify(("students", INSTALL, {"app_id": "chrome:tooshort"}, FORCED)), 400,
      "INVALID_ARGUMENT", "Invalid app_id", id="malformed-app-id"),
    D(_modify(("students", INSTALL, APP, {"appInstallType": "ALWAYS"})), 400,
      "INVALID_ARGUMENT", "Invalid value 'ALWAYS'", id="value-not-allowed"),
    D(_modify(("students", INSTALL, APP, {"colour": "red"})), 400, "INVALID_ARGUMENT",
      "not a field of", id="update-mask-names-an-unknown-field"),
    D(_modify(("id:students", INSTALL, APP, FORCED)), 400, "INVALID_ARGUMENT", "no 'id:' prefix",
      id="org-unit-id-with-directory-prefix"),
    D(_modify(("03ph8a2zunknown", INSTALL, APP, FORCED)), 400, "INVALID_ARGUMENT",
      "does not exist", id="unknown-org-unit"),
    D(lambda c: c.policy.customers().policies().orgunits().batchModify(customer=POLICY_CUSTOMER,
      body={"requests": []}).execute(), 400, "INVALID_ARGUMENT", "at least one",
      id="no-requests"),
    D(lambda c: c.policy.customers().policies().orgunits().batchModify(customer=POLICY_CUSTOMER,
      body={"requests": [{"policyTargetKey": policy_target(c.students, **APP), "policyValue":
      {"policySchema": INSTALL, "value": FORCED}}]}).execute(), 400, "INVALID_ARGUMENT",
      "updateMask is required", id="no-update-mask"),
    D(_resolve(policySchemaFilter="chrome.*.InstallType"), 400, "INVALID_ARGUMENT",
      "wildcard only in the leaf", id="resolve-wildcard-in-the-middle"),
    # The filters Google's reference gives as invalid: a wildcard outside the leaf, or a
    # namespace that is none (network policies live in chrome.networks.wifi, .vpn, ...).
    D(_resolve(policySchemaFilter="*"), 400, "INVALID_ARGUMENT", "Invalid policy schema filter",
      id="resolve-a-bare-wildcard"),
    D(_resolve(policySchemaFilter="*.users"), 400, "INVALID_ARGUMENT",
      "Invalid policy schema filter", id="resolve-a-wildcard-namespace"),
    D(_resolve(policySchemaFilter="chrome.*"), 400, "INVALID_ARGUMENT",
      "Invalid policy schema filter", id="resolve-chrome-star"),
    D(_resolve(policySchemaFilter="chrome.*.apps.*"), 400, "INVALID_ARGUMENT",
      "Invalid policy schema filter", id="resolve-two-wildcards"),
    D(_resolve(policySchemaFilter="chrome.networks.*"), 400, "INVALID_ARGUMENT",
      "chrome.networks.wifi", id="resolve-networks-is-no-namespace"),
    D(_resolve(policySchemaFilter="chrome.teleport.*"), 400, "INVALID_ARGUMENT",
      "Invalid policy schema filter", id="resolve-an-unknown-namespace"),
    D(_resolve(), 400, "INVALID_ARGUMENT", "policySchemaFilter is required",
      id="resolve-without-filter"),
    D(_resolve(policySchemaFilter="chrome.users.apps.*", pageSize=1001), 400,
      "INVALID_ARGUMENT", "between 1 and 1000", id="resolve-page-size-1001"),
    D(_resolve(policySchemaFilter="chrome.users.apps.*", pageToken="garbage"), 400,
      "INVALID_ARGUMENT", "pageToken", id="resolve-page-token-garbage"),
    D(lambda c: c.policy.customers().policySchemas().get(
      name=f"{POLICY_CUSTOMER}/policySchemas/chrome.users.Teleport").execute(), 404,
      "NOT_FOUND", "not found", id="schema-unknown"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "status", "grpc", "words"), POLICY_REFUSALS)
def test_chrome_policy_refusal(
    ctx: Ctx, call: Callable[[Ctx], Any], status: int, grpc: str, words: str
) -> None:
    got, body = answer(ctx, call)
    assert got == status, body
    assert_policy_error(body, status, grpc, words)
    assert ctx.sandbox.tenant.policies.values == {}, "a refused call changes nothing"


# ------------------------------------------------------------------------------- HTTP batch
def _multipart(parts: list[str], boundary: str = "xyz") -> bytes:
    chunks = [
        f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <{n}>\r\n\r\n{part}\r\n"
        for n, part in enumerate(parts)
    ]
    return ("".join(chunks) + f"--{boundary}--\r\n").encode()


def _get(path: str) -> str:
    return f"GET /{path} HTTP/1.1\r\n\r\n"


@pytest.mark.parametrize(
    ("content_type", "parts", "words"),
    [
        pytest.param(
            "multipart/mixed; boundary=xyz",
            [_get(f"{DEVICES}?maxResults=1")] * 1001,
            "at most 1000 calls",
            id="1001-calls",
        ),
        pytest.param(
            "application/json", [_get(DEVICES)], "must be multipart/mixed", id="not-multipart"
        ),
        pytest.param(
            "multipart/mixed; boundary=xyz",
            [_get(DEVICES), _get("v1/customers/my_customer/policySchemas")],
            "one API",
            id="two-apis-in-one-batch",
        ),
    ],
)
def test_batch_refusal(ctx: Ctx, content_type: str, parts: list[str], words: str) -> None:
    response, content = ctx.http.request(
        ctx.sandbox.url + "batch",
        "POST",
        _multipart(parts),
        {"Content-Type": content_type},
    )
    assert response.status == 400
    assert_directory_error(json.loads(content), 400, "invalid", words)
    assert ctx.sandbox.control.counters()["total"] == 0, "no call of a refused batch ran"


def test_a_batch_of_1000_calls_is_accepted(ctx: Ctx) -> None:
    response, _ = ctx.http.request(
        ctx.sandbox.url + "batch",
        "POST",
        _multipart([_get(f"{DEVICES}?maxResults=1")] * 1000),
        {"Content-Type": "multipart/mixed; boundary=xyz"},
    )
    assert response.status == 200
    assert ctx.sandbox.control.counters()["statuses"] == {
        "directory.chromeosdevices.list 200": 1000
    }


# -------------------------------------------------------------------- org unit references
REFERENCES = [
    pytest.param("/Students/Antwerpen", id="path"),
    pytest.param("Students/Antwerpen", id="path-without-slash"),
    pytest.param("students/ANTWERPEN", id="path-in-any-case"),
    pytest.param("id:ID", id="id-with-prefix"),
    pytest.param("ID", id="bare-id"),
]


def _list_in(c: Ctx, ou: str) -> set[str]:
    c.directory.chromeosdevices().moveDevicesToOu(
        customerId=CUSTOMER, orgUnitPath="/Students/Antwerpen", body={"deviceIds": c.ids[:2]}
    ).execute()
    page = c.directory.chromeosdevices().list(customerId=CUSTOMER, orgUnitPath=ou).execute()
    return {c.sandbox.tenant.devices.by_id[d["deviceId"]].ou_id for d in page["chromeosdevices"]}


def _move_to(c: Ctx, ou: str) -> set[str]:
    c.directory.chromeosdevices().moveDevicesToOu(
        customerId=CUSTOMER, orgUnitPath=ou, body={"deviceIds": c.ids[:2]}
    ).execute()
    return {c.sandbox.tenant.devices.by_id[i].ou_id for i in c.ids[:2]}


def _patch_to(c: Ctx, ou: str) -> set[str]:
    c.directory.chromeosdevices().patch(
        customerId=CUSTOMER, deviceId=c.ids[0], body={"orgUnitPath": ou}
    ).execute()
    return {c.sandbox.tenant.devices.by_id[c.ids[0]].ou_id}


def _get_unit(c: Ctx, ou: str) -> set[str]:
    got = c.directory.orgunits().get(customerId=CUSTOMER, orgUnitPath=ou).execute()
    return {got["orgUnitId"].removeprefix("id:")}


def _users_in(c: Ctx, ou: str) -> set[str]:
    c.directory.users().patch(userKey="amira@example.org", body={"orgUnitPath": ou}).execute()
    return {c.sandbox.tenant.users.get("amira@example.org").ou_id}


USES = [
    pytest.param(_list_in, id="devices.list"),
    pytest.param(_move_to, id="moveDevicesToOu"),
    pytest.param(_patch_to, id="devices.patch"),
    pytest.param(_get_unit, id="orgunits.get"),
    pytest.param(_users_in, id="users.patch"),
]


@pytest.mark.parametrize("use", USES)
@pytest.mark.parametrize("reference", REFERENCES)
def test_an_org_unit_is_named_by_path_with_or_without_slash_or_by_id(
    ctx: Ctx, use: Callable[[Ctx, str], set[str]], reference: str
) -> None:
    named = reference.replace("ID", ctx.antwerpen)
    assert use(ctx, named) == {ctx.antwerpen}


@pytest.mark.parametrize("use", USES)
def test_an_unknown_org_unit_is_refused(ctx: Ctx, use: Callable[[Ctx, str], set[str]]) -> None:
    with pytest.raises(HttpError) as caught:
        use(ctx, "Students/Nowhere")
    assert caught.value.status_code in {400, 404}
    reason = json.loads(caught.value.content)["error"]["errors"][0]["reason"]
    assert reason == ("notFound" if caught.value.status_code == 404 else "invalid")


# ------------------------------------------------------------------------------ id: queries
@pytest.mark.parametrize(
    ("prefix", "matches"),
    [
        pytest.param(lambda s: s, 1, id="whole-serial"),
        pytest.param(lambda s: s.lower(), 1, id="any-case"),
        pytest.param(lambda s: s[:6], "several", id="a-prefix-matches-more"),
        pytest.param(lambda s: s[1:], 0, id="not-a-substring"),
        pytest.param(lambda s: s[:2], 0, id="under-three-characters-matches-nothing"),
    ],
)
def test_an_id_query_is_a_serial_prefix_match(
    ctx: Ctx, prefix: Callable[[str], str], matches: int | str
) -> None:
    # The agency's first serial (in order) shares its first six characters with others, as
    # real serials of one production batch do.
    serial = min(d.data["serialNumber"] for d in ctx.sandbox.tenant.devices.devices)
    query = "id:" + quote(prefix(serial), safe="")
    found = ctx.directory.chromeosdevices().list(customerId=CUSTOMER, query=query).execute()
    count = len(found.get("chromeosdevices", []))
    if matches == "several":
        assert count >= 2
    else:
        assert count == matches
