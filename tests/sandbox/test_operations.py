"""A tenant on a bad day, and across restarts: quotas, injected faults, the concurrency limit,
the request log, and ``--state``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httplib2
import pytest
from googleapiclient.errors import HttpError

from fleetsync.google.errors import GoogleRateLimited, GoogleUnavailable
from fleetsync.sandbox.state import load_tenant
from fleetsync.sandbox.testing import RunningSandbox, running_sandbox
from tests.sandbox.conftest import policy_target, refusal

CUSTOMER = "my_customer"
POLICY_CUSTOMER = "customers/my_customer"
MEET = "web:https://meet.google.com/"
REASON = "DEPROVISION_REASON_RETIRING_DEVICE"

Call = Callable[[RunningSandbox], Any]


def list_devices(s: RunningSandbox) -> Any:
    return s.directory().chromeosdevices().list(customerId=CUSTOMER, maxResults=1).execute()


def annotate(s: RunningSandbox) -> Any:
    device_id = s.tenant.devices.devices[0].device_id
    devices = s.directory().chromeosdevices()
    body = {"notes": "checked"}
    return devices.patch(customerId=CUSTOMER, deviceId=device_id, body=body).execute()


def move(s: RunningSandbox) -> Any:
    ids = [d.device_id for d in s.tenant.devices.devices[:2]]
    devices = s.directory().chromeosdevices()
    body = {"deviceIds": ids}
    return devices.moveDevicesToOu(
        customerId=CUSTOMER, orgUnitPath="/Students", body=body
    ).execute()


def force_meet(s: RunningSandbox) -> Any:
    request = {
        "policyTargetKey": policy_target(s.tenant.orgunits.get("/Students").ou_id, app_id=MEET),
        "policyValue": {
            "policySchema": "chrome.users.apps.InstallType",
            "value": {"appInstallType": "FORCED"},
        },
        "updateMask": "appInstallType",
    }
    orgunits = s.policy().customers().policies().orgunits()
    return orgunits.batchModify(customer=POLICY_CUSTOMER, body={"requests": [request]}).execute()


def resolve_apps(s: RunningSandbox) -> Any:
    body = {
        "policySchemaFilter": "chrome.users.apps.*",
        "policyTargetKey": policy_target(s.tenant.orgunits.root.ou_id),
    }
    return s.policy().customers().policies().resolve(customer=POLICY_CUSTOMER, body=body).execute()


def with_token(directory: Any) -> Any:
    """The client after one plain call. googleapiclient fetches a batch's first token over a
    connection it never closes (a ResourceWarning, an error here): batches start with one."""
    directory.chromeosdevices().list(customerId=CUSTOMER, maxResults=1).execute()
    return directory


def batch_of_gets(sandbox: RunningSandbox, directory: Any, count: int) -> list[int]:
    """The status of each part of one batch of ``count`` device gets, in order."""
    statuses: list[int] = []
    batch = sandbox.batch(
        callback=lambda _id, _answer, error: statuses.append(error.status_code if error else 200)
    )
    for device in sandbox.tenant.devices.devices[:count]:
        batch.add(directory.chromeosdevices().get(customerId=CUSTOMER, deviceId=device.device_id))
    batch.execute()
    return statuses


# ----------------------------------------------------------------------------------- quotas
@pytest.mark.parametrize(
    ("quota", "allowed", "refused", "unaffected", "status", "reason"),
    [
        pytest.param(
            {"queries_per_minute": 3}, list_devices, list_devices, None, 403,
            "userRateLimitExceeded", id="queries-per-user",
        ),
        pytest.param(
            {"device_writes_per_minute": 3}, annotate, move, list_devices, 403,
            "userRateLimitExceeded", id="chrome-device-writes",
        ),
        pytest.param(
            {"policy_writes_per_minute": 3}, force_meet, force_meet, resolve_apps, 429,
            "RATE_LIMIT_EXCEEDED", id="policy-org-unit-writes",
        ),
    ],
)  # fmt: skip
def test_a_quota_refuses_the_call_over_it_with_retry_after(
    agency_sandbox: RunningSandbox,
    quota: dict[str, int],
    allowed: Call,
    refused: Call,
    unaffected: Call | None,
    status: int,
    reason: str,
) -> None:
    agency_sandbox.control.quotas(**quota)
    for _ in range(3):
        allowed(agency_sandbox)
    before = json.dumps([d.data for d in agency_sandbox.tenant.devices.devices[:2]])
    with pytest.raises(HttpError) as caught:
        refused(agency_sandbox)
    assert caught.value.status_code == status
    assert 1 <= int(caught.value.resp["retry-after"]) <= 60
    mapped = refusal(caught.value)
    assert isinstance(mapped, GoogleRateLimited)
    assert mapped.reason == reason
    assert json.dumps([d.data for d in agency_sandbox.tenant.devices.devices[:2]]) == before
    if unaffected is not None:
        unaffected(agency_sandbox)  # another quota's calls still go through


def test_the_query_quota_is_per_user(agency_sandbox: RunningSandbox, agency: Any) -> None:
    agency_sandbox.control.quotas(queries_per_minute=1)
    devices = agency.chromeosdevices()
    devices.list(customerId=CUSTOMER, maxResults=1).execute()
    devices.list(customerId=CUSTOMER, maxResults=1, quotaUser="technician-2").execute()
    with pytest.raises(HttpError) as caught:
        devices.list(customerId=CUSTOMER, maxResults=1).execute()
    assert caught.value.status_code == 403


def test_each_part_of_a_batch_counts_against_the_quota(
    agency_sandbox: RunningSandbox, agency: Any
) -> None:
    with_token(agency)
    agency_sandbox.control.quotas(queries_per_minute=3)
    assert batch_of_gets(agency_sandbox, agency, 5) == [200, 200, 200, 403, 403]


# ----------------------------------------------------------------------------------- faults
@pytest.mark.parametrize(
    ("statuses", "call", "status", "reason"),
    [
        pytest.param([503], list_devices, 503, "backendError", id="directory-503"),
        pytest.param([500], list_devices, 500, "backendError", id="directory-500"),
        pytest.param([503], resolve_apps, 503, "UNAVAILABLE", id="policy-503"),
    ],
)
def test_an_error_rate_of_one_fails_every_call(
    agency_sandbox: RunningSandbox, statuses: list[int], call: Call, status: int, reason: str
) -> None:
    agency_sandbox.control.faults(error_rate=1.0, error_statuses=statuses)
    with pytest.raises(HttpError) as caught:
        call(agency_sandbox)
    assert caught.value.status_code == status
    mapped = refusal(caught.value)
    assert isinstance(mapped, GoogleUnavailable)
    assert mapped.reason == reason


def test_fail_next_fails_only_that_method_that_often(sandbox: RunningSandbox) -> None:
    sandbox.control.fail_next("directory.users.insert", status=503, count=2)
    users = sandbox.directory().users()
    body = {
        "primaryEmail": "omar@example.org",
        "name": {"givenName": "Omar", "familyName": "Diallo"},
        "password": "a-first-password-1",
    }
    for _ in range(2):
        with pytest.raises(HttpError) as caught:
            users.insert(body=body).execute()
        assert caught.value.status_code == 503
        assert users.list(customer=CUSTOMER).execute()["users"][0]["primaryEmail"] == (
            "admin@example.org"
        ), "another method is not affected, and the failed insert created nothing"
    users.insert(body=body).execute()
    assert sandbox.tenant.users.find("omar@example.org") is not None


def test_latency_is_added_to_every_call(agency_sandbox: RunningSandbox) -> None:
    list_devices(agency_sandbox)  # the token exchange is not slowed down; do it first
    agency_sandbox.control.faults(latency_ms=250)
    started = time.perf_counter()
    list_devices(agency_sandbox)
    assert time.perf_counter() - started >= 0.25


@pytest.mark.parametrize(
    ("after_processing", "applied"),
    [
        pytest.param(True, True, id="after-the-call-took-effect"),
        pytest.param(False, False, id="before-the-call"),
    ],
)
def test_a_dropped_connection(
    agency_sandbox: RunningSandbox, after_processing: bool, applied: bool
) -> None:
    directory = agency_sandbox.directory()
    list_devices(agency_sandbox)
    agency_sandbox.control.faults(drop_rate=1.0, drop_after_processing=after_processing)
    device = agency_sandbox.tenant.devices.devices[0]
    request = directory.chromeosdevices().patch(
        customerId=CUSTOMER, deviceId=device.device_id, body={"annotatedUser": "B-1017"}
    )
    with pytest.raises((OSError, httplib2.HttpLib2Error)):  # no answer at all
        request.execute()
    assert (device.data.get("annotatedUser") == "B-1017") is applied
    agency_sandbox.control.clear_faults()
    assert agency_sandbox.control.counters()["dropped"] >= 1


def test_faults_hit_batch_parts_one_by_one(agency_sandbox: RunningSandbox, agency: Any) -> None:
    with_token(agency)
    agency_sandbox.control.fail_next("directory.chromeosdevices.get", count=1)
    assert batch_of_gets(agency_sandbox, agency, 3) == [503, 200, 200]


def test_the_concurrency_limit_refuses_at_once_with_429(agency_sandbox: RunningSandbox) -> None:
    clients = [agency_sandbox.directory() for _ in range(6)]
    for client in clients:  # every client holds its token before the race
        client.chromeosdevices().list(customerId=CUSTOMER, maxResults=1).execute()
    agency_sandbox.control.quotas(max_concurrent_requests=2)
    agency_sandbox.control.faults(latency_ms=500)
    start = threading.Barrier(len(clients))
    answers: list[HttpError | None] = []

    def call(client: Any) -> None:
        start.wait()
        try:
            client.chromeosdevices().list(customerId=CUSTOMER, maxResults=1).execute()
        except HttpError as error:
            answers.append(error)
        else:
            answers.append(None)

    threads = [threading.Thread(target=call, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    refused = [a for a in answers if a is not None]
    assert len(answers) == 6
    assert 2 <= answers.count(None) <= 5
    assert refused
    for error in refused:
        assert error.status_code == 429
        assert refusal(error).reason == "rateLimitExceeded"
        assert error.resp["retry-after"] == "1"


# -------------------------------------------------------------------------- the request log
def test_the_request_log_records_every_call(agency_sandbox: RunningSandbox, agency: Any) -> None:
    agency.chromeosdevices().list(customerId=CUSTOMER, maxResults=1).execute()
    with pytest.raises(HttpError):
        agency.chromeosdevices().get(customerId=CUSTOMER, deviceId="nope").execute()
    [listed] = agency_sandbox.control.log(method="directory.chromeosdevices.list")
    assert listed["status"] == 200
    assert listed["user"] == "admin@example.org"
    assert listed["httpMethod"] == "GET"
    [missing] = agency_sandbox.control.log(method="directory.chromeosdevices.get")
    assert (missing["status"], missing["reason"]) == (404, "notFound")
    counters = agency_sandbox.control.counters()
    assert counters["statuses"] == {
        "directory.chromeosdevices.get 404": 1,
        "directory.chromeosdevices.list 200": 1,
    }
    agency_sandbox.control.reset_counters()
    assert agency_sandbox.control.counters()["total"] == 0


# ---------------------------------------------------------------------------------- --state
def _snapshot(s: RunningSandbox, device_ids: list[str], command_id: str) -> dict[str, Any]:
    """What fleetsync would observe of the tenant, through the API."""
    directory, chromeos = s.directory(), s.directory().customer().devices().chromeos()
    return {
        "devices": [
            directory.chromeosdevices().get(customerId=CUSTOMER, deviceId=i).execute()
            for i in device_ids
        ],
        "users": directory.users().list(customer=CUSTOMER, showDeleted="false").execute(),
        "deleted": directory.users().list(customer=CUSTOMER, showDeleted="true").execute(),
        "orgunits": directory.orgunits().list(customerId=CUSTOMER, type="all").execute(),
        "command": chromeos.commands()
        .get(customerId=CUSTOMER, deviceId=device_ids[0], commandId=command_id)
        .execute(),
        "policies": resolve_apps(s),
        "clock": s.control.clock()["offset_seconds"],
        "behaviour": s.control.behaviour(),
        "scopes": s.control.delegated_scopes(),
    }


def test_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "tenant.json"
    with running_sandbox(tmp_path / "first", fleet="agency", state_file=state) as first:
        directory = first.directory()
        ids = [d.device_id for d in first.tenant.devices.devices[:4]]
        for user in ("a", "b"):
            directory.users().insert(
                body={
                    "primaryEmail": f"{user}@example.org",
                    "name": {"givenName": user.upper(), "familyName": "Peeters"},
                    "password": "a-first-password-1",
                    "orgUnitPath": "/Students",
                }
            ).execute()
        directory.users().delete(userKey="b@example.org").execute()
        directory.orgunits().insert(
            customerId=CUSTOMER, body={"name": "On loan", "parentOrgUnitPath": "/Chromebooks"}
        ).execute()
        directory.chromeosdevices().patch(
            customerId=CUSTOMER,
            deviceId=ids[0],
            body={"annotatedUser": "B-1017", "orgUnitPath": "/Chromebooks/On loan"},
        ).execute()
        chromeos = directory.customer().devices().chromeos()
        for action, target in (("DISABLE", ids[1]), ("DEPROVISION", ids[2])):
            chromeos.batchChangeStatus(
                customerId=CUSTOMER,
                body={
                    "deviceIds": [target],
                    "changeChromeOsDeviceStatusAction": f"CHANGE_CHROME_OS_DEVICE_STATUS_ACTION_"
                    f"{action}",
                    "deprovisionReason": REASON,
                },
            ).execute()
        command_id = chromeos.issueCommand(
            customerId=CUSTOMER, deviceId=ids[0], body={"commandType": "REMOTE_POWERWASH"}
        ).execute()["commandId"]
        force_meet(first)
        first.control.advance(days=2)
        first.control.behaviour(licences_available=7)
        before = _snapshot(first, ids, command_id)
    with running_sandbox(tmp_path / "second", tenant=load_tenant(state)) as second:
        assert _snapshot(second, ids, command_id) == before
        # The tenant goes on from where it was: ids stay unique, the command can still run.
        second.control.online([ids[0]])
        second.control.advance(hours=1)
        after = _snapshot(second, ids, command_id)["command"]
        assert after["state"] == "EXECUTED_BY_CLIENT"


def test_save_on_demand(tmp_path: Path, sandbox: RunningSandbox) -> None:
    with pytest.raises(Exception, match="runs without --state"):
        sandbox.control.save()
    state = tmp_path / "tenant.json"
    with running_sandbox(tmp_path / "saved", state_file=state) as saving:
        saving.control.seed_devices(3)
        assert saving.control.save() == str(state)
        assert len(load_tenant(state).devices) == 3
