"""Chrome devices: the fleet, its indexes, and the ``chromeosdevices`` methods.

Devices are kept in enrolment order with three indexes: per org unit (sorted enrolment numbers),
serial numbers (sorted, for ``id:`` prefix queries by bisect) and asset ids. A list page walks
only what it returns, so a 300-device page of a 100,000-device tenant costs the same as one of a
1,000-device tenant.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

from fleetsync.sandbox.device_query import DeviceQuery, parse_device_query
from fleetsync.sandbox.errors import ApiError, not_found
from fleetsync.sandbox.membership import OrgUnitMembers
from fleetsync.sandbox.paging import PageToken
from fleetsync.sandbox.presence import Presence, settle

if TYPE_CHECKING:
    from fleetsync.sandbox.calls import Call
    from fleetsync.sandbox.fields import Mask
    from fleetsync.sandbox.orgunits import OrgUnit
    from fleetsync.sandbox.tenant import Tenant

__all__ = ["FULL_ONLY", "HANDLERS", "Device", "DeviceFleet"]

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


@dataclass
class Device:
    seq: int
    data: dict[str, Any]
    ou_id: str
    presence: Presence

    @property
    def device_id(self) -> str:
        return str(self.data["deviceId"])


def _etag(device_id: str, previous: str) -> str:
    # Chained from the previous etag, so it survives a save and a restart (``--state``) and a
    # device never gets back an etag it had before.
    text = f"{device_id}/{previous}"
    return f'"{hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:27]}"'


class DeviceFleet:
    def __init__(self) -> None:
        self.devices: list[Device] = []
        self.by_id: dict[str, Device] = {}
        self.members: OrgUnitMembers[int] = OrgUnitMembers()
        self._serials: list[tuple[str, int]] = []
        self._assets: dict[str, set[int]] = {}

    def __len__(self) -> int:
        return len(self.devices)

    # ------------------------------------------------------------------------ storage
    def enrol(self, data: dict[str, Any], ou: OrgUnit, presence: Presence) -> Device:
        device = self._append(data, ou, presence)
        insort(self._serials, (str(data.get("serialNumber", "")).upper(), device.seq))
        self.members.add(ou.ou_id, device.seq)
        return device

    def enrol_many(self, records: Iterable[tuple[dict[str, Any], OrgUnit, Presence]]) -> int:
        """Bulk enrolment (seeding 100,000 devices): indexes rebuilt once at the end."""
        added: dict[str, list[int]] = {}
        count = 0
        for data, ou, presence in records:
            device = self._append(data, ou, presence)
            self._serials.append((str(data.get("serialNumber", "")).upper(), device.seq))
            added.setdefault(ou.ou_id, []).append(device.seq)
            count += 1
        self._serials.sort()
        for ou_id, seqs in added.items():
            self.members.extend_sorted(ou_id, seqs)
        return count

    def _append(self, data: dict[str, Any], ou: OrgUnit, presence: Presence) -> Device:
        if data["deviceId"] in self.by_id:
            raise ValueError(f"device {data['deviceId']} is already enrolled")
        device = Device(seq=len(self.devices), data=data, ou_id=ou.ou_id, presence=presence)
        data["orgUnitPath"] = ou.path
        data["orgUnitId"] = ou.ou_id
        data.setdefault("kind", "admin#directory#chromeosdevice")
        data.setdefault("etag", _etag(device.device_id, ""))
        self.devices.append(device)
        self.by_id[device.device_id] = device
        asset = str(data.get("annotatedAssetId") or "").upper()
        if asset:
            self._assets.setdefault(asset, set()).add(device.seq)
        return device

    def get(self, device_id: str) -> Device:
        device = self.by_id.get(device_id)
        if device is None:
            raise not_found("deviceId")
        return device

    def with_serial(self, serial: str) -> list[Device]:
        """The devices whose serial number is exactly ``serial`` (in any case)."""
        key = serial.strip().upper()
        start = bisect_left(self._serials, (key, -1))
        found: list[Device] = []
        for number, seq in islice(self._serials, start, None):
            if number != key:
                break
            found.append(self.devices[seq])
        return found

    def changed(self, device: Device) -> None:
        device.data["etag"] = _etag(device.device_id, str(device.data.get("etag", "")))

    def move(self, device: Device, ou: OrgUnit) -> None:
        if device.ou_id != ou.ou_id:
            self.members.remove(device.ou_id, device.seq)
            self.members.add(ou.ou_id, device.seq)
            device.ou_id = ou.ou_id
        device.data["orgUnitPath"] = ou.path
        device.data["orgUnitId"] = ou.ou_id
        self.changed(device)

    def annotate(self, device: Device, key: str, value: str | None) -> None:
        if key == "annotatedAssetId":
            old = str(device.data.get(key) or "").upper()
            if old:
                self._assets.get(old, set()).discard(device.seq)
            if value:
                self._assets.setdefault(value.upper(), set()).add(device.seq)
        if value is None:
            device.data.pop(key, None)
        else:
            device.data[key] = value

    def refresh_paths(self, ou_ids: Iterable[str], paths: dict[str, str]) -> None:
        for ou_id in ou_ids:
            for seq in self.members.keys(ou_id):
                self.devices[seq].data["orgUnitPath"] = paths[ou_id]

    # ------------------------------------------------------------------------ queries
    def _indexed(self, query: DeviceQuery) -> list[int]:
        found: set[int] | None = None
        for prefix in query.serial_prefixes:
            start = bisect_left(self._serials, (prefix, -1))
            seqs: set[int] = set()
            for serial, seq in islice(self._serials, start, None):
                if not serial.startswith(prefix):
                    break
                seqs.add(seq)
            found = seqs if found is None else found & seqs
        for asset in query.asset_ids:
            seqs = self._assets.get(asset, set())
            found = set(seqs) if found is None else found & seqs
        return sorted(found or ())

    def page(
        self,
        *,
        ou_ids: list[str] | None,
        query: DeviceQuery,
        order_by: str | None,
        descending: bool,
        cursor: Any,
        limit: int,
        settle_at: tuple[float, Any],
    ) -> tuple[list[Device], Any]:
        """One page after ``cursor``; returns the devices and the next cursor (None at the end)."""
        if query.impossible:
            return [], None
        if order_by is None and not query.indexed:
            return self._stream(ou_ids, query, cursor, limit)
        return self._sorted(ou_ids, query, order_by, descending, cursor, limit, settle_at)

    def _stream(
        self, ou_ids: list[str] | None, query: DeviceQuery, cursor: Any, limit: int
    ) -> tuple[list[Device], Any]:
        after = int(cursor) if cursor is not None else None
        seqs: Iterator[int]
        if ou_ids is None:
            seqs = iter(range(0 if after is None else after + 1, len(self.devices)))
        else:
            seqs = self.members.after(ou_ids, after)
        page: list[Device] = []
        for seq in seqs:
            device = self.devices[seq]
            if query.predicates and not query.matches(device.data):
                continue
            if len(page) == limit:
                return page, page[-1].seq
            page.append(device)
        return page, None

    def _sorted(
        self,
        ou_ids: list[str] | None,
        query: DeviceQuery,
        order_by: str | None,
        descending: bool,
        cursor: Any,
        limit: int,
        settle_at: tuple[float, Any],
    ) -> tuple[list[Device], Any]:
        if query.indexed:
            wanted = set(ou_ids) if ou_ids is not None else None
            candidates = [
                self.devices[s]
                for s in self._indexed(query)
                if wanted is None or self.devices[s].ou_id in wanted
            ]
        elif ou_ids is None:
            candidates = self.devices
        else:
            candidates = [self.devices[s] for s in self.members.after(ou_ids, None)]
        matches = [d for d in candidates if query.matches(d.data)]
        if order_by == "lastSync":
            now, behaviour = settle_at
            for device in matches:
                settle(device.presence, device.data, now, behaviour)
        keyed = sorted(
            ((str(d.data.get(order_by, "")).lower() if order_by else "", d.seq), d) for d in matches
        )
        if descending:
            keyed.reverse()
        start = 0
        if cursor is not None:
            mark = (str(cursor[0]), int(cursor[1]))
            start = next(
                (
                    i
                    for i, (key, _) in enumerate(keyed)
                    if (key < mark if descending else key > mark)
                ),
                len(keyed),
            )
        chunk = keyed[start : start + limit]
        more = start + limit < len(keyed)
        next_cursor = list(chunk[-1][0]) if more and chunk else None
        return [device for _, device in chunk], next_cursor


# ---------------------------------------------------------------------------- wire
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
    from fleetsync.sandbox.fields import apply_mask

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
