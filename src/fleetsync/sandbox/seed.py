"""Seeded tenants: the agency's 1,000 Chromebooks, N devices for benchmarks, bulk users.

Everything is deterministic (a fixed seed): the same serials, asset tags and MAC addresses every
run, so a demo, a training script and a benchmark see the same tenant.

The agency (``../shared/CONTEXT.md``): 1,000 enrolled HP Chromebooks across six regions, 98 of them
the 4G (LTE) model, all in ``/Chromebooks/Staging`` before fleetsync adopts them, each carrying its
asset tag in ``annotatedAssetId`` and its region in ``annotatedLocation``.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any

from fleetsync.sandbox.clock import from_rfc3339, rfc3339
from fleetsync.sandbox.presence import Presence
from fleetsync.sandbox.tenant import Tenant
from fleetsync.sandbox.users import User

__all__ = [
    "AGENCY_DEVICES",
    "AGENCY_LTE_DEVICES",
    "AGENCY_REGIONS",
    "STAGING",
    "parse_fleet",
    "seed_agency",
    "seed_devices",
    "seed_users",
    "seeded_tenant",
]

STAGING = "/Chromebooks/Staging"
AGENCY_DEVICES = 1000
AGENCY_LTE_DEVICES = 98
#: Devices per region, and how many of them are the LTE model (they add up to 1,000 and 98).
_AGENCY_SPLIT = {
    "Antwerpen": (230, 23),
    "Brussel": (200, 20),
    "Limburg": (110, 11),
    "Oost-Vlaanderen": (190, 19),
    "Vlaams-Brabant": (120, 12),
    "West-Vlaanderen": (150, 13),
}
#: The agency's regions, in the order of fleetsync's default ``regions`` setting (a test checks).
AGENCY_REGIONS: tuple[str, ...] = tuple(_AGENCY_SPLIT)
WIFI_MODEL = "HP Chromebook 14 G7"
LTE_MODEL = "HP Chromebook 14 G7 LTE"
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_DAY = 86400.0

_GIVEN = (
    "Amira", "Yusuf", "Olena", "Mohammed", "Fatima", "Daniel", "Sara", "Ahmad", "Lina", "Omar",
    "Mariam", "Tariq", "Nadia", "Ivan", "Aylin", "Samir", "Zainab", "Karim", "Elif", "Joseph",
)  # fmt: skip
_FAMILY = (
    "Haddad", "Yilmaz", "Kovalenko", "El Amrani", "Diallo", "Popescu", "Nazari", "Mensah",
    "Rahimi", "Peeters", "Janssens", "Osei", "Bakr", "Shevchenko", "Demir", "Mertens",
)  # fmt: skip


def _serial(index: int) -> str:
    # HP serials: plant (5CD), year digit, week, four unique characters. A multiplicative
    # permutation of the index keeps them unique and scattered without a random draw each.
    n = (index * 1_299_709 + 7_919) % (len(_ALPHABET) ** 4)
    tail = ""
    for _ in range(4):
        n, digit = divmod(n, len(_ALPHABET))
        tail += _ALPHABET[digit]
    year = 3 + (index // (len(_ALPHABET) ** 4)) % 7
    week = 1 + (index * 7) % 52
    return f"5CD{year}{week:02d}{tail}"


def _mac(rng: random.Random) -> str:
    return "a4" + "".join(f"{rng.randrange(256):02x}" for _ in range(5))


def _device(
    rng: random.Random, index: int, *, lte: bool, asset: str, region: str, now: float
) -> dict[str, Any]:
    enrolled = now - (40 + rng.random() * 30) * _DAY
    synced = now - (1 + rng.random() * 10) * _DAY
    data: dict[str, Any] = {
        "deviceId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "serialNumber": _serial(index),
        "status": "ACTIVE",
        "model": LTE_MODEL if lte else WIFI_MODEL,
        "annotatedAssetId": asset,
        "annotatedLocation": region,
        "macAddress": _mac(rng),
        "osVersion": "126.0.6478.132",
        "platformVersion": "15886.44.0 (Official Build) stable-channel dedede",
        "firmwareVersion": "Google_Drawcia.13606.577.0",
        "bootMode": "Verified",
        "firstEnrollmentTime": rfc3339(enrolled),
        "lastEnrollmentTime": rfc3339(enrolled),
        "lastSync": rfc3339(synced),
        "manufactureDate": "2023-11-06",
        "autoUpdateThrough": "2031-06-30T00:00:00.000Z",
        "autoUpdateExpiration": "1940716800000",
        "willAutoRenew": False,
        "chromeOsType": "chromeOs",
        "deviceLicenseType": "education",
        "osVersionCompliance": "compliant",
        "systemRamTotal": "8589934592",
        "recentUsers": [],
    }
    if lte:
        data["meid"] = "35" + "".join(str(rng.randrange(10)) for _ in range(13))
    return data


def _presence(tenant: Tenant, synced: str) -> Presence:
    presence = tenant.new_presence()
    presence.last_checkin = from_rfc3339(synced)
    return presence


def seed_agency(tenant: Tenant) -> int:
    """The agency's fleet: 1,000 Chromebooks in staging, plus the ``/Students`` org unit."""
    staging = tenant.orgunits.ensure_path(STAGING)
    tenant.orgunits.ensure_path("/Students")
    rng = random.Random(20240901)  # noqa: S311 - a fixed, reproducible fleet
    now = tenant.clock.now()
    records = []
    index = len(tenant.devices)
    for region, (count, lte_count) in _AGENCY_SPLIT.items():
        # LTE devices are spread through each region's batch, not bunched at its end.
        lte_slots = set(rng.sample(range(count), lte_count))
        for slot in range(count):
            data = _device(
                rng,
                index,
                lte=slot in lte_slots,
                asset=f"AII-{index + 1:04d}",
                region=region,
                now=now,
            )
            records.append((data, staging, _presence(tenant, data["lastSync"])))
            index += 1
    added = tenant.devices.enrol_many(records)
    tenant.touch()
    return added


def _bench_devices(
    tenant: Tenant, count: int, org_unit_path: str, start: int
) -> Iterator[tuple[dict[str, Any], Any, Presence]]:
    unit = tenant.orgunits.ensure_path(org_unit_path)
    rng = random.Random(start + 1)  # noqa: S311
    now = tenant.clock.now()
    regions = AGENCY_REGIONS
    for offset in range(count):
        index = start + offset
        data = _device(
            rng,
            index,
            lte=index % 10 == 7,
            asset=f"BEN-{index + 1:06d}",
            region=regions[index % len(regions)],
            now=now,
        )
        yield data, unit, _presence(tenant, data["lastSync"])


def seed_devices(tenant: Tenant, count: int, *, org_unit_path: str = STAGING) -> int:
    """Enrol ``count`` more devices (benchmarks: 100,000 in a few seconds)."""
    if count < 0:
        raise ValueError(f"cannot seed {count} devices")
    start = len(tenant.devices)
    added = tenant.devices.enrol_many(_bench_devices(tenant, count, org_unit_path, start))
    tenant.touch()
    return added


def seed_users(
    tenant: Tenant,
    count: int,
    *,
    org_unit_path: str = "/Students",
    suspended: bool = False,
    borrower_prefix: str | None = None,
) -> int:
    """Create ``count`` more users in an org unit (created as if by an admin a month ago).

    With ``borrower_prefix`` each carries fleetsync's borrower external id (prefix + number)."""
    if count < 0:
        raise ValueError(f"cannot seed {count} users")
    unit = tenant.orgunits.ensure_path(org_unit_path)
    start = len(tenant.users) + len(tenant.users.deleted)
    created = tenant.clock.now() - 30 * _DAY

    def users() -> Iterator[User]:
        for offset in range(count):
            index = start + offset
            given = _GIVEN[index % len(_GIVEN)]
            family = _FAMILY[(index // len(_GIVEN)) % len(_FAMILY)]
            local = f"{given}.{family}".lower().replace(" ", "")
            data: dict[str, Any] = {
                "primaryEmail": f"{local}.{index}@{tenant.domain}",
                "name": {"givenName": given, "familyName": family},
                "orgUnitPath": unit.path,
                "suspended": suspended,
            }
            if borrower_prefix is not None:
                data["externalIds"] = [
                    {
                        "type": "custom",
                        "customType": "fleetsync_borrower",
                        "value": f"{borrower_prefix}{index}",
                    }
                ]
            yield User(user_id=tenant.new_user_id(), data=data, ou_id=unit.ou_id, created=created)

    added = tenant.users.add_many(users())
    tenant.touch()
    return added


def parse_fleet(value: str | int | None) -> str | int | None:
    """``agency``, a device count, or nothing (an empty tenant): what ``--fleet`` accepts."""
    if value is None or isinstance(value, int):
        return value
    text = value.strip().lower()
    if text in {"", "none", "empty"}:
        return None
    if text == "agency":
        return "agency"
    if text.isdigit():
        return int(text)
    raise ValueError(f"--fleet takes 'agency' or a number of devices, not {value!r}")


def seeded_tenant(
    fleet: str | int | None = None,
    *,
    domain: str = "example.org",
    account: Any = None,
) -> Tenant:
    """A new tenant with the fleet asked for: ``"agency"``, N devices, or None (empty)."""
    tenant = Tenant(domain, account=account)
    fleet = parse_fleet(fleet)
    if fleet == "agency":
        seed_agency(tenant)
    elif isinstance(fleet, int):
        tenant.orgunits.ensure_path("/Students")
        seed_devices(tenant, fleet)
    return tenant
