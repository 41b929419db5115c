"""The concurrent observation: devices read by org unit, accounts by region, side by side.

It must see what one listing of the customer sees, and a device that a person moves from one
partition to another while they are read is neither lost nor kept as it was before the move.
The moves happen at a known point of the read: with a concurrency of 1 the partitions are read
one after another (the root's first, then the org unit list's order), and the progress callback
runs when each is read.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator

import pytest

from fleetsync.domain.observed import Observation
from fleetsync.google import Google
from fleetsync.sync.config import layout_of
from fleetsync.sync.observe import Expected, observe_full
from tests.sync.conftest import Fleet


@pytest.fixture
def lent(adopted: Fleet) -> Fleet:
    """The adopted fleet with three devices lent: three accounts in /Students/Antwerpen."""
    for number, serial in enumerate(adopted.serials()[:3]):
        adopted.checkout(serial, f"B-{number}")
    assert adopted.sync().status == "converged"
    return adopted


@pytest.fixture
def one_at_a_time(lent: Fleet) -> Iterator[Google]:
    """fleetsync's client with a concurrency of 1: the partitions are read in a known order."""
    settings = lent.settings.model_copy(
        update={"sync": lent.settings.sync.model_copy(update={"concurrency": 1})}
    )
    with Google.connect(settings) as google:
        yield google


def _observe(fleet: Fleet, google: Google, **options: object) -> Observation:
    return observe_full(google, layout_of(fleet.settings), [], **options)  # type: ignore[arg-type]


def _move(fleet: Fleet, device_id: str, org_unit: str) -> None:
    fleet.sandbox.directory().chromeosdevices().moveDevicesToOu(
        customerId="my_customer", orgUnitPath=org_unit, body={"deviceIds": [device_id]}
    ).execute()


def _root_is_empty(fleet: Fleet) -> None:
    page = (
        fleet.sandbox.directory()
        .chromeosdevices()
        .list(customerId="my_customer", orgUnitPath=fleet.sandbox.tenant.orgunits.root.ou_id)
        .execute()
    )
    assert not page.get("chromeosdevices"), "the root's partition must be read in one page"


def test_the_partitions_see_what_one_listing_sees(lent: Fleet) -> None:
    assert lent.google.session.concurrency > 1  # the default
    whole = _observe(lent, lent.google, partitioned=False)
    lent.sandbox.control.reset_counters()
    parts = _observe(lent, lent.google)

    assert parts.devices == whole.devices
    assert parts.accounts == whole.accounts
    assert len(parts.accounts) == 3
    assert parts.org_units == whole.org_units
    # One listing per org unit and the root; one per region for the accounts.
    calls = lent.sandbox.control.counters()["calls"]
    assert calls["directory.chromeosdevices.list"] >= len(whole.org_units) + 1
    regions = [u for u in whole.org_units.values() if u.parent_path == "/Students"]
    assert calls["directory.users.list"] == len(regions)
    # In steady state nothing is read again.
    assert "directory.chromeosdevices.get" not in calls
    assert "directory.users.get" not in calls


def test_a_device_moved_into_a_partition_already_read_is_not_lost(
    lent: Fleet, one_at_a_time: Google
) -> None:
    _root_is_empty(lent)
    moved = lent.google_id(lent.serials()[5])  # in /Chromebooks/Spare, read after the root
    read: list[str] = []

    def progress(what: str, done: int, total: int | None) -> None:
        if what == "reading devices" and not read:
            read.append(what)  # the root is read: move the device into it
            _move(lent, moved, "/")

    lent.sandbox.control.reset_counters()
    seen = _observe(
        lent, one_at_a_time, progress=progress, partitioned=True, expected=Expected([moved])
    )

    assert read
    # No partition listed it; the ledger knows it, so it was read by id.
    assert seen.devices[moved].org_unit_path == "/"
    assert lent.sandbox.control.counters()["calls"]["directory.chromeosdevices.get"] == 1
    assert len(seen.devices) == len(_observe(lent, lent.google, partitioned=False).devices)


def test_a_device_moved_into_a_partition_not_yet_read_is_kept_as_it_is_now(
    lent: Fleet, one_at_a_time: Google
) -> None:
    _root_is_empty(lent)
    moved = lent.google_id(lent.serials()[5])
    _move(lent, moved, "/")  # the root's partition is read first
    read: list[str] = []

    def progress(what: str, done: int, total: int | None) -> None:
        if what == "reading devices" and not read:
            read.append(what)  # the root is read, with the device in it: move it out
            _move(lent, moved, "/Chromebooks/Spare")

    lent.sandbox.control.reset_counters()
    seen = _observe(lent, one_at_a_time, progress=progress, partitioned=True)

    assert read
    # Listed twice (the root, then Spare): read again by id, Google's answer now is kept.
    assert seen.devices[moved].org_unit_path == "/Chromebooks/Spare"
    assert lent.sandbox.control.counters()["calls"]["directory.chromeosdevices.get"] == 1
    assert len(seen.devices) == len(_observe(lent, lent.google, partitioned=False).devices)


def test_an_account_outside_every_region_is_read_by_id(lent: Fleet) -> None:
    whole = _observe(lent, lent.google, partitioned=False)
    [email, *_] = sorted(whole.accounts)
    lent.sandbox.directory().users().patch(
        userKey=email, body={"orgUnitPath": "/Students"}
    ).execute()
    expected = Expected(accounts=[(a.email, a.user_id) for a in whole.accounts.values()])

    lent.sandbox.control.reset_counters()
    seen = _observe(lent, lent.google, expected=expected)

    assert seen.accounts[email].org_unit_path == "/Students"
    assert set(seen.accounts) == set(whole.accounts)
    assert lent.sandbox.control.counters()["calls"]["directory.users.get"] == 1


def _enrol_stranger(fleet: Fleet, serial: str, org_unit: str) -> str:
    """A device with this serial, enrolled in the sandbox's tenant as Google would list it."""
    tenant = fleet.sandbox.tenant
    [template, *_] = tenant.devices.devices
    data = copy.deepcopy(template.data)
    data.update(deviceId=str(uuid.uuid4()), serialNumber=serial, annotatedAssetId="")
    tenant.devices.enrol(data, tenant.orgunits.get(org_unit), tenant.new_presence())
    return str(data["deviceId"])


def test_a_big_org_unit_read_in_parts_by_serial_misses_no_serial(lent: Fleet) -> None:
    # Serials the ledger does not expect, around every boundary of the parts: before and after
    # the shared stem (5CD3...), the stem itself, and inside it beyond the runs of characters.
    odd = ["0AA0001", "5CD", "5CD3", "5CD300AB", "5CD30Z12", "5CD3Z001", "5CE0001", "ZZZ9999"]
    strangers = {_enrol_stranger(lent, serial, "/Chromebooks/Spare") for serial in odd}
    whole = _observe(lent, lent.google, partitioned=False)
    assert strangers <= set(whole.devices)
    expected: dict[str, list[str]] = {}
    for device in whole.devices.values():
        if device.device_id not in strangers:
            expected.setdefault(device.org_unit_path, []).append(device.serial.upper())
    assert len(expected["/Chromebooks/Spare"]) > 900

    lent.sandbox.control.reset_counters()
    parts = _observe(lent, lent.google, expected=Expected(serials=expected, split_above=50))

    assert parts.devices == whole.devices
    calls = lent.sandbox.control.counters()["calls"]
    # Spare alone was read in dozens of parts (one listing would take 4 pages).
    assert calls["directory.chromeosdevices.list"] > len(whole.org_units) + 40
    assert "directory.chromeosdevices.get" not in calls
