"""Chrome Policy: values set on org units, inheritance down the tree, resolve, schemas."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from fleetsync.sandbox.policy_schemas import KNOWN_NAMESPACES
from fleetsync.sandbox.testing import RunningSandbox
from tests.sandbox.conftest import policy_target

CUSTOMER = "customers/my_customer"
MEET = "web:https://meet.google.com/"
CLASSROOM = "chrome:mfhehppjhmmnlfbbopchdfldgimhfhfk"
BOOKMARKS = "chrome.users.ManagedBookmarksSetting"
INSTALL = "chrome.users.apps.InstallType"


@dataclass
class Tree:
    """/Students with /Students/Antwerpen and /Students/Limburg, and the Chrome Policy API."""

    api: Any
    ids: dict[str, str]

    def key(self, ou: str, app: str | None = None) -> dict[str, Any]:
        return policy_target(self.ids[ou], **({"app_id": app} if app else {}))

    def modify(self, ou: str, schema: str, value: dict[str, Any], app: str | None = None) -> None:
        request = {
            "policyTargetKey": self.key(ou, app),
            "policyValue": {"policySchema": schema, "value": value},
            "updateMask": ",".join(value),
        }
        self.api.customers().policies().orgunits().batchModify(
            customer=CUSTOMER, body={"requests": [request]}
        ).execute()

    def inherit(self, ou: str, schema: str, app: str | None = None) -> None:
        request = {"policyTargetKey": self.key(ou, app), "policySchema": schema}
        self.api.customers().policies().orgunits().batchInherit(
            customer=CUSTOMER, body={"requests": [request]}
        ).execute()

    def resolve(self, ou: str, schema_filter: str, **extra: Any) -> list[dict[str, Any]]:
        """Every resolved policy, all pages walked."""
        found: list[dict[str, Any]] = []
        token = None
        while True:
            body = {"policySchemaFilter": schema_filter, "policyTargetKey": self.key(ou), **extra}
            if token:
                body["pageToken"] = token
            page = self.api.customers().policies().resolve(customer=CUSTOMER, body=body).execute()
            found.extend(page.get("resolvedPolicies", []))
            token = page.get("nextPageToken")
            if not token:
                return found

    def where(self, key: dict[str, Any]) -> str:
        """The org unit path a targetKey/sourceKey names."""
        ou_id = key["targetResource"].removeprefix("orgunits/")
        return next(path for path, known in self.ids.items() if known == ou_id)


@pytest.fixture
def tree(sandbox: RunningSandbox) -> Tree:
    paths = ("/Students/Antwerpen", "/Students/Limburg")
    ids = {path: sandbox.tenant.orgunits.ensure_path(path).ou_id for path in paths}
    ids["/Students"] = sandbox.tenant.orgunits.get("/Students").ou_id
    return Tree(sandbox.policy(), ids)


def bookmarks(*names: str) -> dict[str, Any]:
    links = [{"link": {"name": n, "url": f"https://{n.lower()}.example.org/"}} for n in names]
    return {"managedBookmarks": {"toplevelName": "Cursus", "bookmarks": links}}


def test_a_value_set_on_an_org_unit_applies_below_it(tree: Tree) -> None:
    tree.modify("/Students", BOOKMARKS, bookmarks("Inburgering"))
    for ou in ("/Students", "/Students/Antwerpen", "/Students/Limburg"):
        [resolved] = tree.resolve(ou, BOOKMARKS)
        assert tree.where(resolved["targetKey"]) == ou
        assert tree.where(resolved["sourceKey"]) == "/Students"
        assert resolved["value"] == {"policySchema": BOOKMARKS, "value": bookmarks("Inburgering")}
        assert "addedSourceKey" not in resolved, "only apps are 'added'"


def test_a_lower_org_unit_overrides_and_inherits_again(tree: Tree) -> None:
    tree.modify("/Students", BOOKMARKS, bookmarks("Inburgering"))
    tree.modify("/Students/Antwerpen", BOOKMARKS, bookmarks("Stad", "Haven"))
    [own] = tree.resolve("/Students/Antwerpen", BOOKMARKS)
    assert tree.where(own["sourceKey"]) == "/Students/Antwerpen"
    assert own["value"]["value"] == bookmarks("Stad", "Haven")
    [sibling] = tree.resolve("/Students/Limburg", BOOKMARKS)
    assert tree.where(sibling["sourceKey"]) == "/Students"
    tree.inherit("/Students/Antwerpen", BOOKMARKS)
    [back] = tree.resolve("/Students/Antwerpen", BOOKMARKS)
    assert tree.where(back["sourceKey"]) == "/Students"


def test_a_list_is_replaced_whole(tree: Tree) -> None:
    tree.modify("/Students", BOOKMARKS, bookmarks("A", "B", "C"))
    tree.modify("/Students", BOOKMARKS, bookmarks("D"))
    [resolved] = tree.resolve("/Students", BOOKMARKS)
    assert resolved["value"]["value"] == bookmarks("D")


def test_apps_resolve_with_where_they_were_added_and_where_their_value_comes_from(
    tree: Tree,
) -> None:
    tree.modify("/Students", INSTALL, {"appInstallType": "FORCED"}, app=MEET)
    tree.modify("/Students", INSTALL, {"appInstallType": "FORCED"}, app=CLASSROOM)
    tree.modify("/Students/Antwerpen", INSTALL, {"appInstallType": "BLOCKED"}, app=MEET)
    found = {
        r["targetKey"]["additionalTargetKeys"]["app_id"]: r
        for r in tree.resolve("/Students/Antwerpen", "chrome.users.apps.*")
    }
    assert set(found) == {MEET, CLASSROOM}
    meet, classroom = found[MEET], found[CLASSROOM]
    assert meet["value"]["value"] == {"appInstallType": "BLOCKED"}
    assert tree.where(meet["sourceKey"]) == "/Students/Antwerpen"
    assert tree.where(meet["addedSourceKey"]) == "/Students"
    assert classroom["value"]["value"] == {"appInstallType": "FORCED"}
    assert tree.where(classroom["sourceKey"]) == tree.where(classroom["addedSourceKey"])
    assert tree.where(classroom["sourceKey"]) == "/Students"
    assert meet["sourceKey"]["additionalTargetKeys"] == {"app_id": MEET}


def test_removing_an_app_is_inheriting_its_namespace_where_it_was_added(tree: Tree) -> None:
    tree.modify("/Students", INSTALL, {"appInstallType": "FORCED"}, app=MEET)
    tree.modify("/Students", INSTALL, {"appInstallType": "FORCED"}, app=CLASSROOM)
    tree.inherit("/Students", "chrome.users.apps.*", app=MEET)
    apps = [
        r["targetKey"]["additionalTargetKeys"]["app_id"]
        for r in tree.resolve("/Students/Limburg", "chrome.users.apps.*")
    ]
    assert apps == [CLASSROOM]


def test_resolve_for_one_app(tree: Tree) -> None:
    tree.modify("/Students", INSTALL, {"appInstallType": "FORCED"}, app=MEET)
    tree.modify("/Students", INSTALL, {"appInstallType": "ALLOWED"}, app=CLASSROOM)
    [only] = tree.resolve("/Students", INSTALL, policyTargetKey=tree.key("/Students", CLASSROOM))
    assert only["value"]["value"] == {"appInstallType": "ALLOWED"}


@pytest.mark.parametrize(
    ("schema_filter", "expected"),
    [
        pytest.param("chrome.users.*", [BOOKMARKS], id="users-namespace-not-its-children"),
        pytest.param("chrome.users.apps.*", [INSTALL, INSTALL], id="apps-namespace"),
        pytest.param(INSTALL, [INSTALL, INSTALL], id="one-schema"),
        pytest.param("chrome.devices.*", [], id="nothing-set"),
    ],
)
def test_resolve_filters_by_namespace(tree: Tree, schema_filter: str, expected: list[str]) -> None:
    tree.modify("/Students", BOOKMARKS, bookmarks("Inburgering"))
    tree.modify("/Students", INSTALL, {"appInstallType": "FORCED"}, app=MEET)
    tree.modify("/Students", INSTALL, {"appInstallType": "FORCED"}, app=CLASSROOM)
    found = tree.resolve("/Students/Limburg", schema_filter)
    assert [r["value"]["policySchema"] for r in found] == expected


def test_resolve_pages(tree: Tree) -> None:
    apps = [f"chrome:{letter * 32}" for letter in "abcde"]
    for app in apps:
        tree.modify("/Students", INSTALL, {"appInstallType": "FORCED"}, app=app)
    first = (
        tree.api.customers()
        .policies()
        .resolve(
            customer=CUSTOMER,
            body={
                "policySchemaFilter": "chrome.users.apps.*",
                "policyTargetKey": tree.key("/Students"),
                "pageSize": 2,
            },
        )
        .execute()
    )
    assert len(first["resolvedPolicies"]) == 2
    assert first["nextPageToken"]
    walked = tree.resolve("/Students", "chrome.users.apps.*", pageSize=2)
    assert sorted(r["targetKey"]["additionalTargetKeys"]["app_id"] for r in walked) == apps


def test_policy_schemas(sandbox: RunningSandbox) -> None:
    schemas = sandbox.policy().customers().policySchemas()
    install = schemas.get(name=f"{CUSTOMER}/policySchemas/{INSTALL}").execute()
    assert install["additionalTargetKeyNames"][0]["key"] == "app_id"
    values = install["fieldDescriptions"][0]["knownValueDescriptions"]
    assert [v["value"] for v in values] == [
        "BLOCKED", "ALLOWED", "FORCED", "FORCED_AND_PIN_TO_TOOLBAR", "NORMAL",
        "NORMAL_AND_PIN_TO_TOOLBAR", "REMOVE",
    ]  # fmt: skip
    first = schemas.list(parent=CUSTOMER, pageSize=1).execute()
    assert len(first["policySchemas"]) == 1
    rest = schemas.list(parent=CUSTOMER, pageSize=1, pageToken=first["nextPageToken"]).execute()
    assert rest["policySchemas"][0]["name"] != first["policySchemas"][0]["name"]
    own_id = schemas.get(name=f"customers/{sandbox.customer_id}/policySchemas/{BOOKMARKS}")
    assert own_id.execute()["schemaName"] == BOOKMARKS


# --------------------------------------------------------------------- resolve's namespaces
@pytest.mark.parametrize("namespace", sorted(KNOWN_NAMESPACES))
def test_resolve_answers_every_namespace_google_documents(
    sandbox: RunningSandbox, tree: Tree, namespace: str
) -> None:
    """Empty where nothing is set, as Google answers (a client built from the served
    document; apps, printers and networks are also asked with their target key)."""
    tree.modify("/Students", INSTALL, {"appInstallType": "FORCED"}, app=MEET)
    policy = sandbox.discovered("chromepolicy", "v1", form="host").customers().policies()
    keys = [{}, {"app_id": MEET}, {"printer_id": "0gjdgxs1abcd"}, {"network_id": "Wifi-1"}]
    for extra in keys:
        target = policy_target(tree.ids["/Students/Antwerpen"], **extra)
        answer = policy.resolve(
            customer=CUSTOMER,
            body={"policySchemaFilter": f"{namespace}.*", "policyTargetKey": target},
        ).execute()
        if namespace == "chrome.users.apps" and extra in ({}, {"app_id": MEET}):
            assert [r["value"]["policySchema"] for r in answer["resolvedPolicies"]] == [INSTALL]
        else:
            assert answer == {}, f"{namespace}.* with {extra}"


@pytest.mark.parametrize(
    ("schema_filter", "expected"),
    [
        pytest.param("chrome.users.apps.Install*", [INSTALL], id="a-leaf-prefix"),
        pytest.param("chrome.users.*Bookmarks*", [BOOKMARKS], id="a-leaf-infix"),
        pytest.param(INSTALL, [INSTALL], id="a-schema-name"),
        pytest.param("chrome.users.ShowLogoutButton", [], id="a-schema-the-sandbox-lacks"),
    ],
)
def test_a_wildcard_may_stand_anywhere_in_the_leaf(
    tree: Tree, schema_filter: str, expected: list[str]
) -> None:
    tree.modify("/Students", INSTALL, {"appInstallType": "FORCED"}, app=MEET)
    tree.modify("/Students", BOOKMARKS, bookmarks("Inburgering"))
    found = tree.resolve("/Students", schema_filter)
    assert [r["value"]["policySchema"] for r in found] == expected
