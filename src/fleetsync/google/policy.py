"""The Chrome Policy API as fleetsync uses it: resolve what applies, and modify it.

Org-unit writes have a small quota (about 30 a minute per customer): callers group every
change for one org unit and namespace into a single ``batchModify``, and write only what differs
from what ``resolve`` reported.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fleetsync.domain.observed import ObservedPolicy
from fleetsync.google.session import GoogleSession
from fleetsync.google.throttle import Quota
from fleetsync.google.wire import ResolvePage, parse

__all__ = ["PolicyClient", "PolicyWrite"]


@dataclass(frozen=True)
class PolicyWrite:
    """One policy value to set at an org unit (``value`` is replaced whole for the mask)."""

    schema: str
    value: Mapping[str, Any]
    update_mask: str
    additional_keys: tuple[tuple[str, str], ...] = ()


def _namespace(schema: str) -> str:
    return schema.rsplit(".", 1)[0]


class PolicyClient:
    def __init__(self, session: GoogleSession) -> None:
        self._session = session
        # Built once (see Directory): building a resource builds all its methods.
        self._policies = session.policy.customers().policies()
        self._org_units = self._policies.orgunits()
        self._customer = f"customers/{session.customer}"

    def resolve(
        self,
        org_unit_id: str,
        org_unit_path: str,
        schema_filter: str,
        *,
        paths_by_id: Mapping[str, str] | None = None,
    ) -> Iterator[ObservedPolicy]:
        """Every policy matching ``schema_filter`` (e.g. ``chrome.users.apps.*``) that applies
        at the org unit, wherever it was set."""
        token: str | None = None
        lookup = dict(paths_by_id or {})
        while True:
            body: dict[str, Any] = {
                "policySchemaFilter": schema_filter,
                "policyTargetKey": {"targetResource": f"orgunits/{org_unit_id}"},
                "pageSize": 1000,
            }
            if token:
                body["pageToken"] = token
            request = self._policies.resolve(customer=self._customer, body=body)
            page = parse(ResolvePage, self._session.execute(request), method=request.methodId)
            for policy in page.resolvedPolicies:
                yield policy.observed(org_unit_path, lookup)
            token = page.nextPageToken
            if not token:
                return

    def modify(self, org_unit_id: str, writes: Sequence[PolicyWrite]) -> None:
        """Set several values at one org unit in one write call: same namespace, same
        additional-key names, no duplicate (schema, keys) pair — Google's rules for one call."""
        if not writes:
            return
        namespaces = {_namespace(w.schema) for w in writes}
        key_names = {tuple(k for k, _ in w.additional_keys) for w in writes}
        pairs = [(w.schema, w.additional_keys) for w in writes]
        if len(namespaces) > 1 or len(key_names) > 1 or len(set(pairs)) != len(pairs):
            raise ValueError(
                "one batchModify takes one namespace, one set of additional key names and no "
                f"duplicate policy: got {sorted(namespaces)}"
            )
        requests = []
        for write in writes:
            target: dict[str, Any] = {"targetResource": f"orgunits/{org_unit_id}"}
            if write.additional_keys:
                target["additionalTargetKeys"] = dict(write.additional_keys)
            requests.append(
                {
                    "policyTargetKey": target,
                    "policyValue": {"policySchema": write.schema, "value": dict(write.value)},
                    "updateMask": write.update_mask,
                }
            )
        request = self._org_units.batchModify(customer=self._customer, body={"requests": requests})
        self._session.execute(request, quota=Quota.POLICY_WRITES)
