"""The Chrome Policy methods: batchModify, batchInherit, resolve, and the policy schemas.

One ``batchModify`` / ``batchInherit`` obeys Google's rules: one root namespace, one set of
additional-key names, no duplicate (schema, target) pair.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetsync.sandbox.errors import ApiError
from fleetsync.sandbox.orgunits import OrgUnit
from fleetsync.sandbox.paging import PageToken
from fleetsync.sandbox.policy import Keys
from fleetsync.sandbox.policy_schemas import KNOWN_NAMESPACES, SCHEMAS, PolicySchema, namespace_of

if TYPE_CHECKING:
    from fleetsync.sandbox.calls import Call
    from fleetsync.sandbox.tenant import Tenant

__all__ = ["HANDLERS"]


def _check_filter(schema_filter: str) -> None:
    """Google's rule: "Wildcards are supported, but only in the leaf portion of the schema name"
    (valid: chrome.users.*, chrome.printers.*; invalid: *, *.users, chrome.*, chrome.*.apps.*),
    and the namespace must be one of Google's. A leaf it does not know answers empty: the
    sandbox defines few of Google's schemas, and cannot tell a real one from a typo."""
    namespace, _, leaf = schema_filter.rpartition(".")
    if "*" in namespace or not leaf or namespace not in KNOWN_NAMESPACES:
        known = ", ".join(sorted(KNOWN_NAMESPACES))
        raise ApiError(
            400,
            "invalid",
            f"Invalid policy schema filter {schema_filter!r}: name a schema, or a namespace "
            f"with a wildcard only in the leaf (e.g. chrome.users.apps.*). Namespaces: {known}.",
        )


def _target(tenant: Tenant, request: dict[str, Any], at: str) -> tuple[OrgUnit, Keys]:
    key = request.get("policyTargetKey")
    if not isinstance(key, dict) or not key.get("targetResource"):
        raise ApiError(400, "required", f"{at}.policyTargetKey.targetResource is required.")
    resource = str(key["targetResource"])
    if not resource.startswith("orgunits/"):
        raise ApiError(
            400,
            "invalid",
            f"{at}: targetResource must be an org unit (orgunits/<id>), got {resource!r}.",
        )
    ou_id = resource.removeprefix("orgunits/")
    if ou_id.startswith("id:"):
        # The Directory API's "id:" prefix is not part of the id here (GOOGLE_API_NOTES.md).
        raise ApiError(
            400,
            "invalid",
            f"{at}: invalid targetResource {resource!r}: an org unit id here has no 'id:' "
            f"prefix (orgunits/{ou_id.removeprefix('id:')}).",
        )
    unit = tenant.orgunits.by_id.get(ou_id)
    if unit is None:
        raise ApiError(400, "invalid", f"{at}: org unit {resource!r} does not exist.")
    extra = key.get("additionalTargetKeys") or {}
    return unit, tuple(sorted((str(k), str(v)) for k, v in extra.items()))


def _schema(name: str, at: str) -> PolicySchema:
    schema = SCHEMAS.get(name)
    if schema is None:
        raise ApiError(400, "invalid", f"{at}: policy schema {name!r} not found.")
    return schema


def _one_call_rules(entries: list[tuple[str, str, Keys]]) -> None:
    """Google's rules for the requests of one batchModify / batchInherit."""
    namespaces = {
        namespace_of(schema) if not schema.endswith(".*") else schema[:-2]
        for _, schema, _ in entries
    }
    if len(namespaces) > 1:
        raise ApiError(
            400,
            "invalid",
            f"All policies in one call must share a root namespace; got {sorted(namespaces)}.",
        )
    key_names = {tuple(name for name, _ in keys) for _, _, keys in entries}
    if len(key_names) > 1:
        raise ApiError(
            400,
            "invalid",
            "All policyTargetKeys in one call must have the same additionalTargetKeys names.",
        )
    if len(set(entries)) != len(entries):
        raise ApiError(
            400, "invalid", "Two requests in one call modify the same policySchema and target."
        )


def _requests(call: Call) -> list[dict[str, Any]]:
    requests = (call.body or {}).get("requests")
    if not requests:
        raise ApiError(400, "required", "requests must name at least one policy.")
    return list(requests)


def _batch_modify(call: Call) -> dict[str, Any]:
    tenant = call.tenant
    planned = []
    for index, request in enumerate(_requests(call)):
        at = f"requests[{index}]"
        unit, keys = _target(tenant, request, at)
        value = request.get("policyValue") or {}
        schema = _schema(str(value.get("policySchema") or ""), at)
        schema.check_keys(dict(keys))
        mask = [f.strip() for f in str(request.get("updateMask") or "").split(",") if f.strip()]
        if not mask:
            raise ApiError(400, "required", f"{at}.updateMask is required.")
        fields = dict(value.get("value") or {})
        schema.check(fields, mask)
        planned.append((unit, schema, keys, {name: fields[name] for name in mask}))
    _one_call_rules([(u.ou_id, s.name, k) for u, s, k, _ in planned])
    for unit, schema, keys, fields in planned:
        chain = tenant.orgunits.ancestors(unit.ou_id)
        inherited = next(
            (value for s, _, value, _, _ in tenant.policies.resolve(chain, schema.name, keys)),
            {},
        )
        tenant.policies.set_fields((unit.ou_id, schema.name, keys), fields, inherited)
    tenant.touch()
    return {}


def _batch_inherit(call: Call) -> dict[str, Any]:
    tenant = call.tenant
    planned = []
    for index, request in enumerate(_requests(call)):
        at = f"requests[{index}]"
        unit, keys = _target(tenant, request, at)
        name = str(request.get("policySchema") or "")
        if name.endswith(".*"):
            _check_filter(name)
        else:
            _schema(name, at).check_keys(dict(keys))
        planned.append((unit, name, keys))
    _one_call_rules([(u.ou_id, n, k) for u, n, k in planned])
    for unit, name, keys in planned:
        tenant.policies.inherit(unit.ou_id, name, keys)
    tenant.touch()
    return {}


def _key_json(ou_id: str, keys: Keys) -> dict[str, Any]:
    key: dict[str, Any] = {"targetResource": f"orgunits/{ou_id}"}
    if keys:
        key["additionalTargetKeys"] = dict(keys)
    return key


def _resolve(call: Call) -> dict[str, Any]:
    tenant, body = call.tenant, dict(call.body or {})
    schema_filter = str(body.get("policySchemaFilter") or "")
    if not schema_filter:
        raise ApiError(400, "required", "policySchemaFilter is required.")
    _check_filter(schema_filter)
    unit, keys = _target(tenant, body, "resolve")
    page_size = int(body.get("pageSize") or 100)
    if not 1 <= page_size <= 1000:
        raise ApiError(400, "invalid", f"pageSize must be between 1 and 1000, got {page_size}.")
    bound = {"filter": schema_filter, "target": unit.ou_id, "keys": list(keys)}
    token = PageToken.read({**bound, "pageToken": body.get("pageToken")}, "resolve")
    start = int(token.cursor) if token else 0
    found = tenant.policies.resolve(
        tenant.orgunits.ancestors(unit.ou_id), schema_filter, keys or None
    )
    chunk = found[start : start + page_size]
    answer: dict[str, Any] = {}
    if chunk:
        answer["resolvedPolicies"] = []
        for schema, slot_keys, value, source, added_at in chunk:
            item: dict[str, Any] = {
                "targetKey": _key_json(unit.ou_id, slot_keys),
                "value": {"policySchema": schema, "value": dict(value)},
                "sourceKey": _key_json(source, slot_keys),
            }
            if added_at is not None:
                item["addedSourceKey"] = _key_json(added_at, slot_keys)
            answer["resolvedPolicies"].append(item)
    if start + page_size < len(found):
        answer["nextPageToken"] = PageToken.write(bound, "resolve", start + page_size)
    return answer


def _schema_get(call: Call) -> dict[str, Any]:
    name = str(call.params["name"])
    customer, _, schema_name = name.removeprefix("customers/").partition("/policySchemas/")
    call.tenant.check_customer(customer)
    schema = SCHEMAS.get(schema_name)
    if schema is None:
        raise ApiError(404, "notFound", f"Policy schema {schema_name!r} not found.")
    return schema.to_json(customer)


def _schema_list(call: Call) -> dict[str, Any]:
    customer = str(call.params["parent"]).removeprefix("customers/")
    call.tenant.check_customer(customer)
    text = str(call.params.get("filter") or "").lower()
    page_size = int(call.params.get("pageSize") or 100)
    if not 1 <= page_size <= 1000:
        raise ApiError(400, "invalid", f"pageSize must be between 1 and 1000, got {page_size}.")
    matching = [
        schema
        for name, schema in sorted(SCHEMAS.items())
        if not text
        or text.replace("name=", "").replace("*", "") in name.lower()
        or text in schema.description.lower()
    ]
    token = PageToken.read(call.params, "chromepolicy.customers.policySchemas.list")
    start = int(token.cursor) if token else 0
    answer: dict[str, Any] = {
        "policySchemas": [s.to_json(customer) for s in matching[start : start + page_size]]
    }
    if start + page_size < len(matching):
        answer["nextPageToken"] = PageToken.write(
            call.params, "chromepolicy.customers.policySchemas.list", start + page_size
        )
    return answer


HANDLERS = {
    "chromepolicy.customers.policies.orgunits.batchModify": _batch_modify,
    "chromepolicy.customers.policies.orgunits.batchInherit": _batch_inherit,
    "chromepolicy.customers.policies.resolve": _resolve,
    "chromepolicy.customers.policySchemas.get": _schema_get,
    "chromepolicy.customers.policySchemas.list": _schema_list,
}
