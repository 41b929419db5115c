"""Conformance: ``chromeosdevices`` through Google's own client, over real HTTP, real token."""

from __future__ import annotations

from typing import Any

import pytest

from fleetsync.google.wire import DEVICE_FIELDS
from fleetsync.sandbox.seed import AGENCY_DEVICES, AGENCY_LTE_DEVICES, AGENCY_REGIONS, STAGING
from fleetsync.sandbox.testing import RunningSandbox
from fleetsync.settings import DEFAULT_REGIONS

CUSTOMER = "my_customer"


def list_all(api: Any, **params: Any) -> list[dict[str, Any]]:
    devices: list[dict[str, Any]] = []
    token = None
    while True:
        page = api.chromeosdevices().list(customerId=CUSTOMER, pageToken=token, **params).execute()
        devices.extend(page.get("chromeosdevices", []))
        token = page.get("nextPageToken")
        if not token:
            return devices


def test_the_agency_fleet_is_seeded_as_the_context_describes(agency: Any) -> None:
    devices = list_all(agency, maxResults=300, projection="FULL")
    assert len(devices) == AGENCY_DEVICES
    assert sum("LTE" in d["model"] for d in devices) == AGENCY_LTE_DEVICES
    assert {d["orgUnitPath"] for d in devices} == {STAGING}
    assert {d["annotatedLocation"] for d in devices} == {
        "Antwerpen", "Brussel", "Limburg", "Oost-Vlaanderen", "Vlaams-Brabant", "West-Vlaanderen",
    }  # fmt: skip
    assert len({d["serialNumber"] for d in devices}) == AGENCY_DEVICES
    assert len({d["annotatedAssetId"] for d in devices}) == AGENCY_DEVICES
    assert all(d["status"] == "ACTIVE" and "annotatedUser" not in d for d in devices)
    assert all(
        len(d["serialNumber"]) == 10 and d["serialNumber"].startswith("5CD") for d in devices
    )


def test_the_seeded_regions_are_fleetsyncs_default_regions() -> None:
    """The sandbox reads no fleetsync settings: its own list of the agency's regions must stay
    the one fleetsync ships as its default, in the same order (bench fleets cycle through it)."""
    assert AGENCY_REGIONS == DEFAULT_REGIONS


@pytest.mark.parametrize(
    ("org_unit", "children", "expected"),
    [
        pytest.param("Chromebooks", True, AGENCY_DEVICES, id="subtree-without-slash"),
        pytest.param("/Chromebooks", True, AGENCY_DEVICES, id="subtree-with-slash"),
        pytest.param("Chromebooks", False, 0, id="parent-only"),
        pytest.param("Chromebooks/Staging", False, AGENCY_DEVICES, id="path-without-slash"),
        pytest.param("/Chromebooks/Staging", False, AGENCY_DEVICES, id="path-with-slash"),
        pytest.param("chromebooks/staging", False, AGENCY_DEVICES, id="case-insensitive"),
        pytest.param("ID", False, AGENCY_DEVICES, id="org-unit-id"),
        pytest.param("Students", True, 0, id="other-subtree"),
    ],
)
def test_list_by_org_unit(
    agency_sandbox: RunningSandbox, agency: Any, org_unit: str, children: bool, expected: int
) -> None:
    if org_unit == "ID":
        org_unit = "id:" + agency_sandbox.tenant.orgunits.get(STAGING).ou_id
    params: dict[str, Any] = {"orgUnitPath": org_unit, "maxResults": 300}
    if children:
        params["includeChildOrgunits"] = True
    devices = list_all(agency, **params)
    assert len(devices) == expected
    assert len({d["deviceId"] for d in devices}) == expected


def test_pages_are_300_with_stable_tokens_across_writes(agency: Any) -> None:
    first = agency.chromeosdevices().list(customerId=CUSTOMER, maxResults=300).execute()
    assert len(first["chromeosdevices"]) == 300
    # A device from page one moves away between the pages: nothing repeats, nothing is skipped.
    moved = first["chromeosdevices"][0]["deviceId"]
    agency.chromeosdevices().patch(
        customerId=CUSTOMER, deviceId=moved, body={"orgUnitPath": "/Students"}
    ).execute()
    rest = list_all(agency, orgUnitPath="Chromebooks", includeChildOrgunits=True, maxResults=300)
    seen = [d["deviceId"] for d in first["chromeosdevices"][1:]]
    second = (
        agency.chromeosdevices()
        .list(customerId=CUSTOMER, maxResults=300, pageToken=first["nextPageToken"])
        .execute()
    )
    assert not set(seen) & {d["deviceId"] for d in second["chromeosdevices"]}
    assert len(rest) == AGENCY_DEVICES - 1


def test_fields_mask_returns_exactly_what_was_asked(agency: Any) -> None:
    page = (
        agency.chromeosdevices()
        .list(
            customerId=CUSTOMER,
            maxResults=5,
            projection="BASIC",
            fields=f"nextPageToken,chromeosdevices({DEVICE_FIELDS})",
        )
        .execute()
    )
    assert set(page) == {"nextPageToken", "chromeosdevices"}
    wanted = set(DEVICE_FIELDS.split(","))
    for device in page["chromeosdevices"]:
        assert set(device) <= wanted
        assert {"deviceId", "serialNumber", "status", "orgUnitPath", "lastSync"} <= set(device)


def test_fields_mask_without_the_list_returns_only_the_token(agency: Any) -> None:
    page = (
        agency.chromeosdevices()
        .list(customerId=CUSTOMER, maxResults=5, fields="nextPageToken")
        .execute()
    )
    assert set(page) == {"nextPageToken"}


def test_basic_projection_leaves_out_recent_users(agency: Any) -> None:
    full = agency.chromeosdevices().list(customerId=CUSTOMER, maxResults=1, projection="FULL")
    basic = agency.chromeosdevices().list(customerId=CUSTOMER, maxResults=1, projection="BASIC")
    assert "recentUsers" in full.execute()["chromeosdevices"][0]
    assert "recentUsers" not in basic.execute()["chromeosdevices"][0]


def test_asset_id_query_and_combined_terms(agency: Any) -> None:
    found = list_all(agency, query="asset_id:AII-0042")
    assert [d["annotatedAssetId"] for d in found] == ["AII-0042"]
    lte_in_limburg = list_all(agency, query="location:Limburg public_model_name:LTE")
    assert len(lte_in_limburg) == 11
    assert all(d["annotatedLocation"] == "Limburg" for d in lte_in_limburg)


def test_order_by_serial_number_descending(agency: Any) -> None:
    found = list_all(agency, orderBy="serialNumber", sortOrder="DESCENDING", maxResults=300)
    serials = [d["serialNumber"] for d in found]
    assert len(serials) == AGENCY_DEVICES
    assert serials == sorted(serials, reverse=True)


def test_get_device(agency_sandbox: RunningSandbox, agency: Any) -> None:
    device = agency_sandbox.tenant.devices.devices[7]
    got = agency.chromeosdevices().get(customerId=CUSTOMER, deviceId=device.device_id).execute()
    assert got["serialNumber"] == device.data["serialNumber"]
    assert got["kind"] == "admin#directory#chromeosdevice"
    customer_id = agency_sandbox.customer_id
    by_own_id = agency.chromeosdevices().get(customerId=customer_id, deviceId=device.device_id)
    assert by_own_id.execute()["deviceId"] == device.device_id


@pytest.mark.parametrize("verb", ["patch", "update"])
def test_patch_and_update_set_annotations_with_the_org_unit(
    agency_sandbox: RunningSandbox, agency: Any, verb: str
) -> None:
    agency_sandbox.tenant.orgunits.ensure_path("/Chromebooks/On loan")
    device_id = agency_sandbox.tenant.devices.devices[3].device_id
    body = {
        "annotatedUser": "B-1017",
        "notes": "on loan until 2025-03-01",
        "orgUnitPath": "/Chromebooks/On loan",
    }
    answer = getattr(agency.chromeosdevices(), verb)(
        customerId=CUSTOMER, deviceId=device_id, body=body
    ).execute()
    assert answer["annotatedUser"] == "B-1017"
    assert answer["orgUnitPath"] == "/Chromebooks/On loan"
    stored = agency_sandbox.tenant.devices.by_id[device_id]
    assert stored.data["notes"] == "on loan until 2025-03-01"
    assert agency_sandbox.tenant.orgunits.by_id[stored.ou_id].path == "/Chromebooks/On loan"
    on_loan = list_all(agency, orgUnitPath="Chromebooks/On loan")
    assert [d["deviceId"] for d in on_loan] == [device_id]


def test_move_devices_to_ou(agency_sandbox: RunningSandbox, agency: Any) -> None:
    tenant = agency_sandbox.tenant
    spare = tenant.orgunits.ensure_path("/Chromebooks/Spare")
    ids = [d.device_id for d in tenant.devices.devices[:50]]
    agency.chromeosdevices().moveDevicesToOu(
        customerId=CUSTOMER, orgUnitPath="/Chromebooks/Spare", body={"deviceIds": ids}
    ).execute()
    assert {tenant.devices.by_id[i].ou_id for i in ids} == {spare.ou_id}
    assert len(list_all(agency, orgUnitPath="Chromebooks/Spare", maxResults=300)) == 50


def test_move_skips_unknown_ids_without_a_word(agency_sandbox: RunningSandbox, agency: Any) -> None:
    # Google barely checks the ids of a move: fleetsync must read back, and this is why.
    tenant = agency_sandbox.tenant
    tenant.orgunits.ensure_path("/Chromebooks/Spare")
    known = tenant.devices.devices[0].device_id
    agency.chromeosdevices().moveDevicesToOu(
        customerId=CUSTOMER,
        orgUnitPath="Chromebooks/Spare",
        body={"deviceIds": [known, "no-such-device"]},
    ).execute()
    assert [d["deviceId"] for d in list_all(agency, orgUnitPath="Chromebooks/Spare")] == [known]
