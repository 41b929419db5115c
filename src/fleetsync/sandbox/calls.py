"""One Google API call, as a method handler sees it once the front door has let it in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fleetsync.sandbox.auth import Principal
    from fleetsync.sandbox.discovery import Route
    from fleetsync.sandbox.fields import Mask
    from fleetsync.sandbox.tenant import Tenant

__all__ = ["Call", "Handler"]


@dataclass
class Call:
    tenant: Tenant
    route: Route
    #: Path and query parameters, typed as the discovery document says.
    params: dict[str, Any]
    #: The JSON request body (checked against the request schema), or None.
    body: Any
    principal: Principal
    #: The compiled ``fields`` mask, or None for the whole answer.
    mask: Mask | None = None
    #: Set by a handler that applied the mask itself (list pages, for speed).
    mask_applied: bool = False


#: Returns the JSON answer (200), or None for Google's empty 204.
Handler = Callable[[Call], Any]
