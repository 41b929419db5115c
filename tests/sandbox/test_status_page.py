"""The sandbox's read-only status page at ``/``: the tenant, devices by org unit and state,
users by org unit, the last calls; HTML without script, everything escaped, no person named."""

from __future__ import annotations

import re

import httpx

from fleetsync.sandbox.testing import RunningSandbox

ACTION = "CHANGE_CHROME_OS_DEVICE_STATUS_ACTION_"
HOSTILE = '<img src=x onerror="alert(1)"> & Co'


def _cells(html: str, first: str) -> list[str]:
    """The cells of the table row whose first cell is ``first``."""
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row)
        if cells and cells[0] == first:
            return cells
    raise AssertionError(f"no row {first!r}")


def test_the_page_shows_the_tenant_its_devices_users_and_last_calls(
    agency_sandbox: RunningSandbox,
) -> None:
    sandbox = agency_sandbox
    directory = sandbox.directory()
    ids = [d.device_id for d in sandbox.tenant.devices.devices[:5]]
    directory.customer().devices().chromeos().batchChangeStatus(
        customerId="my_customer",
        body={"deviceIds": ids[:2], "changeChromeOsDeviceStatusAction": ACTION + "DISABLE"},
    ).execute()
    directory.orgunits().insert(
        customerId="my_customer", body={"name": "Spare", "parentOrgUnitPath": "/Chromebooks"}
    ).execute()
    directory.chromeosdevices().moveDevicesToOu(
        customerId="my_customer", orgUnitPath="Chromebooks/Spare", body={"deviceIds": ids[2:]}
    ).execute()
    sandbox.control.online(ids[2:4])
    student = "amira.haddad@example.org"
    directory.users().insert(
        body={
            "primaryEmail": student,
            "name": {"givenName": "Amira", "familyName": "Haddad"},
            "password": "a-first-password-1",
            "suspended": True,
        }
    ).execute()
    directory.users().get(userKey=student).execute()

    page = httpx.get(sandbox.url)

    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    html = page.text
    assert "<script" not in html.lower()
    assert _cells(html, "domain") == ["domain", "example.org"]
    assert _cells(html, "customer id")[1] == sandbox.customer_id
    assert _cells(html, "org unit")[1:] == [
        "ACTIVE", "DISABLED", "DEPROVISIONED", "devices", "online",
    ]  # fmt: skip
    assert _cells(html, "/Chromebooks/Staging")[1:] == ["995", "2", "0", "997", "0"]
    assert _cells(html, "/Chromebooks/Spare")[1:] == ["3", "0", "0", "3", "2"]
    assert _cells(html, "all org units")[1:] == ["998", "2", "0", "1,000", "2"]
    assert _cells(html, "/")[1:] == ["1", "1", "2"], "users: active, suspended, all"
    assert "directory.users.get" in html
    assert "admin#directory" not in html
    assert student not in html, "a call's path names a person: the page leaves it out"


def test_every_value_is_escaped(sandbox: RunningSandbox) -> None:
    sandbox.directory().orgunits().insert(
        customerId="my_customer", body={"name": HOSTILE, "parentOrgUnitPath": "/"}
    ).execute()
    sandbox.control.seed_devices(1, org_unit_path=f"/{HOSTILE}")
    html = httpx.get(sandbox.url).text
    assert HOSTILE not in html
    assert "/&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; Co" in html


def test_head_answers_the_page_without_it(sandbox: RunningSandbox) -> None:
    head = httpx.head(sandbox.url)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == "text/html; charset=utf-8"
