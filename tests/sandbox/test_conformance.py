"""Conformance: every method the sandbox implements, through Google's own client, over real HTTP.

One named case per method id; a case calls the method as fleetsync's adapters would and checks
what changed in the tenant and what came back. The clients are built from the discovery documents
the sandbox serves (the Directory API's from ``/discovery/v1/apis/...``, Chrome Policy's from
``/$discovery/rest``), as a tool that discovers its APIs at start-up builds them; the other
suites use the copies bundled in google-api-python-client, as fleetsync does. The table must name
every implemented method, so a handler added without a conformance case fails here. Behaviour in
depth lives in the topic modules (devices, users, commands, policies, operations); refusals in
``test_refusals.py``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from fleetsync import clock
from fleetsync.google.errors import GoogleDuplicate
from fleetsync.google.wire import DEVICE_FIELDS
from fleetsync.sandbox.routes import IMPLEMENTED
from fleetsync.sandbox.seed import STAGING
from fleetsync.sandbox.tenant import Tenant
from fleetsync.sandbox.testing import RunningSandbox, running_sandbox
from fleetsync.settings import GOOGLE_SCOPES
from tests.sandbox.conftest import policy_target, refusal

CUSTOMER = "my_customer"
POLICY_CUSTOMER = "customers/my_customer"
STUDENT = "amira.haddad@example.org"
FORCED_APP = "chrome:ghbmnnjooekpmoecnnnilnnbdlolhkhi"


@dataclass
class World:
    """The agency's tenant with one student, a /Students/Antwerpen org unit and one command."""

    sandbox: RunningSandbox
    directory: Any
    policy: Any
    device_id: str
    command_id: str
    students_id: str
    antwerpen_id: str

    @property
    def tenant(self) -> Tenant:
        return self.sandbox.tenant

    def device(self, device_id: str | None = None) -> dict[str, Any]:
        return self.tenant.devices.by_id[device_id or self.device_id].data


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with running_sandbox(tmp_path / "sandbox", fleet="agency") as sandbox:
        directory = sandbox.discovered("admin", "directory_v1", form="www")
        policy = sandbox.discovered("chromepolicy", "v1", form="host")
        antwerpen = sandbox.tenant.orgunits.ensure_path("/Students/Antwerpen")
        directory.users().insert(
            body={
                "primaryEmail": STUDENT,
                "name": {"givenName": "Amira", "familyName": "Haddad"},
                "password": "a-first-password-1",
                "orgUnitPath": "/Students/Antwerpen",
            }
        ).execute()
        device_id = sandbox.tenant.devices.devices[0].device_id
        command = (
            directory.customer()
            .devices()
            .chromeos()
            .issueCommand(customerId=CUSTOMER, deviceId=device_id, body={"commandType": "REBOOT"})
            .execute()
        )
        # Both clients hold a token before any batch: googleapiclient would otherwise fetch the
        # first one over a connection of its own that it never closes.
        policy.customers().policySchemas().list(parent=POLICY_CUSTOMER).execute()
        sandbox.control.reset_counters()
        yield World(
            sandbox=sandbox,
            directory=directory,
            policy=policy,
            device_id=device_id,
            command_id=command["commandId"],
            students_id=sandbox.tenant.orgunits.get("/Students").ou_id,
            antwerpen_id=antwerpen.ou_id,
        )


# ------------------------------------------------------------------------- chromeosdevices
def devices_list(w: World) -> None:
    page = (
        w.directory.chromeosdevices()
        .list(
            customerId=CUSTOMER,
            maxResults=300,
            orgUnitPath=STAGING.lstrip("/"),
            projection="BASIC",
            fields=f"nextPageToken,chromeosdevices({DEVICE_FIELDS})",
        )
        .execute()
    )
    assert len(page["chromeosdevices"]) == 300
    assert page["chromeosdevices"][0]["deviceId"] == w.device_id
    assert page["nextPageToken"]


def devices_get(w: World) -> None:
    got = w.directory.chromeosdevices().get(customerId=CUSTOMER, deviceId=w.device_id).execute()
    assert got["serialNumber"] == w.device()["serialNumber"]
    assert got["orgUnitPath"] == STAGING


def devices_patch(w: World) -> None:
    answer = (
        w.directory.chromeosdevices()
        .patch(customerId=CUSTOMER, deviceId=w.device_id, body={"annotatedUser": "B-1017"})
        .execute()
    )
    assert answer["annotatedUser"] == w.device()["annotatedUser"] == "B-1017"
    assert w.device()["annotatedAssetId"] == "AII-0001", "a patch keeps what it does not name"


def devices_update(w: World) -> None:
    body = {"notes": "hinge cracked", "orgUnitPath": "/Students/Antwerpen"}
    answer = (
        w.directory.chromeosdevices()
        .update(customerId=CUSTOMER, deviceId=w.device_id, body=body)
        .execute()
    )
    assert answer["orgUnitPath"] == "/Students/Antwerpen"
    assert w.tenant.devices.by_id[w.device_id].ou_id == w.antwerpen_id


def devices_move(w: World) -> None:
    ids = [d.device_id for d in w.tenant.devices.devices[:50]]
    w.directory.chromeosdevices().moveDevicesToOu(
        customerId=CUSTOMER, orgUnitPath="Students/Antwerpen", body={"deviceIds": ids}
    ).execute()
    assert {w.tenant.devices.by_id[i].ou_id for i in ids} == {w.antwerpen_id}


# ---------------------------------------------------------------- customer.devices.chromeos
def chromeos_batch_change_status(w: World) -> None:
    ids = [d.device_id for d in w.tenant.devices.devices[:3]]
    answer = (
        w.directory.customer()
        .devices()
        .chromeos()
        .batchChangeStatus(
            customerId=CUSTOMER,
            body={
                "deviceIds": ids,
                "changeChromeOsDeviceStatusAction": "CHANGE_CHROME_OS_DEVICE_STATUS_ACTION_DISABLE",
            },
        )
        .execute()
    )
    results = answer["changeChromeOsDeviceStatusResults"]
    assert [(r["deviceId"], "error" in r) for r in results] == [(i, False) for i in ids]
    assert {w.device(i)["status"] for i in ids} == {"DISABLED"}


def chromeos_issue_command(w: World) -> None:
    answer = (
        w.directory.customer()
        .devices()
        .chromeos()
        .issueCommand(
            customerId=CUSTOMER,
            deviceId=w.device_id,
            body={"commandType": "SET_VOLUME", "payload": '{"volume": 40}'},
        )
        .execute()
    )
    assert int(answer["commandId"]) > int(w.command_id)
    commands = w.tenant.devices.by_id[w.device_id].presence.commands
    assert [c.type for c in commands] == ["REBOOT", "SET_VOLUME"]


def chromeos_commands_get(w: World) -> None:
    command = (
        w.directory.customer()
        .devices()
        .chromeos()
        .commands()
        .get(customerId=CUSTOMER, deviceId=w.device_id, commandId=w.command_id)
        .execute()
    )
    assert command["commandId"] == w.command_id
    assert command["type"] == "REBOOT"
    assert command["state"] == "PENDING", "the device has not checked in since"


# ------------------------------------------------------------------------------------ users
def users_insert(w: World) -> None:
    created = (
        w.directory.users()
        .insert(
            body={
                "primaryEmail": "omar.diallo@example.org",
                "name": {"givenName": "Omar", "familyName": "Diallo"},
                "password": "a-first-password-2",
                "changePasswordAtNextLogin": True,
            }
        )
        .execute()
    )
    stored = w.tenant.users.get("omar.diallo@example.org")
    assert created["id"] == stored.user_id
    assert "password" not in created
    assert stored.password_hash
    assert "a-first-password-2" not in stored.password_hash


def users_get(w: World) -> None:
    got = w.directory.users().get(userKey=STUDENT).execute()
    assert got["orgUnitPath"] == "/Students/Antwerpen"
    assert w.directory.users().get(userKey=got["id"]).execute()["primaryEmail"] == STUDENT


def users_list(w: World) -> None:
    page = w.directory.users().list(customer=CUSTOMER, query="orgUnitPath='/Students'").execute()
    assert [u["primaryEmail"] for u in page["users"]] == [STUDENT]


def users_patch(w: World) -> None:
    w.directory.users().patch(userKey=STUDENT, body={"suspended": True}).execute()
    assert w.tenant.users.get(STUDENT).data["suspended"] is True


def users_update(w: World) -> None:
    w.directory.users().update(userKey=STUDENT, body={"orgUnitPath": "/Students"}).execute()
    assert w.tenant.users.get(STUDENT).ou_id == w.students_id


def users_delete(w: World) -> None:
    w.directory.users().delete(userKey=STUDENT).execute()
    assert w.tenant.users.find(STUDENT) is None
    assert [u.email for u in w.tenant.users.deleted.values()] == [STUDENT]


def users_undelete(w: World) -> None:
    user_id = w.tenant.users.get(STUDENT).user_id
    w.directory.users().delete(userKey=STUDENT).execute()
    w.directory.users().undelete(userKey=user_id, body={"orgUnitPath": "/Students"}).execute()
    assert w.tenant.users.get(STUDENT).ou_id == w.students_id


# -------------------------------------------------------------------------------- org units
def orgunits_list(w: World) -> None:
    found = w.directory.orgunits().list(customerId=CUSTOMER, type="all").execute()
    assert {u["orgUnitPath"] for u in found["organizationUnits"]} == {
        "/Chromebooks", STAGING, "/Students", "/Students/Antwerpen",
    }  # fmt: skip


def orgunits_get(w: World) -> None:
    got = w.directory.orgunits().get(customerId=CUSTOMER, orgUnitPath="Students").execute()
    assert got["orgUnitId"] == f"id:{w.students_id}"


def orgunits_insert(w: World) -> None:
    created = (
        w.directory.orgunits()
        .insert(customerId=CUSTOMER, body={"name": "Limburg", "parentOrgUnitPath": "/Students"})
        .execute()
    )
    assert created["orgUnitPath"] == "/Students/Limburg"
    assert w.tenant.orgunits.get("/Students/Limburg").parent_id == w.students_id

    # Google's answer for one that exists (not a 409), and fleetsync's reading of it.
    insert = w.directory.orgunits().insert(
        customerId=CUSTOMER, body={"name": "Limburg", "parentOrgUnitPath": "/Students"}
    )
    with pytest.raises(HttpError) as again:
        insert.execute()
    assert (again.value.status_code, again.value.reason) == (400, "Invalid Ou Id")
    assert again.value.error_details[0]["reason"] == "invalid"
    assert isinstance(refusal(again.value, method=insert.methodId), GoogleDuplicate)
    assert [u.path for u in w.tenant.orgunits.all_units()].count("/Students/Limburg") == 1
    w.sandbox.control.reset_counters()  # the table checks that what follows succeeds
    w.directory.orgunits().insert(
        customerId=CUSTOMER, body={"name": "Gent", "parentOrgUnitPath": "/Students"}
    ).execute()


def orgunits_patch(w: World) -> None:
    w.directory.orgunits().patch(
        customerId=CUSTOMER, orgUnitPath="Students/Antwerpen", body={"name": "Antwerp"}
    ).execute()
    assert w.tenant.orgunits.by_id[w.antwerpen_id].path == "/Students/Antwerp"
    assert w.tenant.users.get(STUDENT).data["orgUnitPath"] == "/Students/Antwerp"


def orgunits_update(w: World) -> None:
    w.directory.orgunits().update(
        customerId=CUSTOMER,
        orgUnitPath=f"id:{w.antwerpen_id}",
        body={"name": "Antwerpen", "description": "Regio Antwerpen"},
    ).execute()
    assert w.tenant.orgunits.by_id[w.antwerpen_id].description == "Regio Antwerpen"


def orgunits_delete(w: World) -> None:
    w.directory.orgunits().insert(
        customerId=CUSTOMER, body={"name": "Empty", "parentOrgUnitPath": "/"}
    ).execute()
    w.directory.orgunits().delete(customerId=CUSTOMER, orgUnitPath="Empty").execute()
    assert w.tenant.orgunits.find("/Empty") is None


# -------------------------------------------------------------------------------- customers
CUSTOMER_READONLY = "https://www.googleapis.com/auth/admin.directory.customer.readonly"


def customers_get(w: World) -> None:
    # Tools ask for the customer scope, which fleetsync never needs: delegate it for this case.
    w.sandbox.control.delegated_scopes([*GOOGLE_SCOPES, CUSTOMER_READONLY])
    directory = w.sandbox.discovered("admin", "directory_v1", scopes=[CUSTOMER_READONLY])
    mine = directory.customers().get(customerKey=CUSTOMER).execute()
    assert mine["id"] == w.tenant.customer_id
    assert mine["customerDomain"] == "example.org"
    assert mine["kind"] == "admin#directory#customer"
    assert datetime.fromisoformat(mine["customerCreationTime"]) <= clock.now()
    by_id = directory.customers().get(customerKey=w.tenant.customer_id).execute()
    assert by_id == mine
    with pytest.raises(HttpError) as caught:
        directory.customers().get(customerKey="C0someoneelse").execute()
    assert caught.value.status_code == 404, "tools print 'does not exist' on this answer"
    assert caught.value.reason == "Resource Not Found: customerKey"
    w.sandbox.control.reset_counters()  # the table checks that what follows succeeds
    directory.customers().get(customerKey=CUSTOMER).execute()


# ------------------------------------------------------------------------------ Chrome Policy
def policies_batch_modify(w: World) -> None:
    w.policy.customers().policies().orgunits().batchModify(
        customer=POLICY_CUSTOMER,
        body={
            "requests": [
                {
                    "policyTargetKey": policy_target(w.students_id, app_id=FORCED_APP),
                    "policyValue": {
                        "policySchema": "chrome.users.apps.InstallType",
                        "value": {"appInstallType": "FORCED"},
                    },
                    "updateMask": "appInstallType",
                }
            ]
        },
    ).execute()
    slot = (w.students_id, "chrome.users.apps.InstallType", (("app_id", FORCED_APP),))
    assert w.tenant.policies.values[slot] == {"appInstallType": "FORCED"}


def policies_batch_inherit(w: World) -> None:
    policies_batch_modify(w)
    w.policy.customers().policies().orgunits().batchInherit(
        customer=POLICY_CUSTOMER,
        body={
            "requests": [
                {
                    "policyTargetKey": policy_target(w.students_id, app_id=FORCED_APP),
                    "policySchema": "chrome.users.apps.*",
                }
            ]
        },
    ).execute()
    assert w.tenant.policies.values == {}


def policies_resolve(w: World) -> None:
    policies_batch_modify(w)
    answer = (
        w.policy.customers()
        .policies()
        .resolve(
            customer=POLICY_CUSTOMER,
            body={
                "policySchemaFilter": "chrome.users.apps.*",
                "policyTargetKey": policy_target(w.antwerpen_id),
            },
        )
        .execute()
    )
    [resolved] = answer["resolvedPolicies"]
    assert resolved["value"]["value"] == {"appInstallType": "FORCED"}
    assert resolved["sourceKey"]["targetResource"] == f"orgunits/{w.students_id}"


def policy_schemas_get(w: World) -> None:
    name = f"{POLICY_CUSTOMER}/policySchemas/chrome.users.ManagedBookmarksSetting"
    schema = w.policy.customers().policySchemas().get(name=name).execute()
    assert schema["schemaName"] == "chrome.users.ManagedBookmarksSetting"
    assert [f["field"] for f in schema["fieldDescriptions"]] == ["managedBookmarks"]


def policy_schemas_list(w: World) -> None:
    found = (
        w.policy.customers()
        .policySchemas()
        .list(parent=POLICY_CUSTOMER, filter="chrome.users.apps")
        .execute()
    )
    assert [s["schemaName"] for s in found["policySchemas"]] == [
        "chrome.users.apps.IncludeInChromeWebStoreCollection",
        "chrome.users.apps.InstallType",
    ]


def gmail_send(w: World) -> None:
    message = EmailMessage()
    message["To"] = "admin@example.org"
    message["Subject"] = "Hallo"
    message.set_content("Een bericht.")
    raw = base64.urlsafe_b64encode(message.as_bytes()).decode("ascii")
    sent = w.sandbox.gmail(STUDENT).users().messages().send(userId="me", body={"raw": raw})
    answer = sent.execute()
    assert answer["labelIds"] == ["SENT"]
    [stored] = w.sandbox.control.messages(to="admin@example.org")
    assert (stored["id"], stored["from"], stored["subject"]) == (answer["id"], STUDENT, "Hallo")
    assert stored["text"].strip() == "Een bericht."


CASES: dict[str, Callable[[World], None]] = {
    "directory.chromeosdevices.list": devices_list,
    "directory.chromeosdevices.get": devices_get,
    "directory.chromeosdevices.patch": devices_patch,
    "directory.chromeosdevices.update": devices_update,
    "directory.chromeosdevices.moveDevicesToOu": devices_move,
    "admin.customer.devices.chromeos.batchChangeStatus": chromeos_batch_change_status,
    "admin.customer.devices.chromeos.issueCommand": chromeos_issue_command,
    "admin.customer.devices.chromeos.commands.get": chromeos_commands_get,
    "directory.users.insert": users_insert,
    "directory.users.get": users_get,
    "directory.users.list": users_list,
    "directory.users.patch": users_patch,
    "directory.users.update": users_update,
    "directory.users.delete": users_delete,
    "directory.users.undelete": users_undelete,
    "directory.orgunits.list": orgunits_list,
    "directory.orgunits.get": orgunits_get,
    "directory.orgunits.insert": orgunits_insert,
    "directory.orgunits.patch": orgunits_patch,
    "directory.orgunits.update": orgunits_update,
    "directory.orgunits.delete": orgunits_delete,
    "directory.customers.get": customers_get,
    "chromepolicy.customers.policies.orgunits.batchModify": policies_batch_modify,
    "chromepolicy.customers.policies.orgunits.batchInherit": policies_batch_inherit,
    "chromepolicy.customers.policies.resolve": policies_resolve,
    "chromepolicy.customers.policySchemas.get": policy_schemas_get,
    "chromepolicy.customers.policySchemas.list": policy_schemas_list,
    "gmail.users.messages.send": gmail_send,
}


def test_every_implemented_method_has_a_case() -> None:
    assert set(CASES) == IMPLEMENTED


@pytest.mark.parametrize("method", sorted(CASES))
def test_method(world: World, method: str) -> None:
    CASES[method](world)
    counters = world.sandbox.control.counters()
    assert counters["calls"].get(method, 0) >= 1, f"{method} was not the method answered"
    failed = {k: n for k, n in counters["statuses"].items() if not k.endswith((" 200", " 204"))}
    assert failed == {}


# -------------------------------------------------------------------------------- HTTP batch
def test_a_directory_batch_answers_each_call_by_its_request_id(world: World) -> None:
    answers: dict[str, Any] = {}

    def collect(request_id: str, response: Any, exception: HttpError | None) -> None:
        answers[request_id] = exception if exception is not None else response

    # A client built from the served document batches here by itself: its rootUrl is the sandbox.
    batch = world.directory.new_batch_http_request(callback=collect)
    devices = world.directory.chromeosdevices()
    ids = [d.device_id for d in world.tenant.devices.devices[:3]]
    for device_id in ids:
        batch.add(devices.get(customerId=CUSTOMER, deviceId=device_id), request_id=device_id)
    batch.add(devices.get(customerId=CUSTOMER, deviceId="no-such-device"), request_id="missing")
    batch.add(
        world.directory.users().patch(userKey=STUDENT, body={"suspended": True}),
        request_id="suspend",
    )
    batch.add(
        devices.moveDevicesToOu(
            customerId=CUSTOMER, orgUnitPath="/Students/Antwerpen", body={"deviceIds": ids[:2]}
        ),
        request_id="move",
    )
    batch.execute()
    assert [answers[i]["deviceId"] for i in ids] == ids
    missing = answers["missing"]
    assert isinstance(missing, HttpError)
    assert missing.status_code == 404, "one part failing leaves the others alone"
    assert answers["suspend"]["suspended"] is True
    assert world.tenant.users.get(STUDENT).data["suspended"] is True
    assert answers["move"] == "", "a method without a response body (the client's RawModel)"
    assert [world.tenant.devices.by_id[i].ou_id for i in ids] == [world.antwerpen_id] * 2 + [
        world.tenant.orgunits.get(STAGING).ou_id
    ]
    counters = world.sandbox.control.counters()
    assert counters["batches"] == 1
    assert counters["calls"]["directory.chromeosdevices.get"] == 4, "each part counts"
    entries = world.sandbox.control.log(method="directory.chromeosdevices.get")
    assert all(entry["inBatch"] for entry in entries)


def test_a_chrome_policy_batch(world: World) -> None:
    answers: list[Any] = []
    batch = world.policy.new_batch_http_request(
        callback=lambda _id, response, error: answers.append(error)
    )
    for ou_id in (world.students_id, world.antwerpen_id):
        batch.add(
            world.policy.customers()
            .policies()
            .orgunits()
            .batchModify(
                customer=POLICY_CUSTOMER,
                body={
                    "requests": [
                        {
                            "policyTargetKey": policy_target(ou_id, app_id=FORCED_APP),
                            "policyValue": {
                                "policySchema": "chrome.users.apps.InstallType",
                                "value": {"appInstallType": "ALLOWED"},
                            },
                            "updateMask": "appInstallType",
                        }
                    ]
                },
            )
        )
    batch.execute()
    assert answers == [None, None]
    assert {slot[0] for slot in world.tenant.policies.values} == {
        world.students_id,
        world.antwerpen_id,
    }
