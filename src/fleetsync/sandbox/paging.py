"""Page tokens: opaque to clients, stable across writes, bound to the query that made them.

A token holds a cursor (the position after the last item returned), not an offset, so devices
moving or users being created between two pages neither repeat nor skip the others. A token used
with different query parameters is refused, as Google refuses it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from fleetsync.sandbox.errors import ApiError

__all__ = ["PageToken"]

# Parameters that may change from one page to the next without invalidating the token.
_FREE = frozenset(
    {
        "pageToken",
        "maxResults",
        "pageSize",
        "fields",
        "alt",
        "prettyPrint",
        "quotaUser",
        "access_token",
        "oauth_token",
        "key",
        "$.xgafv",
        "callback",
        "projection",
    }
)


def _fingerprint(params: dict[str, Any], method_id: str) -> str:
    bound = sorted((k, str(v)) for k, v in params.items() if k not in _FREE)
    text = json.dumps([method_id, bound])
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:12]


@dataclass(frozen=True)
class PageToken:
    cursor: Any

    @staticmethod
    def read(params: dict[str, Any], method_id: str, name: str = "pageToken") -> PageToken | None:
        raw = params.get(name)
        if not raw:
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(str(raw) + "=" * (-len(str(raw)) % 4)))
            fingerprint, cursor = data["f"], data["c"]
        except (ValueError, binascii.Error, KeyError, TypeError):
            fingerprint, cursor = None, None
        if fingerprint != _fingerprint(params, method_id):
            raise ApiError(
                400,
                "invalid",
                f"Invalid Input: {name} (it is damaged or belongs to another query; start "
                "again without it)",
                location=name,
            )
        return PageToken(cursor)

    @staticmethod
    def write(params: dict[str, Any], method_id: str, cursor: Any) -> str:
        data = json.dumps(
            {"f": _fingerprint(params, method_id), "c": cursor}, separators=(",", ":")
        )
        return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")
