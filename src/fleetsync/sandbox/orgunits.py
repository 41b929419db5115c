"""The org unit tree: paths and ids as Google gives them (the ``orgunits`` methods:
``methods/orgunits.py``).

Devices and users refer to org units by id, so renaming or moving an org unit is a change of the
tree and of the cached paths below it, nothing else. Paths are case-insensitive, as in Google.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from fleetsync.sandbox.errors import ApiError

__all__ = ["OrgUnit", "OrgUnitTree", "invalid_org_unit"]


@dataclass
class OrgUnit:
    ou_id: str  # without Google's "id:" prefix
    name: str
    parent_id: str | None
    path: str
    description: str = ""
    children: list[str] = field(default_factory=list)

    def etag(self) -> str:
        digest = hashlib.sha1(
            f"{self.ou_id}|{self.path}|{self.description}".encode(), usedforsecurity=False
        ).hexdigest()
        return f'"{digest[:27]}"'


def invalid_org_unit(reference: str) -> ApiError:
    return ApiError(
        400,
        "invalid",
        f"Invalid Input: INVALID_OU_ID (no org unit {reference!r}; create it first, or check "
        "the path)",
    )


class OrgUnitTree:
    def __init__(self, root_id: str, id_source: Callable[[], str]) -> None:
        self._new_id = id_source
        self.root = OrgUnit(ou_id=root_id, name="", parent_id=None, path="/")
        self.by_id: dict[str, OrgUnit] = {root_id: self.root}
        self._by_path: dict[str, OrgUnit] = {"/": self.root}

    # ------------------------------------------------------------------------ lookups
    def find(self, reference: str) -> OrgUnit | None:
        """An org unit by path (with or without the leading slash) or id (``id:...`` or bare)."""
        text = reference.strip()
        if text.startswith("id:"):
            return self.by_id.get(text[3:])
        path = "/" + text.strip("/")
        found = self._by_path.get(path.lower())
        if found is None and "/" not in text:
            found = self.by_id.get(text)
        return found

    def get(self, reference: str) -> OrgUnit:
        found = self.find(reference)
        if found is None:
            raise invalid_org_unit(reference)
        return found

    def subtree(self, ou_id: str) -> list[str]:
        """This org unit's id and every id below it."""
        found = [ou_id]
        index = 0
        while index < len(found):
            found.extend(self.by_id[found[index]].children)
            index += 1
        return found

    def ancestors(self, ou_id: str) -> list[OrgUnit]:
        """From the root down to this org unit, both included."""
        chain: list[OrgUnit] = []
        current: str | None = ou_id
        while current is not None:
            unit = self.by_id[current]
            chain.append(unit)
            current = unit.parent_id
        chain.reverse()
        return chain

    def all_units(self) -> list[OrgUnit]:
        return [self.by_id[i] for i in self.subtree(self.root.ou_id)]

    # ---------------------------------------------------------------------- changes
    def insert(self, name: str, parent: OrgUnit, description: str = "", ou_id: str = "") -> OrgUnit:
        if not name or "/" in name:
            raise ApiError(400, "invalid", "Invalid Ou Name")
        path = parent.path.rstrip("/") + "/" + name
        if path.lower() in self._by_path:
            # Google's answer, neither 409 nor "duplicate" (GAM reads it as "already exists").
            raise ApiError(400, "invalid", "Invalid Ou Id")
        unit = OrgUnit(
            ou_id=ou_id or self._new_id(),
            name=name,
            parent_id=parent.ou_id,
            path=path,
            description=description,
        )
        self.by_id[unit.ou_id] = unit
        self._by_path[path.lower()] = unit
        parent.children.append(unit.ou_id)
        return unit

    def ensure_path(self, path: str) -> OrgUnit:
        """The org unit at ``path``, creating missing ones on the way (seeding)."""
        unit = self.root
        for name in [p for p in path.split("/") if p]:
            existing = self.find(unit.path.rstrip("/") + "/" + name)
            unit = existing if existing is not None else self.insert(name, unit)
        return unit

    def update(
        self,
        unit: OrgUnit,
        *,
        name: str | None = None,
        parent: OrgUnit | None = None,
        description: str | None = None,
    ) -> list[str]:
        """Rename, move or describe; returns the ids whose path changed."""
        if unit is self.root:
            if name or parent:
                raise ApiError(400, "invalid", "Invalid Input: the root org unit cannot move")
            unit.description = description if description is not None else unit.description
            return []
        if description is not None:
            unit.description = description
        new_parent = parent or self.by_id[unit.parent_id or self.root.ou_id]
        if new_parent.ou_id in self.subtree(unit.ou_id):
            raise ApiError(400, "invalid", "Invalid Input: an org unit cannot move below itself")
        new_name = name or unit.name
        new_path = new_parent.path.rstrip("/") + "/" + new_name
        if new_path == unit.path:
            return []
        clash = self._by_path.get(new_path.lower())
        if clash is not None and clash is not unit:
            raise ApiError(409, "duplicate", f"Org unit {new_path} already exists.")
        if new_parent.ou_id != unit.parent_id:
            self.by_id[unit.parent_id or self.root.ou_id].children.remove(unit.ou_id)
            new_parent.children.append(unit.ou_id)
            unit.parent_id = new_parent.ou_id
        unit.name = new_name
        changed = self.subtree(unit.ou_id)
        for ou_id in changed:
            moved = self.by_id[ou_id]
            del self._by_path[moved.path.lower()]
            parent_unit = self.by_id[moved.parent_id or self.root.ou_id]
            moved.path = parent_unit.path.rstrip("/") + "/" + moved.name
            self._by_path[moved.path.lower()] = moved
        return changed

    def delete(self, unit: OrgUnit) -> None:
        if unit is self.root:
            raise ApiError(400, "invalid", "Invalid Input: the root org unit cannot be deleted")
        if unit.children:
            raise ApiError(
                400,
                "invalid",
                f"Invalid Input: org unit {unit.path} has child org units; delete or move them "
                "first",
            )
        self.by_id[unit.parent_id or self.root.ou_id].children.remove(unit.ou_id)
        del self.by_id[unit.ou_id]
        del self._by_path[unit.path.lower()]
