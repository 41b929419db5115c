"""Devices in the field: status changes, remote commands through their states, presence, clock.

Nothing ticks in the sandbox: the tests move the simulated clock and the devices' presence
through the control surface, and read what Google would report through Google's own client.
"""

from __future__ import annotations

from typing import Any

import pytest

from fleetsync.sandbox.clock import from_rfc3339
from fleetsync.sandbox.control import SandboxControlError
from fleetsync.sandbox.testing import RunningSandbox

CUSTOMER = "my_customer"
ACTION = "CHANGE_CHROME_OS_DEVICE_STATUS_ACTION_"
REASON = "DEPROVISION_REASON_RETIRING_DEVICE"
FAILED_PRECONDITION, NOT_FOUND = 9, 5
RECENT = [{"type": "USER_TYPE_UNMANAGED", "email": "amira.haddad@example.org"}]


def chromeos(api: Any) -> Any:
    return api.customer().devices().chromeos()


def change_status(api: Any, ids: list[str], action: str, reason: str | None = None) -> list[Any]:
    body: dict[str, Any] = {"deviceIds": ids, "changeChromeOsDeviceStatusAction": ACTION + action}
    if reason:
        body["deprovisionReason"] = reason
    answer = chromeos(api).batchChangeStatus(customerId=CUSTOMER, body=body).execute()
    results: list[Any] = answer["changeChromeOsDeviceStatusResults"]
    return results


def issue(api: Any, device_id: str, command_type: str) -> str:
    body = {"commandType": command_type}
    answer = chromeos(api).issueCommand(customerId=CUSTOMER, deviceId=device_id, body=body)
    return str(answer.execute()["commandId"])


def command(api: Any, device_id: str, command_id: str) -> dict[str, Any]:
    request = (
        chromeos(api).commands().get(customerId=CUSTOMER, deviceId=device_id, commandId=command_id)
    )
    result: dict[str, Any] = request.execute()
    return result


def device(api: Any, device_id: str) -> dict[str, Any]:
    result: dict[str, Any] = (
        api.chromeosdevices().get(customerId=CUSTOMER, deviceId=device_id).execute()
    )
    return result


@pytest.fixture
def ids(agency_sandbox: RunningSandbox) -> list[str]:
    return [d.device_id for d in agency_sandbox.tenant.devices.devices[:5]]


@pytest.fixture
def slow(agency_sandbox: RunningSandbox) -> RunningSandbox:
    """Delays wide enough that the real time a test takes never crosses a state boundary."""
    agency_sandbox.control.behaviour(
        ack_delay_seconds=60, execute_delay_seconds=600, powerwash_execute_delay_seconds=1200
    )
    return agency_sandbox


# --------------------------------------------------------------------------- status changes
@pytest.mark.parametrize(
    ("before", "action", "reason", "status", "error"),
    [
        pytest.param([], "DISABLE", None, "DISABLED", None, id="disable-active"),
        pytest.param(["DISABLE"], "REENABLE", None, "ACTIVE", None, id="reenable-disabled"),
        pytest.param([], "DEPROVISION", REASON, "DEPROVISIONED", None, id="deprovision-active"),
        pytest.param(
            ["DISABLE"], "DEPROVISION", REASON, "DEPROVISIONED", None, id="deprovision-disabled"
        ),
        pytest.param(
            ["DISABLE"], "DISABLE", None, "DISABLED", FAILED_PRECONDITION, id="disable-twice"
        ),
        pytest.param([], "REENABLE", None, "ACTIVE", FAILED_PRECONDITION, id="reenable-active"),
        pytest.param(
            ["DEPROVISION"],
            "REENABLE",
            None,
            "DEPROVISIONED",
            FAILED_PRECONDITION,
            id="deprovisioned-cannot-be-reenabled",
        ),
        pytest.param(
            ["DEPROVISION"],
            "DISABLE",
            None,
            "DEPROVISIONED",
            FAILED_PRECONDITION,
            id="deprovisioned-cannot-be-disabled",
        ),
    ],
)
def test_status_change(
    agency_sandbox: RunningSandbox,
    agency: Any,
    ids: list[str],
    before: list[str],
    action: str,
    reason: str | None,
    status: str,
    error: int | None,
) -> None:
    target = ids[0]
    for earlier in before:
        assert "error" not in change_status(agency, [target], earlier, REASON)[0]
    [result] = change_status(agency, [target], action, reason)
    assert result["deviceId"] == target
    if error is None:
        assert "error" not in result
    else:
        assert result["error"]["code"] == error
        assert result["error"]["message"]
    assert device(agency, target)["status"] == status
    assert agency_sandbox.tenant.devices.by_id[target].data["status"] == status


def test_devices_fail_one_by_one_in_a_status_change(agency: Any, ids: list[str]) -> None:
    change_status(agency, [ids[1]], "DISABLE")
    results = change_status(agency, [ids[0], ids[1], "no-such-device", ids[2]], "DISABLE")
    assert [r["deviceId"] for r in results] == [ids[0], ids[1], "no-such-device", ids[2]]
    assert [r.get("error", {}).get("code") for r in results] == [
        None, FAILED_PRECONDITION, NOT_FOUND, None,
    ]  # fmt: skip
    assert [device(agency, i)["status"] for i in ids[:3]] == ["DISABLED"] * 3


def test_deprovisioning_records_why_and_stops_the_device_reporting(
    agency_sandbox: RunningSandbox, agency: Any, ids: list[str]
) -> None:
    agency_sandbox.control.online([ids[0]])
    change_status(agency, [ids[0]], "DEPROVISION", REASON)
    got = device(agency, ids[0])
    assert got["deprovisionReason"] == REASON
    assert got["lastDeprovisionTimestamp"]
    assert agency_sandbox.control.device(ids[0])["online"] is False


def test_reenabling_needs_a_licence_and_deprovisioning_frees_one(
    agency_sandbox: RunningSandbox, agency: Any, ids: list[str]
) -> None:
    change_status(agency, ids[:2], "DISABLE")
    agency_sandbox.control.behaviour(licences_available=0)
    [refused] = change_status(agency, [ids[0]], "REENABLE")
    assert refused["error"]["code"] == FAILED_PRECONDITION
    assert "licence" in refused["error"]["message"]
    change_status(agency, [ids[1]], "DEPROVISION", REASON)
    [granted] = change_status(agency, [ids[0]], "REENABLE")
    assert "error" not in granted
    assert device(agency, ids[0])["status"] == "ACTIVE"
    assert agency_sandbox.control.behaviour()["licences_available"] == 0


# --------------------------------------------------------------------------------- commands
def test_a_powerwash_waits_for_the_device_then_runs_through_its_states(
    slow: RunningSandbox, agency: Any, ids: list[str]
) -> None:
    target = ids[0]
    with slow.tenant.lock:
        slow.tenant.devices.by_id[target].data["recentUsers"] = list(RECENT)
    enrolled = device(agency, target)["lastEnrollmentTime"]
    command_id = issue(agency, target, "REMOTE_POWERWASH")
    steps: list[tuple[str, Any, str]] = [
        ("issued to an offline device", lambda: None, "PENDING"),
        ("a week offline", lambda: slow.control.advance(days=7), "PENDING"),
        ("comes online and checks in", lambda: slow.control.online([target]), "SENT_TO_CLIENT"),
        ("acknowledges", lambda: slow.control.advance(seconds=61), "ACKED_BY_CLIENT"),
        ("executes", lambda: slow.control.advance(seconds=1200), "EXECUTED_BY_CLIENT"),
    ]
    for step, act, expected in steps:
        act()
        assert command(agency, target, command_id)["state"] == expected, step
    done = command(agency, target, command_id)
    assert done["type"] == "REMOTE_POWERWASH"
    assert done["commandResult"]["result"] == "SUCCESS"
    assert from_rfc3339(done["commandResult"]["executeTime"]) > from_rfc3339(done["issueTime"])
    wiped = device(agency, target)
    assert wiped["recentUsers"] == []
    assert wiped["status"] == "ACTIVE", "forced re-enrollment (the default) leaves it enrolled"
    assert wiped["lastEnrollmentTime"] == done["commandResult"]["executeTime"] != enrolled
    assert wiped["orgUnitPath"] == "/Chromebooks/Staging"


def test_an_online_device_picks_a_command_up_at_its_next_check_in(
    slow: RunningSandbox, agency: Any, ids: list[str]
) -> None:
    target = ids[0]
    slow.control.presence([target], online=True, checkin_interval_seconds=900)
    command_id = issue(agency, target, "REBOOT")
    slow.control.advance(seconds=600)
    assert command(agency, target, command_id)["state"] == "PENDING"
    slow.control.advance(seconds=330)
    assert command(agency, target, command_id)["state"] == "SENT_TO_CLIENT"


def test_a_check_in_forced_through_the_control_surface_delivers_at_once(
    slow: RunningSandbox, agency: Any, ids: list[str]
) -> None:
    command_id = issue(agency, ids[0], "WIPE_USERS")
    assert slow.control.check_in([ids[0]]) == 1
    assert command(agency, ids[0], command_id)["state"] == "SENT_TO_CLIENT"
    assert slow.control.device(ids[0])["online"] is False, "a check-in is not coming online"


@pytest.mark.parametrize(
    ("command_type", "days", "state"),
    [
        pytest.param("WIPE_USERS", 2.9, "PENDING", id="wipe-users-before-its-expiry"),
        pytest.param("WIPE_USERS", 3.1, "EXPIRED", id="wipe-users-after-three-days"),
        pytest.param("REBOOT", 3.1, "EXPIRED", id="reboot-after-three-days"),
        pytest.param("REMOTE_POWERWASH", 365, "PENDING", id="powerwash-waits-for-years"),
    ],
)
def test_commands_expire_undelivered(
    agency_sandbox: RunningSandbox, agency: Any, ids: list[str], command_type: str, days: float,
    state: str,
) -> None:  # fmt: skip
    command_id = issue(agency, ids[0], command_type)
    agency_sandbox.control.advance(days=days)
    assert command(agency, ids[0], command_id)["state"] == state
    agency_sandbox.control.online([ids[0]])
    after = command(agency, ids[0], command_id)["state"]
    assert after == ("EXPIRED" if state == "EXPIRED" else "SENT_TO_CLIENT")


@pytest.mark.parametrize(
    ("outcome", "wiped"),
    [
        pytest.param("SUCCESS", True, id="success-wipes"),
        pytest.param("FAILURE", False, id="failure-leaves-the-device"),
        pytest.param("IGNORED", False, id="ignored-leaves-the-device"),
    ],
)
def test_what_the_device_reports_for_a_command(
    agency_sandbox: RunningSandbox, agency: Any, ids: list[str], outcome: str, wiped: bool
) -> None:
    target = ids[0]
    with agency_sandbox.tenant.lock:
        agency_sandbox.tenant.devices.by_id[target].data["recentUsers"] = list(RECENT)
    agency_sandbox.control.presence([target], online=True, command_outcome=outcome)
    command_id = issue(agency, target, "WIPE_USERS")
    agency_sandbox.control.check_in([target])
    agency_sandbox.control.advance(minutes=5)
    done = command(agency, target, command_id)
    assert done["state"] == "EXECUTED_BY_CLIENT"
    assert done["commandResult"]["result"] == outcome
    assert ("errorMessage" in done["commandResult"]) is (outcome != "SUCCESS")
    assert (device(agency, target)["recentUsers"] == []) is wiped


def test_a_powerwash_without_forced_reenrollment_leaves_the_device_unenrolled_and_silent(
    agency_sandbox: RunningSandbox, agency: Any, ids: list[str]
) -> None:
    target = ids[0]
    agency_sandbox.control.presence([target], online=True, forced_reenrollment=False)
    enrolled = device(agency, target)["lastEnrollmentTime"]
    issue(agency, target, "REMOTE_POWERWASH")
    agency_sandbox.control.check_in([target])
    agency_sandbox.control.advance(minutes=5)
    assert agency_sandbox.control.device(target)["online"] is False
    assert device(agency, target)["lastEnrollmentTime"] == enrolled
    later = issue(agency, target, "REBOOT")
    agency_sandbox.control.advance(hours=1)
    assert command(agency, target, later)["state"] == "PENDING", "it never checks in again"


# --------------------------------------------------------------------------- presence, clock
def test_the_clock_moves_forward_only_and_online_devices_keep_syncing(
    agency_sandbox: RunningSandbox, agency: Any, ids: list[str]
) -> None:
    control = agency_sandbox.control
    online, offline = ids[0], ids[1]
    control.presence([online], online=True, checkin_interval_seconds=300)
    last_seen_offline = device(agency, offline)["lastSync"]
    start = control.clock()
    assert start["offset_seconds"] == 0
    now = control.advance(hours=2)["now"]
    assert 7200 <= now - start["now"] < 7260
    synced = from_rfc3339(device(agency, online)["lastSync"])
    assert now - 300 <= synced <= now, "an online device checks in every interval"
    assert device(agency, offline)["lastSync"] == last_seen_offline
    with pytest.raises(SandboxControlError, match="only moves forward"):
        control.advance(seconds=-1)


def test_a_longer_check_in_interval_means_staler_last_sync(
    agency_sandbox: RunningSandbox, agency: Any, ids: list[str]
) -> None:
    control = agency_sandbox.control
    control.presence([ids[0]], online=True, checkin_interval_seconds=3600)
    first = device(agency, ids[0])["lastSync"]
    control.advance(minutes=50)
    assert device(agency, ids[0])["lastSync"] == first
    control.advance(minutes=11)
    assert from_rfc3339(device(agency, ids[0])["lastSync"]) >= from_rfc3339(first) + 3600


def test_all_devices_online_skips_the_deprovisioned(
    agency_sandbox: RunningSandbox, agency: Any, ids: list[str]
) -> None:
    change_status(agency, ids[:2], "DEPROVISION", REASON)
    assert agency_sandbox.control.online(all=True) == 998
    assert agency_sandbox.control.status()["devicesOnline"] == 998
    with pytest.raises(SandboxControlError, match="deprovisioned and cannot come online"):
        agency_sandbox.control.online([ids[0]])
