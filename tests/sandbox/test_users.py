"""Conformance: ``users`` and ``orgunits`` through Google's own client."""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.errors import HttpError

from fleetsync.google.errors import GoogleUserNotReady
from fleetsync.google.wire import USER_FIELDS, UserPage, UserWire
from fleetsync.sandbox.testing import RunningSandbox
from tests.sandbox.conftest import refusal

BORROWER = {"type": "custom", "customType": "fleetsync_borrower", "value": "B-1017"}


def new_user(email: str, ou: str = "/", **extra: Any) -> dict[str, Any]:
    return {
        "primaryEmail": email,
        "name": {"givenName": "Amira", "familyName": "Haddad"},
        "password": "a-first-password-1",
        "changePasswordAtNextLogin": True,
        "orgUnitPath": ou,
        "externalIds": [BORROWER],
        **extra,
    }


def all_users(directory: Any, **params: Any) -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = []
    token = None
    while True:
        page = directory.users().list(customer="my_customer", pageToken=token, **params).execute()
        users.extend(page.get("users", []))
        token = page.get("nextPageToken")
        if not token:
            return users


@pytest.fixture
def students(sandbox: RunningSandbox) -> RunningSandbox:
    for region in ("Antwerpen", "Limburg"):
        sandbox.tenant.orgunits.ensure_path(f"/Students/{region}")
    return sandbox


def test_insert_as_fleetsync_does_and_read_back(students: RunningSandbox, directory: Any) -> None:
    created = (
        directory.users()
        .insert(
            body=new_user("amira.haddad@example.org", "/Students/Antwerpen"), fields=USER_FIELDS
        )
        .execute()
    )
    account = UserWire.model_validate(created).observed()
    assert account.borrower_id == "B-1017"
    assert account.org_unit_path == "/Students/Antwerpen"
    assert account.created is not None
    full = directory.users().get(userKey="amira.haddad@example.org").execute()
    assert "password" not in full
    assert "hashFunction" not in full
    assert full["changePasswordAtNextLogin"] is True
    assert full["name"]["fullName"] == "Amira Haddad"
    assert directory.users().get(userKey=created["id"]).execute()["primaryEmail"] == (
        "amira.haddad@example.org"
    )


def test_list_by_org_unit_matches_the_subtree(students: RunningSandbox, directory: Any) -> None:
    directory.users().insert(body=new_user("a@example.org", "/Students/Antwerpen")).execute()
    directory.users().insert(body=new_user("b@example.org", "/Students/Limburg")).execute()
    directory.users().insert(body=new_user("c@example.org", "/Students")).execute()
    directory.users().insert(body=new_user("d@example.org", "/")).execute()
    below = all_users(directory, query="orgUnitPath='/Students'")
    assert sorted(u["primaryEmail"] for u in below) == [
        "a@example.org", "b@example.org", "c@example.org",
    ]  # fmt: skip
    limburg = all_users(directory, query="orgUnitPath='/Students/Limburg'")
    assert [u["primaryEmail"] for u in limburg] == ["b@example.org"]


def test_list_pages_with_fields_as_fleetsync_reads_them(
    sandbox: RunningSandbox, directory: Any
) -> None:
    sandbox.control.seed_users(1203, org_unit_path="/Students/Brussel", borrower_prefix="B-")
    seen: list[str] = []
    token = None
    while True:
        page = (
            directory.users()
            .list(
                customer="my_customer",
                maxResults=500,
                query="orgUnitPath='/Students'",
                projection="basic",
                fields=f"nextPageToken,users({USER_FIELDS})",
                pageToken=token,
            )
            .execute()
        )
        parsed = UserPage.model_validate(page)
        seen.extend(u.primaryEmail for u in parsed.users)
        assert all(u.observed().borrower_id for u in parsed.users)
        token = parsed.nextPageToken
        if not token:
            break
    assert len(seen) == 1203 == len(set(seen))
    assert seen == sorted(seen)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("email:b*", ["b@example.org"], id="email-prefix"),
        pytest.param("email='c@example.org'", ["c@example.org"], id="email-exact"),
        pytest.param("isSuspended=true", ["b@example.org"], id="suspended"),
        pytest.param("isSuspended=false orgUnitPath=/Students", ["a@example.org"], id="and"),
        pytest.param("externalId:B-2", ["c@example.org"], id="external-id"),
        pytest.param(
            "givenName:Ami", ["a@example.org", "b@example.org", "c@example.org"], id="given"
        ),
    ],
)
def test_list_queries(
    students: RunningSandbox, directory: Any, query: str, expected: list[str]
) -> None:
    directory.users().insert(body=new_user("a@example.org", "/Students/Antwerpen")).execute()
    directory.users().insert(body=new_user("b@example.org", "/Students", suspended=True)).execute()
    other = new_user("c@example.org")
    other["externalIds"] = [{**BORROWER, "value": "B-2"}]
    directory.users().insert(body=other).execute()
    found = all_users(directory, query=query)
    assert sorted(u["primaryEmail"] for u in found) == expected


def test_list_by_domain_ordered_by_family_name(students: RunningSandbox, directory: Any) -> None:
    for given, family in (("Z", "Yilmaz"), ("Y", "Diallo"), ("X", "Mertens")):
        body = new_user(f"{given.lower()}@example.org")
        body["name"] = {"givenName": given, "familyName": family}
        directory.users().insert(body=body).execute()
    found = all_users(directory, domain="example.org", orderBy="familyName", query="email:x* ")
    assert [u["name"]["familyName"] for u in found] == ["Mertens"]
    ordered = directory.users().list(domain="example.org", orderBy="familyName", maxResults=2)
    first = ordered.execute()
    assert [u["name"]["familyName"] for u in first["users"]] == ["Admin", "Diallo"]


@pytest.mark.parametrize("verb", ["patch", "update"])
def test_suspend_move_and_unsuspend(students: RunningSandbox, directory: Any, verb: str) -> None:
    directory.users().insert(body=new_user("a@example.org", "/Students/Antwerpen")).execute()
    change = getattr(directory.users(), verb)
    change(
        userKey="a@example.org", body={"suspended": True, "orgUnitPath": "/Students/Limburg"}
    ).execute()
    user = students.tenant.users.get("a@example.org")
    assert user.data["suspended"] is True
    assert students.tenant.orgunits.by_id[user.ou_id].path == "/Students/Limburg"
    got = directory.users().get(userKey="a@example.org").execute()
    assert got["suspensionReason"] == "ADMIN"
    assert got["externalIds"] == [BORROWER], "a patch keeps what it does not name"
    change(userKey="a@example.org", body={"suspended": False}).execute()
    assert directory.users().get(userKey="a@example.org").execute()["suspended"] is False


def test_delete_then_undelete(students: RunningSandbox, directory: Any) -> None:
    created = directory.users().insert(body=new_user("a@example.org")).execute()
    directory.users().delete(userKey="a@example.org").execute()
    with pytest.raises(HttpError) as caught:
        directory.users().get(userKey="a@example.org").execute()
    assert caught.value.status_code == 404
    deleted = all_users(directory, showDeleted="true")
    assert [u["primaryEmail"] for u in deleted] == ["a@example.org"]
    assert "deletionTime" in deleted[0]
    directory.users().undelete(
        userKey=created["id"], body={"orgUnitPath": "/Students/Limburg"}
    ).execute()
    back = directory.users().get(userKey="a@example.org").execute()
    assert back["orgUnitPath"] == "/Students/Limburg"


def test_undelete_window_closes(students: RunningSandbox, directory: Any) -> None:
    created = directory.users().insert(body=new_user("a@example.org")).execute()
    directory.users().delete(userKey="a@example.org").execute()
    students.control.advance(days=21)
    with pytest.raises(HttpError) as caught:
        directory.users().undelete(userKey=created["id"], body={}).execute()
    assert caught.value.status_code == 404


def test_a_new_user_refuses_changes_until_it_propagated(
    students: RunningSandbox, directory: Any
) -> None:
    students.control.behaviour(user_propagation_seconds=30)
    directory.users().insert(body=new_user("a@example.org")).execute()
    with pytest.raises(HttpError) as caught:
        directory.users().patch(userKey="a@example.org", body={"suspended": True}).execute()
    assert isinstance(refusal(caught.value), GoogleUserNotReady)
    students.control.advance(seconds=31)
    directory.users().patch(userKey="a@example.org", body={"suspended": True}).execute()


# ------------------------------------------------------------------------------ org units
def test_org_units_insert_list_get_patch_delete(sandbox: RunningSandbox, directory: Any) -> None:
    ous = directory.orgunits()
    chromebooks = ous.insert(
        customerId="my_customer", body={"name": "Chromebooks", "parentOrgUnitPath": "/"}
    ).execute()
    assert chromebooks["orgUnitPath"] == "/Chromebooks"
    assert chromebooks["orgUnitId"].startswith("id:")
    spare = ous.insert(
        customerId="my_customer",
        body={"name": "Spare", "parentOrgUnitId": chromebooks["orgUnitId"]},
    ).execute()
    assert spare["parentOrgUnitPath"] == "/Chromebooks"
    listed = ous.list(
        customerId="my_customer",
        type="all",
        fields="organizationUnits(orgUnitPath,orgUnitId,parentOrgUnitPath)",
    ).execute()
    assert {u["orgUnitPath"] for u in listed["organizationUnits"]} == {
        "/Chromebooks", "/Chromebooks/Spare",
    }  # fmt: skip
    assert set(listed["organizationUnits"][0]) == {"orgUnitPath", "orgUnitId", "parentOrgUnitPath"}
    children = ous.list(customerId="my_customer", orgUnitPath="/Chromebooks", type="children")
    assert [u["name"] for u in children.execute()["organizationUnits"]] == ["Spare"]
    for reference in ("Chromebooks/Spare", spare["orgUnitId"]):
        got = ous.get(customerId="my_customer", orgUnitPath=reference).execute()
        assert got["orgUnitId"] == spare["orgUnitId"]
    renamed = ous.patch(
        customerId="my_customer", orgUnitPath="Chromebooks/Spare", body={"name": "Spares"}
    ).execute()
    assert renamed["orgUnitPath"] == "/Chromebooks/Spares"
    ous.delete(customerId="my_customer", orgUnitPath="Chromebooks/Spares").execute()
    with pytest.raises(HttpError) as caught:
        ous.get(customerId="my_customer", orgUnitPath="Chromebooks/Spares").execute()
    assert caught.value.status_code == 404


def test_renaming_an_org_unit_renames_what_is_in_it(
    agency_sandbox: RunningSandbox, agency: Any
) -> None:
    agency.orgunits().patch(
        customerId="my_customer", orgUnitPath="Chromebooks", body={"name": "Laptops"}
    ).execute()
    page = agency.chromeosdevices().list(customerId="my_customer", maxResults=3).execute()
    assert {d["orgUnitPath"] for d in page["chromeosdevices"]} == {"/Laptops/Staging"}
