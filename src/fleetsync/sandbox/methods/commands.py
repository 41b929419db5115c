"""``customer.devices.chromeos``: status changes, remote commands, and the devices' presence.

Status changes follow Google: DISABLE an active device, REENABLE a disabled one (it may need a
licence), DEPROVISION either with a reason; a deprovisioned device can never be re-enabled.
Devices fail one by one in the answer. A command is stored on its device and moves on as the
device checks in (see ``presence.py``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fleetsync.sandbox.clock import rfc3339
from fleetsync.sandbox.errors import ApiError, not_found
from fleetsync.sandbox.presence import Command, settle

if TYPE_CHECKING:
    from fleetsync.sandbox.calls import Call
    from fleetsync.sandbox.devices import Device
    from fleetsync.sandbox.tenant import Tenant

__all__ = ["HANDLERS", "MAX_DEVICES_PER_CALL"]

MAX_DEVICES_PER_CALL = 50
_ACTION = "CHANGE_CHROME_OS_DEVICE_STATUS_ACTION_"
_PAYLOAD_COMMANDS = frozenset({"SET_VOLUME", "DEVICE_START_CRD_SESSION", "FETCH_SUPPORT_PACKET"})
# google.rpc.Code values used in per-device results.
_NOT_FOUND, _FAILED_PRECONDITION = 5, 9


def _refusal(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message}


def _change_one(
    tenant: Tenant, device: Device, action: str, reason: str | None
) -> dict[str, Any] | None:
    """Apply one status change; returns the per-device error, or None when it succeeded."""
    data, status = device.data, device.data.get("status")
    behaviour = tenant.behaviour
    if action == "DISABLE":
        if status == "DEPROVISIONED":
            return _refusal(_FAILED_PRECONDITION, "A deprovisioned device cannot be disabled.")
        if status == "DISABLED":
            return _refusal(_FAILED_PRECONDITION, "The device is already disabled.")
        data["status"] = "DISABLED"
    elif action == "REENABLE":
        if status == "DEPROVISIONED":
            return _refusal(
                _FAILED_PRECONDITION, "A deprovisioned device cannot be re-enabled; re-enrol it."
            )
        if status != "DISABLED":
            return _refusal(_FAILED_PRECONDITION, "The device is not disabled.")
        if behaviour.licences_available is not None:
            if behaviour.licences_available <= 0:
                return _refusal(
                    _FAILED_PRECONDITION,
                    "No Chrome upgrade licence is left to re-enable the device.",
                )
            behaviour.licences_available -= 1
        data["status"] = "ACTIVE"
    else:
        if status == "DEPROVISIONED":
            return _refusal(_FAILED_PRECONDITION, "The device is already deprovisioned.")
        data["status"] = "DEPROVISIONED"
        data["deprovisionReason"] = reason
        data["lastDeprovisionTimestamp"] = rfc3339(tenant.clock.now())
        device.presence.online = False  # a deprovisioned device no longer reports
        if behaviour.licences_available is not None:
            behaviour.licences_available += 1
    tenant.devices.changed(device)
    return None


def _batch_change_status(call: Call) -> dict[str, Any]:
    tenant, body = call.tenant, dict(call.body or {})
    ids = [str(i) for i in body.get("deviceIds") or []]
    if not ids:
        raise ApiError(400, "required", "Missing required field: deviceIds.", location="deviceIds")
    if len(ids) > MAX_DEVICES_PER_CALL:
        raise ApiError(
            400,
            "invalid",
            f"Invalid Input: at most {MAX_DEVICES_PER_CALL} devices per call; got {len(ids)}",
            location="deviceIds",
        )
    action = str(body.get("changeChromeOsDeviceStatusAction") or "").removeprefix(_ACTION)
    if action not in {"DISABLE", "REENABLE", "DEPROVISION"}:
        raise ApiError(
            400,
            "required",
            "changeChromeOsDeviceStatusAction is required (DISABLE, REENABLE or DEPROVISION).",
            location="changeChromeOsDeviceStatusAction",
        )
    reason = body.get("deprovisionReason")
    if action == "DEPROVISION" and reason in (None, "", "DEPROVISION_REASON_UNSPECIFIED"):
        raise ApiError(
            400,
            "required",
            "deprovisionReason is required to deprovision a device.",
            location="deprovisionReason",
        )
    now = tenant.clock.now()
    results = []
    for device_id in ids:
        device = tenant.devices.by_id.get(device_id)
        result: dict[str, Any] = {"deviceId": device_id}
        if device is None:
            result["error"] = _refusal(_NOT_FOUND, "Device not found.")
        else:
            settle(device.presence, device.data, now, tenant.behaviour)
            error = _change_one(tenant, device, action, str(reason) if reason else None)
            if error is None:
                result["response"] = {}
            else:
                result["error"] = error
        results.append(result)
    tenant.touch()
    return {"changeChromeOsDeviceStatusResults": results}


def _issue_command(call: Call) -> dict[str, Any]:
    tenant, body = call.tenant, dict(call.body or {})
    device = tenant.devices.get(call.params["deviceId"])
    command_type = str(body.get("commandType") or "")
    if command_type in {"", "COMMAND_TYPE_UNSPECIFIED"}:
        raise ApiError(400, "required", "commandType is required.", location="commandType")
    payload = body.get("payload")
    if payload is not None:
        if command_type not in _PAYLOAD_COMMANDS:
            raise ApiError(400, "invalid", f"{command_type} takes no payload.", location="payload")
        try:
            parsed = json.loads(str(payload))
        except ValueError:
            raise ApiError(400, "invalid", "payload must be a JSON object string.") from None
        if command_type == "SET_VOLUME" and not (
            isinstance(parsed, dict)
            and isinstance(parsed.get("volume"), int)
            and 0 <= parsed["volume"] <= 100
        ):
            raise ApiError(400, "invalid", 'SET_VOLUME needs payload {"volume": 0..100}.')
    elif command_type == "SET_VOLUME":
        raise ApiError(400, "required", 'SET_VOLUME needs payload {"volume": 0..100}.')
    if device.data.get("status") == "DEPROVISIONED":
        raise ApiError(
            400, "invalid", "Invalid Input: the device is deprovisioned and takes no commands"
        )
    now = tenant.clock.now()
    settle(device.presence, device.data, now, tenant.behaviour)
    command = Command(
        command_id=tenant.new_command_id(),
        type=command_type,
        issue_time=now,
        expire_time=now + tenant.behaviour.expiry(command_type),
        payload=None if payload is None else str(payload),
        outcome=device.presence.command_outcome,
    )
    device.presence.commands.append(command)
    tenant.touch()
    return {"commandId": command.command_id}


def _get_command(call: Call) -> dict[str, Any]:
    tenant = call.tenant
    device = tenant.devices.get(call.params["deviceId"])
    now = tenant.clock.now()
    settle(device.presence, device.data, now, tenant.behaviour)
    wanted = str(call.params["commandId"])
    for command in device.presence.commands:
        if command.command_id == wanted:
            return command.view(now, tenant.behaviour)
    raise not_found("commandId")


HANDLERS = {
    "admin.customer.devices.chromeos.batchChangeStatus": _batch_change_status,
    "admin.customer.devices.chromeos.issueCommand": _issue_command,
    "admin.customer.devices.chromeos.commands.get": _get_command,
}
