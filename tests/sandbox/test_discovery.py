"""The discovery documents, served at every path Google serves them, pointing at the sandbox.

Raw HTTP (httpx) for what a fetch answers; google-api-python-client's ``build_from_document`` on
a fetched document for what a client built from it does. The conformance suite builds every
client it uses from these documents.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from googleapiclient.discovery import build_from_document

from fleetsync.sandbox.discovery import SERVED_APIS, bundled_document
from fleetsync.sandbox.testing import RunningSandbox

#: The URLs a served document rewrites; everything else is the bundled copy.
REWRITTEN = {"rootUrl", "baseUrl", "mtlsRootUrl"}

FORMS = {
    "admin-host-form": ("$discovery/rest?version=directory_v1", "admin"),
    "chromepolicy-host-form": ("$discovery/rest?version=v1", "chromepolicy"),
    "www-form-admin": ("discovery/v1/apis/admin/directory_v1/rest", "admin"),
    "www-form-chromepolicy": ("discovery/v1/apis/chromepolicy/v1/rest", "chromepolicy"),
}


@pytest.mark.parametrize(("path", "api"), FORMS.values(), ids=FORMS)
def test_each_document_is_served_where_google_serves_it(
    sandbox: RunningSandbox, path: str, api: str
) -> None:
    response = httpx.get(sandbox.url + path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    served = response.json()
    bundled = bundled_document(api)
    assert {k: v for k, v in served.items() if k not in REWRITTEN} == {
        k: v for k, v in bundled.items() if k not in REWRITTEN
    }, "the bundled document, unchanged but for its URLs"
    assert served["rootUrl"] == served["mtlsRootUrl"] == sandbox.url
    assert served["baseUrl"] == sandbox.url + bundled["servicePath"]
    assert "googleapis.com" not in served["rootUrl"] + served["baseUrl"]


def test_a_fetch_needs_no_token_and_is_logged_as_the_discovery_api(
    sandbox: RunningSandbox,
) -> None:
    httpx.get(sandbox.url + FORMS["admin-host-form"][0]).raise_for_status()
    [entry] = sandbox.control.log(method="discovery.apis.getRest")
    assert (entry["status"], entry["path"]) == (200, "$discovery/rest")
    assert sandbox.control.counters()["tokenRequests"] == 0


def test_the_host_name_chooses_the_api_and_the_urls_follow_the_host(
    sandbox: RunningSandbox,
) -> None:
    """Google tells ``$discovery/rest`` apart by host: so does the sandbox (through a hosts
    entry or a proxy), and the document points at the address the client used."""
    response = httpx.get(
        sandbox.url + "$discovery/rest?version=v1",
        headers={"Host": f"chromepolicy.sandbox.test:{sandbox.server.port}"},
    )
    document = response.json()
    assert document["name"] == "chromepolicy"
    assert document["rootUrl"] == f"http://chromepolicy.sandbox.test:{sandbox.server.port}/"


def test_a_host_header_that_is_no_address_is_not_echoed(sandbox: RunningSandbox) -> None:
    response = httpx.get(
        sandbox.url + "discovery/v1/apis/admin/directory_v1/rest",
        headers={"Host": "<script>x</script>"},
    )
    assert response.json()["rootUrl"] == sandbox.url


def test_the_directory_lists_the_served_apis(sandbox: RunningSandbox) -> None:
    listing = httpx.get(sandbox.url + "discovery/v1/apis").json()
    assert listing["kind"] == "discovery#directoryList"
    assert {(i["name"], i["version"]) for i in listing["items"]} == {
        (api, bundled_document(api)["version"]) for api in SERVED_APIS
    }
    for item in listing["items"]:
        assert httpx.get(item["discoveryRestUrl"]).json()["id"] == item["id"]
    only = httpx.get(sandbox.url + "discovery/v1/apis?name=chromepolicy").json()
    assert [i["name"] for i in only["items"]] == ["chromepolicy"]


REFUSALS = {
    "unknown-version": ("$discovery/rest?version=v9", 404, "v9"),
    "no-version": ("$discovery/rest", 400, "Required parameter: version"),
    "unknown-api": ("discovery/v1/apis/drive/v3/rest", 404, "drive"),
    "wrong-version": ("discovery/v1/apis/admin/v1/rest", 404, "admin version: v1"),
}


@pytest.mark.parametrize(("path", "status", "words"), REFUSALS.values(), ids=REFUSALS)
def test_a_document_not_served_here_is_refused_as_google_refuses_it(
    sandbox: RunningSandbox, path: str, status: int, words: str
) -> None:
    response = httpx.get(sandbox.url + path)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == status
    assert words in error["message"]


def test_a_client_built_from_a_fetched_document_calls_the_sandbox(
    agency_sandbox: RunningSandbox,
) -> None:
    sandbox = agency_sandbox
    document: dict[str, Any] = httpx.get(sandbox.url + FORMS["admin-host-form"][0]).json()
    directory = build_from_document(document, http=sandbox.http())
    page = directory.chromeosdevices().list(customerId="my_customer", maxResults=5).execute()
    assert [d["deviceId"] for d in page["chromeosdevices"]] == [
        d.device_id for d in sandbox.tenant.devices.devices[:5]
    ]
    assert sandbox.control.calls("directory.chromeosdevices.list") == 1
