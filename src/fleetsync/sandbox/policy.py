"""Chrome policies set on org units and inheritance down the tree (the Chrome Policy methods:
``methods/policy.py``).

A value set at an org unit applies there and below until an org unit lower down sets its own.
``resolve`` reports, for the target org unit, every matching value with ``sourceKey`` (where it
comes from) and, for apps, ``addedSourceKey`` (the highest org unit that added the app). One
``batchModify`` / ``batchInherit`` obeys Google's rules: one root namespace, one set of
additional-key names, no duplicate (schema, target) pair.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from fleetsync.sandbox.policy_schemas import namespace_of

if TYPE_CHECKING:
    from fleetsync.sandbox.orgunits import OrgUnit

__all__ = ["Keys", "PolicyStore", "Slot", "matches"]

Keys = tuple[tuple[str, str], ...]
#: (org unit id, schema name, additional target keys) → the value set there.
Slot = tuple[str, str, Keys]


class PolicyStore:
    def __init__(self) -> None:
        self.values: dict[Slot, dict[str, Any]] = {}

    def set_fields(self, slot: Slot, fields: dict[str, Any], inherited: dict[str, Any]) -> None:
        current = self.values.get(slot)
        base = dict(current) if current is not None else dict(inherited)
        base.update(fields)
        self.values[slot] = base

    def inherit(self, ou_id: str, schema_filter: str, keys: Keys) -> int:
        doomed = [
            slot
            for slot in self.values
            if slot[0] == ou_id and matches(schema_filter, slot[1]) and slot[2] == keys
        ]
        for slot in doomed:
            del self.values[slot]
        return len(doomed)

    def forget_org_unit(self, ou_id: str) -> None:
        for slot in [s for s in self.values if s[0] == ou_id]:
            del self.values[slot]

    def resolve(
        self, chain: list[OrgUnit], schema_filter: str, keys: Keys | None
    ) -> list[tuple[str, Keys, dict[str, Any], str, str | None]]:
        """(schema, keys, value, source ou id, added-at ou id) for each policy in effect at the
        last org unit of ``chain`` (root first)."""
        position = {unit.ou_id: index for index, unit in enumerate(chain)}
        nearest: dict[tuple[str, Keys], tuple[int, dict[str, Any]]] = {}
        added: dict[Keys, int] = {}
        for (ou_id, schema, slot_keys), value in self.values.items():
            depth = position.get(ou_id)
            if depth is None:
                continue
            if slot_keys and namespace_of(schema) == namespace_of(schema_filter):
                added[slot_keys] = min(added.get(slot_keys, depth), depth)
            if not matches(schema_filter, schema) or (keys and slot_keys != keys):
                continue
            known = nearest.get((schema, slot_keys))
            if known is None or depth > known[0]:
                nearest[(schema, slot_keys)] = (depth, value)
        found = []
        for (schema, slot_keys), (depth, value) in sorted(nearest.items()):
            added_at = chain[added[slot_keys]].ou_id if slot_keys in added else None
            found.append((schema, slot_keys, value, chain[depth].ou_id, added_at))
        return found


def matches(schema_filter: str, schema: str) -> bool:
    """Whether ``schema`` answers ``schema_filter``: a schema name, or a namespace and a leaf
    with wildcards (``chrome.users.apps.*``, ``chrome.users.Show*``)."""
    namespace, _, leaf = schema_filter.rpartition(".")
    return namespace_of(schema) == namespace and fnmatchcase(schema.rpartition(".")[2], leaf)
