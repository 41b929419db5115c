"""Chrome devices: the fleet and its indexes (its methods are in ``methods/devices.py``).

Devices are kept in enrolment order with three indexes: per org unit (sorted enrolment numbers),
serial numbers (sorted, for ``id:`` prefix queries by bisect) and asset ids. A list page walks
only what it returns, so a 300-device page of a 100,000-device tenant costs the same as one of a
1,000-device tenant.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

from fleetsync.sandbox.device_query import DeviceQuery
from fleetsync.sandbox.errors import not_found
from fleetsync.sandbox.membership import OrgUnitMembers
from fleetsync.sandbox.presence import Presence, settle

if TYPE_CHECKING:
    from fleetsync.sandbox.orgunits import OrgUnit

__all__ = ["Device", "DeviceFleet"]


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
