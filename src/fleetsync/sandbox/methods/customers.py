"""``customers.get``: the tenant as the Directory API describes its customer.

Admin tools call it at start-up (to turn ``my_customer`` into the real id, and to print the
domain) and after a failed call (to tell "does not exist" from "not allowed"). The sandbox knows
one customer: ``my_customer`` and the tenant's id name it; any other key names a customer that
does not exist here, answered as Google answers one (404 ``Resource Not Found: customerKey``).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from fleetsync.sandbox.clock import rfc3339
from fleetsync.sandbox.errors import not_found

if TYPE_CHECKING:
    from fleetsync.sandbox.calls import Call
    from fleetsync.sandbox.tenant import Tenant

__all__ = ["HANDLERS", "customer_json"]


def customer_json(tenant: Tenant) -> dict[str, Any]:
    digest = hashlib.sha1(
        f"{tenant.customer_id}|{tenant.domain}".encode(), usedforsecurity=False
    ).hexdigest()
    return {
        "kind": "admin#directory#customer",
        "id": tenant.customer_id,
        "etag": f'"{digest[:27]}"',
        "customerDomain": tenant.domain,
        "customerCreationTime": rfc3339(tenant.created),
        "language": "en",
    }


def _get(call: Call) -> dict[str, Any]:
    key = str(call.params["customerKey"])
    tenant = call.tenant
    # Google takes its customer ids with or without the leading "C".
    if key != "my_customer" and key.removeprefix("C") != tenant.customer_id.removeprefix("C"):
        raise not_found("customerKey")
    return customer_json(tenant)


HANDLERS = {"directory.customers.get": _get}
