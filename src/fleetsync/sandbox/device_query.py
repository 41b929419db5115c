"""The ``query`` of ``chromeosdevices.list``: Google's list-query operators for Chrome devices.

``id:`` is a *prefix* match on the serial number (Google needs at least three characters; GAM
once deprovisioned 97 devices because of it), ``asset_id:`` an exact one, and the text
operators (``user:``, ``location:``, ``note:``, ``public_model_name:``, bare words) match
case-insensitively inside the field. Terms separated by spaces must all match.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fleetsync.sandbox.errors import ApiError

__all__ = ["DeviceQuery", "parse_device_query"]

Predicate = Callable[[dict[str, Any]], bool]

_STATUS = {
    "provisioned": {"ACTIVE"},
    "active": {"ACTIVE"},
    "disabled": {"DISABLED"},
    "deprovisioned": {"DEPROVISIONED"},
}
_TEXT_FIELDS = {
    "user": ("annotatedUser",),
    "location": ("annotatedLocation",),
    "note": ("notes",),
    "public_model_name": ("model",),
    "model": ("model",),
    "wifi_mac": ("macAddress",),
    "ethernet_mac": ("ethernetMacAddress",),
    "meid": ("meid",),
}
_BARE_FIELDS = (
    "serialNumber",
    "annotatedAssetId",
    "annotatedUser",
    "annotatedLocation",
    "notes",
    "model",
    "macAddress",
)
_MIN_SERIAL_PREFIX = 3


@dataclass
class DeviceQuery:
    #: Upper-cased serial prefixes (``id:``); a device must match all of them.
    serial_prefixes: list[str] = field(default_factory=list)
    #: Upper-cased asset ids (``asset_id:``), matched exactly.
    asset_ids: list[str] = field(default_factory=list)
    predicates: list[Predicate] = field(default_factory=list)
    #: A term that can match nothing (a serial prefix under three characters).
    impossible: bool = False

    @property
    def indexed(self) -> bool:
        return bool(self.serial_prefixes or self.asset_ids)

    def matches(self, data: dict[str, Any]) -> bool:
        serial = str(data.get("serialNumber", "")).upper()
        if any(not serial.startswith(prefix) for prefix in self.serial_prefixes):
            return False
        asset = str(data.get("annotatedAssetId", "")).upper()
        if any(asset != wanted for wanted in self.asset_ids):
            return False
        return all(predicate(data) for predicate in self.predicates)


def _contains(names: tuple[str, ...], needle: str) -> Predicate:
    wanted = needle.lower()
    return lambda data: any(wanted in str(data.get(name, "")).lower() for name in names)


def _recent_user(wanted: str) -> Predicate:
    return lambda data: any(
        wanted in str(user.get("email", "")).lower() for user in data.get("recentUsers", ())
    )


def _status(statuses: set[str]) -> Predicate:
    return lambda data: data.get("status") in statuses


def _day(text: str) -> float:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise ApiError(
            400, "invalid", f"Invalid Input: {text!r} is not a date (YYYY-MM-DD)"
        ) from None


def _date_range(field_name: str, value: str) -> Predicate:
    low, sep, high = value.partition("..")
    start = _day(low) if low else float("-inf")
    end = (_day(high) if high else float("inf")) if sep else start + 86400
    if sep and high:
        end += 86400  # the end day is included

    def check(data: dict[str, Any]) -> bool:
        text = data.get(field_name)
        if not text:
            return False
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
        return start <= moment < end

    return check


def parse_device_query(text: str | None) -> DeviceQuery:
    query = DeviceQuery()
    if not text or not text.strip():
        return query
    try:
        terms = shlex.split(text)
    except ValueError:
        raise ApiError(
            400, "invalid", f"Invalid Input: unbalanced quotes in query {text!r}"
        ) from None
    for term in terms:
        key, colon, value = term.partition(":")
        if not colon:
            query.predicates.append(_contains(_BARE_FIELDS, term))
            continue
        key = key.lower()
        if key == "id":
            prefix = value.upper()
            if len(prefix) < _MIN_SERIAL_PREFIX:
                query.impossible = True
            query.serial_prefixes.append(prefix)
        elif key == "asset_id":
            query.asset_ids.append(value.upper())
        elif key == "status":
            if value.lower() == "managed":
                query.predicates.append(lambda data: data.get("status") != "DEPROVISIONED")
                continue
            statuses = _STATUS.get(value.lower(), {value.upper()})
            query.predicates.append(_status(statuses))
        elif key in _TEXT_FIELDS:
            query.predicates.append(_contains(_TEXT_FIELDS[key], value))
        elif key == "recent_user":
            query.predicates.append(_recent_user(value.lower()))
        elif key == "sync":
            query.predicates.append(_date_range("lastSync", value))
        elif key == "register":
            query.predicates.append(_date_range("lastEnrollmentTime", value))
        else:
            raise ApiError(
                400,
                "invalid",
                f"Invalid Input: unknown query operator {key!r}: (see Google's list query "
                "operators for Chrome devices)",
            )
    return query
