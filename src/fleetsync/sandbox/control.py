"""A Python client for the sandbox's control surface (``/_sandbox/...``).

    control = SandboxControl("http://127.0.0.1:8765/")
    control.advance(hours=2)
    control.online(all=True)
    control.counters()["calls"]["directory.chromeosdevices.list"]

It speaks plain JSON over urllib: it is not Google's wire format and needs no token. Devices are
named by Google's device id or by serial number; a parameter the surface does not take is refused
(:class:`SandboxControlError`) with its name.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlencode

__all__ = ["SandboxControl", "SandboxControlError"]


class SandboxControlError(Exception):
    """The control surface refused (the message is its explanation) or is unreachable."""


class SandboxControl:
    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.timeout = timeout

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the sandbox's own URL
            self.base_url + "_sandbox/" + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                return json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("error", str(exc))
            except ValueError:
                message = str(exc)
            raise SandboxControlError(f"{method} /_sandbox/{path}: {message}") from None
        except urllib.error.URLError as exc:
            raise SandboxControlError(
                f"the sandbox at {self.base_url} is not reachable ({exc.reason}); is "
                "`fleetsync sandbox serve` running?"
            ) from None

    # ---------------------------------------------------------------------- reading
    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", "status")
        return result

    def counters(self) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", "counters")
        return result

    def calls(self, method: str) -> int:
        """How many calls of one Google method (e.g. ``directory.users.insert``) were answered."""
        return int(self.counters()["calls"].get(method, 0))

    def log(
        self, *, since: int = 0, method: str | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        query = f"log?since={since}&limit={limit}" + (f"&method={method}" if method else "")
        entries: list[dict[str, Any]] = self._request("GET", query)["entries"]
        return entries

    def reset_counters(self) -> None:
        self._request("POST", "counters/reset", {})

    def device(self, device: str) -> dict[str, Any]:
        """A device (by id or serial number) with its presence and commands, as the sandbox
        holds it."""
        result: dict[str, Any] = self._request("GET", f"devices/{quote(device, safe='')}")
        return result

    # ---------------------------------------------------------------------- clock
    def clock(self) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", "clock")
        return result

    def advance(
        self, seconds: float = 0, *, minutes: float = 0, hours: float = 0, days: float = 0
    ) -> dict[str, Any]:
        total = seconds + 60 * minutes + 3600 * hours + 86400 * days
        result: dict[str, Any] = self._request("POST", "clock/advance", {"seconds": total})
        return result

    # ---------------------------------------------------------------------- devices
    def _targets(self, device_ids: Sequence[str] | None, all: bool) -> dict[str, Any]:
        if all:
            return {"all": True}
        if not device_ids:
            raise ValueError("name the devices, or pass all=True")
        return {"device_ids": list(device_ids)}

    def presence(
        self,
        device_ids: Sequence[str] | None = None,
        *,
        all: bool = False,
        online: bool | None = None,
        checkin_interval_seconds: float | None = None,
        forced_reenrollment: bool | None = None,
        command_outcome: str | None = None,
    ) -> int:
        body = self._targets(device_ids, all)
        for key, value in (
            ("online", online),
            ("checkin_interval_seconds", checkin_interval_seconds),
            ("forced_reenrollment", forced_reenrollment),
            ("command_outcome", command_outcome),
        ):
            if value is not None:
                body[key] = value
        return int(self._request("POST", "devices/presence", body)["changed"])

    def online(self, device_ids: Sequence[str] | None = None, *, all: bool = False) -> int:
        """Bring devices online: each checks in at once (and then every check-in interval)."""
        return self.presence(device_ids, all=all, online=True)

    def offline(self, device_ids: Sequence[str] | None = None, *, all: bool = False) -> int:
        return self.presence(device_ids, all=all, online=False)

    def check_in(self, device_ids: Sequence[str] | None = None, *, all: bool = False) -> int:
        return int(
            self._request("POST", "devices/checkin", self._targets(device_ids, all))["checked_in"]
        )

    # ---------------------------------------------------------------------- operations
    def faults(self, **changes: Any) -> dict[str, Any]:
        """Read, or change (``error_rate=0.1``, ``latency_ms=50``, ``drop_rate=0.05``, ...)."""
        if not changes:
            result: dict[str, Any] = self._request("GET", "faults")
            return result
        result = self._request("PATCH", "faults", changes)
        return result

    def clear_faults(self) -> None:
        self.faults(
            error_rate=0.0, latency_ms=0.0, latency_jitter_ms=0.0, drop_rate=0.0, planned=[]
        )

    def fail_next(
        self,
        method: str | None = None,
        *,
        status: int = 503,
        count: int = 1,
        reason: str | None = None,
        message: str | None = None,
    ) -> None:
        """The next ``count`` calls of ``method`` (any method when None) fail with ``status``
        (and ``reason``, ``message``: Google's usual ones by default). ``status=0``: they take
        effect, then the connection drops (the answer is lost)."""
        body: dict[str, Any] = {"method": method, "status": status, "count": count}
        if reason:
            body["reason"] = reason
        if message:
            body["message"] = message
        self._request("POST", "faults/fail-next", body)

    def quotas(self, **changes: Any) -> dict[str, Any]:
        """Read, or change (``device_writes_per_minute=60``, ``max_concurrent_requests=4``)."""
        if not changes:
            result: dict[str, Any] = self._request("GET", "quotas")
            return result
        result = self._request("PATCH", "quotas", changes)
        return result

    def behaviour(self, **changes: Any) -> dict[str, Any]:
        """Read, or change (``user_propagation_seconds=30``, ``licences_available=0``, ...)."""
        if not changes:
            result: dict[str, Any] = self._request("GET", "behaviour")
            return result
        result = self._request("PATCH", "behaviour", changes)
        return result

    def delegated_scopes(self, scopes: Sequence[str] | None = None) -> list[str]:
        """Read, or replace, the scopes the service account's client id is delegated."""
        if scopes is None:
            answer = self._request("GET", "scopes")
        else:
            answer = self._request("PUT", "scopes", {"scopes": list(scopes)})
        return list(answer["scopes"])

    def revoke_tokens(self) -> int:
        return int(self._request("POST", "tokens/revoke", {})["revoked"])

    def seed_devices(self, count: int, *, org_unit_path: str = "/Chromebooks/Staging") -> int:
        body = {"count": count, "org_unit_path": org_unit_path}
        return int(self._request("POST", "seed/devices", body)["added"])

    def seed_users(
        self,
        count: int,
        *,
        org_unit_path: str = "/Students",
        suspended: bool = False,
        borrower_prefix: str | None = None,
    ) -> int:
        body: dict[str, Any] = {
            "count": count,
            "org_unit_path": org_unit_path,
            "suspended": suspended,
        }
        if borrower_prefix is not None:
            body["borrower_prefix"] = borrower_prefix
        return int(self._request("POST", "seed/users", body)["added"])

    def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        """The messages sent through Gmail (to one address, when given), oldest first."""
        path = "messages" if to is None else "messages?" + urlencode({"to": to})
        return list(self._request("GET", path)["messages"])

    def save(self) -> str:
        return str(self._request("POST", "save", {})["saved"])
