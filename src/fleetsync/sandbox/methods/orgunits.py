"""The ``orgunits`` methods: list, get, insert, patch/update, delete."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetsync.sandbox.errors import ApiError, not_found
from fleetsync.sandbox.orgunits import OrgUnit, OrgUnitTree

if TYPE_CHECKING:
    from fleetsync.sandbox.calls import Call

__all__ = ["HANDLERS", "org_unit_json"]


def org_unit_json(tree: OrgUnitTree, unit: OrgUnit) -> dict[str, Any]:
    """An org unit as the Directory API answers it."""
    data: dict[str, Any] = {
        "kind": "admin#directory#orgUnit",
        "etag": unit.etag(),
        "name": unit.name,
        "description": unit.description,
        "orgUnitPath": unit.path,
        "orgUnitId": f"id:{unit.ou_id}",
    }
    if unit.parent_id is not None:
        parent = tree.by_id[unit.parent_id]
        data["parentOrgUnitPath"] = parent.path
        data["parentOrgUnitId"] = f"id:{parent.ou_id}"
    return data


def _list(call: Call) -> dict[str, Any]:
    tree = call.tenant.orgunits
    start = tree.find(call.params.get("orgUnitPath") or "/")
    if start is None:
        raise not_found("orgUnitPath")
    kind = call.params.get("type", "children")
    if kind == "children":
        ids = list(start.children)
    else:
        ids = tree.subtree(start.ou_id)
        if kind == "all":
            ids = ids[1:]
    body: dict[str, Any] = {"kind": "admin#directory#orgUnits", "etag": '"orgunits"'}
    if ids:
        body["organizationUnits"] = [org_unit_json(tree, tree.by_id[i]) for i in ids]
    return body


def _found(call: Call) -> OrgUnit:
    unit = call.tenant.orgunits.find(call.params["orgUnitPath"])
    if unit is None:
        raise not_found("orgUnitPath")
    return unit


def _get(call: Call) -> dict[str, Any]:
    return org_unit_json(call.tenant.orgunits, _found(call))


def _parent(call: Call, body: dict[str, Any]) -> OrgUnit | None:
    tree = call.tenant.orgunits
    if body.get("parentOrgUnitId"):
        found = tree.find("id:" + str(body["parentOrgUnitId"]).removeprefix("id:"))
    elif body.get("parentOrgUnitPath"):
        found = tree.find(str(body["parentOrgUnitPath"]))
    else:
        return None
    if found is None:
        raise ApiError(400, "invalid", "Invalid Parent Orgunit Id")
    return found


def _insert(call: Call) -> dict[str, Any]:
    body = call.body or {}
    parent = _parent(call, body)
    if parent is None:
        raise ApiError(
            400, "required", "Missing required field: parentOrgUnitPath or parentOrgUnitId."
        )
    unit = call.tenant.orgunits.insert(
        str(body["name"]), parent, description=str(body.get("description") or "")
    )
    call.tenant.touch()
    return org_unit_json(call.tenant.orgunits, unit)


def _patch(call: Call) -> dict[str, Any]:
    unit = _found(call)
    body = call.body or {}
    changed = call.tenant.orgunits.update(
        unit,
        name=body.get("name") or None,
        parent=_parent(call, body),
        description=body.get("description"),
    )
    call.tenant.org_units_moved(changed)
    return org_unit_json(call.tenant.orgunits, unit)


def _delete(call: Call) -> None:
    unit = _found(call)
    tenant = call.tenant
    if tenant.devices.members.count([unit.ou_id]) or tenant.users.members.count([unit.ou_id]):
        raise ApiError(
            400,
            "invalid",
            f"Invalid Input: org unit {unit.path} still holds devices or users; move them first",
        )
    tenant.orgunits.delete(unit)
    tenant.policies.forget_org_unit(unit.ou_id)
    tenant.touch()


HANDLERS = {
    "directory.orgunits.list": _list,
    "directory.orgunits.get": _get,
    "directory.orgunits.insert": _insert,
    "directory.orgunits.patch": _patch,
    "directory.orgunits.update": _patch,
    "directory.orgunits.delete": _delete,
}
