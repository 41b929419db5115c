"""The ``chromeosdevices`` methods: list (paged, queried, masked), get, patch/update, move.

A list page is projected once per call, not per device (``projector``): a 300-device page is most
of the cost of a list call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fleetsync.sandbox.device_query import parse_device_query
from fleetsync.sandbox.devices import Device
from fleetsync.sandbox.errors import ApiError
from fleetsync.sandbox.fields import apply_mask
from fleetsync.sandbox.paging import PageToken
from fleetsync.sandbox.presence import settle

if TYPE_CHECKING:
    from fleetsync.sandbox.calls import Call
    from fleetsync.sandbox.fields import Mask
    from fleetsync.sandbox.orgunits import OrgUnit
    from fleetsync.sandbox.tenant import Tenant

__all__ = ["FULL_ONLY", "HANDLERS", "device_view", "projector"]

#: What the BASIC projection leaves out (reports and user data).
FULL_ONLY = frozenset(
    {
        "recentUsers",
        "activeTimeRanges",
        "cpuStatusReports",
        "diskVolumeReports",
        "systemRamFreeReports",
        "lastKnownNetwork",
        "cpuInfo",
        "screenshotFiles",
        "deviceFiles",
        "backlightInfo",
        "fanInfo",
        "bluetoothAdapterInfo",
        "tpmVersionInfo",
    }
)
#: The annotations an admin may write, with Google's length limits.
ANNOTATION_LIMITS = {
    "annotatedUser": 100,
    "annotatedLocation": 200,
    "annotatedAssetId": 200,
    "notes": 500,
}


def device_view(device: Device, projection: str, item_mask: Mask | None) -> dict[str, Any]:
    view: dict[str, Any] = projector(projection, item_mask)(device.data)
    return view


def projector(
    projection: str, item_mask: Mask | None
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """What one device looks like in an answer, decided once per call rather than per device
    (a 300-device page is most of the cost of a list call)."""
    basic = projection == "BASIC"
    if item_mask is None:
        if basic:
            return lambda data: {k: v for k, v in data.items() if k not in FULL_ONLY}
        return dict
    if "*" in item_mask:
        return lambda data: {
            k: v for k, v in apply_mask(item_mask, data).items() if not (basic and k in FULL_ONLY)
        }
    allowed = [key for key in item_mask if not (basic and key in FULL_ONLY)]
    whole = tuple(key for key in allowed if item_mask[key] is None)
    nested = tuple((key, item_mask[key]) for key in allowed if item_mask[key] is not None)
    if not nested:
        return lambda data: {key: data[key] for key in whole if key in data}

    def view(data: dict[str, Any]) -> dict[str, Any]:
        shown = {key: data[key] for key in whole if key in data}
        for key, sub in nested:
            if key in data:
                shown[key] = apply_mask(sub, data[key])
        return shown

    return view


def _org_units_to_list(tenant: Tenant, params: dict[str, Any]) -> list[str] | None:
    reference = params.get("orgUnitPath")
    if not reference:
        if params.get("includeChildOrgunits"):
            raise ApiError(
                400,
                "invalid",
                "Invalid Input: includeChildOrgunits requires orgUnitPath",
                location="includeChildOrgunits",
            )
        return None
    unit = tenant.orgunits.get(reference)
    if params.get("includeChildOrgunits"):
        return tenant.orgunits.subtree(unit.ou_id)
    return [unit.ou_id]


def _list(call: Call) -> dict[str, Any]:
    tenant, params = call.tenant, call.params
    token = PageToken.read(params, "directory.chromeosdevices.list")
    ou_ids = _org_units_to_list(tenant, params)
    query = parse_device_query(params.get("query"))
    now = tenant.clock.now()
    devices, cursor = tenant.devices.page(
        ou_ids=ou_ids,
        query=query,
        order_by=params.get("orderBy"),
        descending=params.get("sortOrder") == "DESCENDING",
        cursor=token.cursor if token else None,
        limit=int(params.get("maxResults", 100)),
        settle_at=(now, tenant.behaviour),
    )
    item_mask = None
    if call.mask is not None:
        item_mask = call.mask.get("chromeosdevices", {}) or None
        if "chromeosdevices" not in call.mask and "*" not in call.mask:
            devices = []
    project = projector(params.get("projection", "FULL"), item_mask)
    behaviour = tenant.behaviour
    views = []
    for device in devices:
        settle(device.presence, device.data, now, behaviour)
        views.append(project(device.data))
    body: dict[str, Any] = {"kind": "admin#directory#chromeosdevices", "etag": '"devices"'}
    if views:
        body["chromeosdevices"] = views
    if cursor is not None:
        body["nextPageToken"] = PageToken.write(params, "directory.chromeosdevices.list", cursor)
    call.mask_applied = True
    if call.mask is not None and "*" not in call.mask:
        return {k: v for k, v in body.items() if k in call.mask}
    return body


def _settled(call: Call) -> Device:
    tenant = call.tenant
    device = tenant.devices.get(call.params["deviceId"])
    settle(device.presence, device.data, tenant.clock.now(), tenant.behaviour)
    return device


def _get(call: Call) -> dict[str, Any]:
    return device_view(_settled(call), call.params.get("projection", "FULL"), None)


def _patch(call: Call) -> dict[str, Any]:
    tenant = call.tenant
    device = _settled(call)
    body: dict[str, Any] = call.body or {}
    target: OrgUnit | None = None
    if body.get("orgUnitId"):
        target = tenant.orgunits.get("id:" + str(body["orgUnitId"]).removeprefix("id:"))
    elif body.get("orgUnitPath"):
        target = tenant.orgunits.get(str(body["orgUnitPath"]))
    for key, limit in ANNOTATION_LIMITS.items():
        if key not in body:
            continue
        value = body[key]
        if value is not None and len(str(value)) > limit:
            raise ApiError(
                400,
                "invalid",
                f"Invalid Input: {key} is longer than {limit} characters",
                location=key,
            )
    for key in ANNOTATION_LIMITS:
        if key in body:
            tenant.devices.annotate(device, key, None if body[key] is None else str(body[key]))
    if target is not None:
        tenant.devices.move(device, target)
    else:
        tenant.devices.changed(device)
    tenant.touch()
    return device_view(device, call.params.get("projection", "FULL"), None)


def _move(call: Call) -> None:
    tenant = call.tenant
    ids = list((call.body or {}).get("deviceIds") or [])
    if len(ids) > 50:
        raise ApiError(
            400,
            "invalid",
            f"Invalid Input: at most 50 devices can be moved in one call; got {len(ids)}",
            location="deviceIds",
            location_type="body",
        )
    target = tenant.orgunits.get(call.params["orgUnitPath"])
    now = tenant.clock.now()
    for device_id in ids:
        # Google barely checks the ids here: unknown ones are skipped without a word.
        device = tenant.devices.by_id.get(str(device_id))
        if device is not None:
            settle(device.presence, device.data, now, tenant.behaviour)
            tenant.devices.move(device, target)
    tenant.touch()


HANDLERS = {
    "directory.chromeosdevices.list": _list,
    "directory.chromeosdevices.get": _get,
    "directory.chromeosdevices.patch": _patch,
    "directory.chromeosdevices.update": _patch,
    "directory.chromeosdevices.moveDevicesToOu": _move,
}
