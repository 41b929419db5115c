"""The control surface (``/_sandbox/...``): devices by id or serial number, every parameter
checked by name, and its own failures told apart from the caller's (raw HTTP, httpx)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fleetsync.sandbox.control import SandboxControlError
from fleetsync.sandbox.testing import RunningSandbox


def _send(sandbox: RunningSandbox, method: str, path: str, body: Any = None) -> httpx.Response:
    return httpx.request(method, sandbox.url + "_sandbox/" + path, json=body)


def test_devices_are_named_by_id_or_by_serial_number(agency_sandbox: RunningSandbox) -> None:
    control = agency_sandbox.control
    first, second, third = agency_sandbox.tenant.devices.devices[:3]
    serial = str(second.data["serialNumber"])
    assert control.device(serial.lower())["device"]["deviceId"] == second.device_id
    assert control.online([first.device_id, serial]) == 2
    assert control.check_in([str(third.data["serialNumber"])]) == 1
    assert [d.presence.online for d in (first, second, third)] == [True, True, False]
    with pytest.raises(SandboxControlError, match="'NO-SUCH-SERIAL'"):
        control.online([first.device_id, "NO-SUCH-SERIAL"])
    missing = _send(agency_sandbox, "GET", "devices/NO-SUCH-SERIAL")
    assert missing.status_code == 404
    assert "id or serial number 'NO-SUCH-SERIAL'" in missing.json()["error"]


def test_the_clock_advances_by_any_unit(sandbox: RunningSandbox) -> None:
    """``{"minutes": 10}`` used to be ignored (only seconds were read)."""
    answer = _send(sandbox, "POST", "clock/advance", {"minutes": 10, "hours": 1, "days": 1})
    assert answer.status_code == 200
    assert answer.json()["offset_seconds"] == 600 + 3600 + 86400


D = pytest.param
REFUSALS = [
    D("POST", "clock/advance", {"minuts": 10}, "unknown parameter 'minuts' (did you mean "
      "'minutes'?)", id="a-misspelt-unit"),
    D("POST", "clock/advance", {"seconds": "600"}, "seconds", id="a-number-as-text"),
    D("POST", "clock/advance", {"hours": -1}, "only moves forward", id="backwards"),
    D("POST", "devices/presence", {"all": True, "onlien": True}, "unknown parameter 'onlien'",
      id="presence-misspelt"),
    D("POST", "devices/presence", {"all": True, "command_outcome": "MAYBE"}, "command_outcome",
      id="presence-outcome-not-one-of-them"),
    D("POST", "devices/checkin", {}, "name the devices", id="checkin-no-devices"),
    D("POST", "devices/checkin", {"all": True, "device_ids": ["x"]}, "not both",
      id="checkin-both-ways"),
    D("PATCH", "faults", {"error_rat": 0.5}, "did you mean 'error_rate'?", id="faults-misspelt"),
    D("PATCH", "faults", {"error_rate": 1.5}, "error_rate", id="faults-rate-over-one"),
    D("PATCH", "faults", {"planned": [{"method": "x"}]}, "planned", id="faults-planned-not-empty"),
    D("PATCH", "quotas", {"queries_per_minute": 0}, "queries_per_minute", id="quota-zero"),
    D("PATCH", "quotas", {"queries": 10}, "unknown parameter 'queries'", id="quota-misnamed"),
    D("PATCH", "behaviour", {"checkin_interval_seconds": "5"}, "checkin_interval_seconds",
      id="behaviour-number-as-text"),
    D("POST", "faults/fail-next", {"method": "directory.user.insert"}, "no Google method",
      id="fail-next-an-unknown-method"),
    D("POST", "faults/fail-next", {"status": 200}, "an error status", id="fail-next-a-success"),
    D("POST", "seed/devices", {}, "missing parameter 'count'", id="seed-without-a-count"),
    D("PUT", "scopes", {"scope": []}, "did you mean 'scopes'?", id="scopes-misspelt"),
    D("POST", "counters/reset", {"all": True}, "takes: no parameters", id="a-route-without-any"),
    D("GET", "log?sinse=3", None, "unknown parameter 'sinse' (did you mean 'since'?)",
      id="a-misspelt-query-parameter"),
    D("GET", "log?limit=many", None, "limit", id="a-query-parameter-not-a-number"),
    D("GET", "status?verbose=1", None, "unknown parameter 'verbose'", id="a-query-to-status"),
    D("POST", "clock/advance", [10], "a JSON object", id="a-body-not-an-object"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "words"), REFUSALS)
def test_a_parameter_it_does_not_take_is_refused_by_name(
    agency_sandbox: RunningSandbox, method: str, path: str, body: Any, words: str
) -> None:
    sandbox = agency_sandbox
    before = (sandbox.tenant.version, sandbox.control.faults(), sandbox.control.quotas())
    answer = _send(sandbox, method, path, body)
    assert answer.status_code == 400, answer.text
    assert words in answer.json()["error"]
    assert (sandbox.tenant.version, sandbox.control.faults(), sandbox.control.quotas()) == before


def test_turning_on_a_deprovisioned_device_changes_none_of_the_others(
    agency_sandbox: RunningSandbox,
) -> None:
    sandbox = agency_sandbox
    first, second = sandbox.tenant.devices.devices[:2]
    second.data["status"] = "DEPROVISIONED"
    with pytest.raises(SandboxControlError, match="deprovisioned"):
        sandbox.control.online([first.device_id, second.device_id])
    assert not first.presence.online


def test_a_failure_of_the_surface_itself_is_a_500_that_says_so(
    agency_sandbox: RunningSandbox,
) -> None:
    """A device record broken as only a sandbox bug could leave it: the caller is told it was
    not its request, with a 500 (a KeyError used to come back as a client 400)."""
    broken = agency_sandbox.tenant.devices.devices[0]
    del broken.data["status"], broken.presence.commands
    answer = _send(agency_sandbox, "POST", "devices/checkin", {"device_ids": [broken.device_id]})
    assert answer.status_code == 500
    error = answer.json()["error"]
    assert "sandbox bug, not a problem with the request" in error
    assert "POST /_sandbox/devices/checkin" in error
