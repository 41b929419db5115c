"""Every served policy schema is described as completely as Google describes its own.

The model is a real ``policySchemas.get`` answer (``IdleSettingsExtended``): the schema's message
first in ``definition.messageType``, the messages its fields use after it, enums in
``definition.enumType``, ``typeName`` on every enum and message field, and field descriptions with
the known values. The proof that a client can use it: values built from nothing but the served
definition are what ``batchModify`` accepts. Clients are built from the served discovery
documents.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from fleetsync.sandbox.policy_schemas import SCHEMAS
from fleetsync.sandbox.testing import RunningSandbox, running_sandbox
from tests.sandbox.conftest import policy_target

CUSTOMER = "customers/my_customer"
APP = "chrome:ghbmnnjooekpmoecnnnilnnbdlolhkhi"
SCALAR_TYPES = {"TYPE_STRING", "TYPE_BOOL", "TYPE_INT64"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, Any]]]:
    """Every schema the sandbox serves, as policySchemas.list answers (all pages)."""
    with running_sandbox(tmp_path_factory.mktemp("schemas")) as sandbox:
        schemas = sandbox.discovered("chromepolicy", "v1").customers().policySchemas()
        found: dict[str, dict[str, Any]] = {}
        request = schemas.list(parent=CUSTOMER, pageSize=1)
        while request is not None:
            page = request.execute()
            found.update({s["schemaName"]: s for s in page["policySchemas"]})
            request = schemas.list_next(request, page)
        yield found


def test_every_defined_schema_is_served(served: dict[str, dict[str, Any]]) -> None:
    assert set(served) == set(SCHEMAS)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_the_definition_is_a_complete_descriptor(
    served: dict[str, dict[str, Any]], name: str
) -> None:
    schema = served[name]
    definition = schema["definition"]
    messages = {m["name"]: m for m in definition["messageType"]}
    enums = {e["name"]: e for e in definition.get("enumType", [])}
    root = definition["messageType"][0]
    assert root["name"] == name.rsplit(".", 1)[1], "the schema's own message comes first"
    reached: set[str] = set()

    def walk(message: dict[str, Any]) -> None:
        reached.add(message["name"])
        assert [f["number"] for f in message["field"]] == list(range(1, len(message["field"]) + 1))
        for field in message["field"]:
            assert field["label"] in {"LABEL_OPTIONAL", "LABEL_REPEATED"}
            if field["type"] == "TYPE_ENUM":
                assert field["typeName"] in enums, f"{field['name']}: an enum the file defines"
            elif field["type"] == "TYPE_MESSAGE":
                assert field["typeName"] in messages, f"{field['name']}: a message it defines"
                if field["typeName"] not in reached:
                    walk(messages[field["typeName"]])
            else:
                assert field["type"] in SCALAR_TYPES
                assert "typeName" not in field

    walk(root)
    assert reached == set(messages), "every message is used by the schema's"
    for enum in enums.values():
        assert [v["number"] for v in enum["value"]] == list(range(1, len(enum["value"]) + 1))

    descriptions = {d["field"]: d for d in schema["fieldDescriptions"]}
    assert set(descriptions) == {f["name"] for f in root["field"]}
    for field in root["field"]:
        described = descriptions[field["name"]]
        assert described["description"]
        assert described["name"], "a title, as Google gives each field"
        if field["type"] == "TYPE_ENUM":
            known = [v["value"] for v in described["knownValueDescriptions"]]
            assert known == [v["name"] for v in enums[field["typeName"]]["value"]]
        if field["type"] == "TYPE_MESSAGE":
            nested = {d["field"] for d in described["nestedFieldDescriptions"]}
            assert nested == {f["name"] for f in messages[field["typeName"]]["field"]}


# ------------------------------------------------------------- a client that reads the schema
def sample(definition: dict[str, Any], type_name: str, depth: int = 0) -> dict[str, Any]:
    """A value for message ``type_name`` built from the definition alone, as a generic client
    would: every scalar field, enums at their first value, and of several message fields that
    are alternatives (a bookmark is a link or a folder) the first."""
    messages = {m["name"]: m for m in definition["messageType"]}
    enums = {e["name"]: e for e in definition.get("enumType", [])}
    value: dict[str, Any] = {}
    chose_a_message = False
    for field in messages[type_name]["field"]:
        if field["type"] == "TYPE_MESSAGE":
            if chose_a_message or depth > 3:
                continue
            one = sample(definition, field["typeName"], depth + 1)
            value[field["name"]] = [one] if field["label"] == "LABEL_REPEATED" else one
            chose_a_message = field["label"] != "LABEL_REPEATED"
            continue
        single: Any = {
            "TYPE_STRING": "https://example.org/course",
            "TYPE_BOOL": True,
            "TYPE_INT64": "1",
        }.get(field["type"])
        if field["type"] == "TYPE_ENUM":
            single = enums[field["typeName"]]["value"][0]["name"]
        value[field["name"]] = [single] if field["label"] == "LABEL_REPEATED" else single
    return value


def _modify(sandbox: RunningSandbox, name: str, value: dict[str, Any], schema: Any) -> None:
    keys = {k["key"]: APP for k in schema["additionalTargetKeyNames"]}
    students = sandbox.tenant.orgunits.ensure_path("/Students").ou_id
    request = {
        "policyTargetKey": policy_target(students, **keys),
        "policyValue": {"policySchema": name, "value": value},
        "updateMask": ",".join(value),
    }
    policy = sandbox.discovered("chromepolicy", "v1", form="host")
    policy.customers().policies().orgunits().batchModify(
        customer=CUSTOMER, body={"requests": [request]}
    ).execute()


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_a_value_built_from_the_definition_is_accepted(
    sandbox: RunningSandbox, served: dict[str, dict[str, Any]], name: str
) -> None:
    schema = served[name]
    definition = schema["definition"]
    value = sample(definition, definition["messageType"][0]["name"])
    _modify(sandbox, name, value, schema)
    [stored] = sandbox.tenant.policies.values.values()
    assert stored == value


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_enum_value_of_the_definition_is_accepted_and_no_other(
    sandbox: RunningSandbox, served: dict[str, dict[str, Any]], name: str
) -> None:
    schema = served[name]
    enums = {e["name"]: e for e in schema["definition"].get("enumType", [])}
    root = schema["definition"]["messageType"][0]
    for field in root["field"]:
        if field["type"] != "TYPE_ENUM":
            continue
        for value in enums[field["typeName"]]["value"]:
            _modify(sandbox, name, {field["name"]: value["name"]}, schema)
        with pytest.raises(HttpError) as refused:
            _modify(sandbox, name, {field["name"]: "NOT_A_VALUE"}, schema)
        assert refused.value.status_code == 400
