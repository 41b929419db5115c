"""The sandbox-only control surface under ``/_sandbox/`` (no Google auth; not Google's format).

What tests, benchmarks and trainers need from a tenant that Google does not offer: the request
log and per-method counters, the simulated clock, devices coming online, faults, quotas, the
delegated scopes, bulk seeding. JSON in, JSON out, snake_case keys. ``control.py`` is its client.

    GET  /_sandbox/status                      the tenant in figures
    GET  /_sandbox/log?since=N&method=M        request log entries
    GET  /_sandbox/counters                    calls per method, per method and status
    POST /_sandbox/counters/reset
    GET  /_sandbox/clock                       POST /_sandbox/clock/advance {"seconds": S}
    POST /_sandbox/devices/presence            {"device_ids": [...] | "all": true, "online": ...,
                                                "checkin_interval_seconds", "forced_reenrollment",
                                                "command_outcome"}
    POST /_sandbox/devices/checkin             {"device_ids": [...] | "all": true}
    GET  /_sandbox/devices/<id>                the device with its presence and commands
    GET|PATCH /_sandbox/faults                 POST /_sandbox/faults/fail-next {"method", "status"}
                                               (status 0: it takes effect, its answer is lost)
    GET|PATCH /_sandbox/quotas                 GET|PATCH /_sandbox/behaviour
    GET|PUT /_sandbox/scopes                   {"scopes": [...]}
    POST /_sandbox/seed/devices                {"count": N, "org_unit_path": "/..."}
    POST /_sandbox/seed/users                  {"count": N, "org_unit_path": "/...", ...}
    POST /_sandbox/tokens/revoke               POST /_sandbox/save
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from fleetsync.sandbox.commands import check_in_now, set_presence
from fleetsync.sandbox.devices import Device
from fleetsync.sandbox.front import Reply
from fleetsync.sandbox.presence import settle
from fleetsync.sandbox.seed import seed_devices, seed_users

if TYPE_CHECKING:
    from fleetsync.sandbox.server import SandboxServer

__all__ = ["ControlSurface"]

_JSON = "application/json"


class _Problem(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _reply(data: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(data, indent=1, default=str).encode(), content_type=_JSON)


class ControlSurface:
    def __init__(self, sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self._routes: dict[
            tuple[str, str], Callable[[dict[str, Any], dict[str, list[str]]], Any]
        ] = {
            ("GET", "status"): self._status,
            ("GET", "log"): self._log,
            ("GET", "counters"): lambda b, q: self._front.log.counters(),
            ("POST", "counters/reset"): self._reset_counters,
            ("GET", "clock"): lambda b, q: self._clock(),
            ("POST", "clock/advance"): self._advance,
            ("POST", "devices/presence"): self._presence,
            ("POST", "devices/checkin"): self._checkin,
            ("GET", "faults"): lambda b, q: self._front.faults.faults.to_json(),
            ("PATCH", "faults"): self._faults,
            ("POST", "faults/fail-next"): self._fail_next,
            ("GET", "quotas"): lambda b, q: self._front.quotas.to_json(),
            ("PATCH", "quotas"): self._quotas,
            ("GET", "behaviour"): lambda b, q: self.sandbox.tenant.behaviour.to_json(),
            ("PATCH", "behaviour"): self._behaviour,
            ("GET", "scopes"): lambda b, q: {
                "scopes": sorted(self.sandbox.tenant.delegated_scopes)
            },
            ("PUT", "scopes"): self._scopes,
            ("POST", "seed/devices"): self._seed_devices,
            ("POST", "seed/users"): self._seed_users,
            ("POST", "tokens/revoke"): lambda b, q: {"revoked": self._front.issuer.revoke_all()},
            ("POST", "save"): self._save,
        }

    @property
    def _front(self) -> Any:
        return self.sandbox.front

    def handle(self, http_method: str, target: str, body: bytes) -> Reply:
        path, _, query_string = target.partition("?")
        name = path.removeprefix("/_sandbox").strip("/")
        query = parse_qs(query_string)
        try:
            payload = json.loads(body) if body.strip() else {}
            if not isinstance(payload, dict):
                raise _Problem(400, "the body must be a JSON object")
            if http_method == "GET" and name.startswith("devices/"):
                return _reply(self._device(name.removeprefix("devices/")))
            route = self._routes.get((http_method, name))
            if route is None:
                known = sorted(f"{m} /_sandbox/{p}" for m, p in self._routes)
                raise _Problem(404, f"no control {http_method} /_sandbox/{name}; known: {known}")
            return _reply(route(payload, query))
        except _Problem as problem:
            return _reply({"error": str(problem)}, problem.status)
        except (ValueError, TypeError, KeyError) as exc:
            return _reply({"error": f"{type(exc).__name__}: {exc}"}, 400)

    # ----------------------------------------------------------------------- reading
    def _status(self, body: dict[str, Any], query: dict[str, list[str]]) -> Any:
        tenant = self.sandbox.tenant
        with tenant.lock:
            summary = tenant.summary()
        summary.update(
            {
                "url": self.sandbox.url,
                "tokenUri": self.sandbox.token_uri,
                "stateFile": str(self.sandbox.state_file) if self.sandbox.state_file else None,
                "faults": self._front.faults.faults.to_json(),
                "quotas": self._front.quotas.to_json(),
                "counters": self._front.log.counters(),
            }
        )
        return summary

    def _log(self, body: dict[str, Any], query: dict[str, list[str]]) -> Any:
        since = int((query.get("since") or ["0"])[0])
        methods = query.get("method")
        method = methods[0] if methods else None
        limit = int((query.get("limit") or ["1000"])[0])
        return {"entries": self._front.log.entries(since, method, limit)}

    def _reset_counters(self, body: dict[str, Any], query: dict[str, list[str]]) -> Any:
        self._front.log.reset()
        self._front.meter.reset()
        return self._front.log.counters()

    def _clock(self) -> Any:
        clock = self.sandbox.tenant.clock
        from fleetsync.sandbox.clock import rfc3339

        now = clock.now()
        return {"now": now, "iso": rfc3339(now), "offset_seconds": clock.offset}

    def _device(self, device_id: str) -> Any:
        tenant = self.sandbox.tenant
        with tenant.lock:
            device = tenant.devices.by_id.get(device_id)
            if device is None:
                raise _Problem(404, f"no device {device_id}")
            now = tenant.clock.now()
            settle(device.presence, device.data, now, tenant.behaviour)
            presence = device.presence
            return {
                "device": dict(device.data),
                "online": presence.online,
                "checkin_interval_seconds": presence.checkin_interval,
                "last_checkin": presence.last_checkin,
                "forced_reenrollment": presence.forced_reenrollment,
                "command_outcome": presence.command_outcome,
                "commands": [c.view(now, tenant.behaviour) for c in presence.commands],
            }

    # ----------------------------------------------------------------------- changing
    def _advance(self, body: dict[str, Any], query: dict[str, list[str]]) -> Any:
        seconds = float(body.get("seconds", 0))
        with self.sandbox.tenant.lock:
            self.sandbox.tenant.clock.advance(seconds)
            self.sandbox.tenant.touch()
        return self._clock()

    def _devices(self, body: dict[str, Any]) -> list[Device]:
        fleet = self.sandbox.tenant.devices
        if body.get("all"):
            return list(fleet.devices)
        ids = body.get("device_ids")
        if not isinstance(ids, list) or not ids:
            raise _Problem(400, 'name the devices: {"device_ids": [...]} or {"all": true}')
        missing = [i for i in ids if i not in fleet.by_id]
        if missing:
            raise _Problem(404, f"no such devices: {missing[:10]}")
        return [fleet.by_id[i] for i in ids]

    def _presence(self, body: dict[str, Any], query: dict[str, list[str]]) -> Any:
        tenant = self.sandbox.tenant
        changed = 0
        with tenant.lock:
            for device in self._devices(body):
                if (
                    body.get("all")
                    and body.get("online")
                    and device.data.get("status") == "DEPROVISIONED"
                ):
                    continue  # "all online" means every device that still can be
                set_presence(
                    tenant,
                    device,
                    online=body.get("online"),
                    checkin_interval=body.get("checkin_interval_seconds"),
                    forced_reenrollment=body.get("forced_reenrollment"),
                    command_outcome=body.get("command_outcome"),
                )
                changed += 1
        return {"changed": changed}

    def _checkin(self, body: dict[str, Any], query: dict[str, list[str]]) -> Any:
        tenant = self.sandbox.tenant
        count = 0
        with tenant.lock:
            for device in self._devices(body):
                if device.data.get("status") != "DEPROVISIONED":
                    check_in_now(tenant, device)
                    count += 1
        return {"checked_in": count}

    def _faults(self, body: dict[str, Any], query: dict[str, list[str]]) -> Any:
        self._front.faults.update(body)
        return self._front.faults.faults.to_json()

    def _fail_next(self, body: dict[str, Any], query: dict[str, list[str]]) -> Any:
        self._front.faults.fail_next(
            method=body.get("method"),
            status=int(body.get("status", 503)),
            count=int(body.get("count", 1)),
            reason=body.get("reason"),
            message=body.get("message"),
        )
        return self._front.faults.faults.to_json()

    def _quotas(self, body: dict[str, Any], query: dict[str, list[str]]) -> Any:
        self._front.quotas.update(body)
        self._front.meter.reset()
        return self._front.quotas.to_json()

    def _behaviour(self, body: dict[str, Any], query: dict[str, list[str]]) -> Any:
        tenant = self.sandbox.tenant
        with tenant.lock:
            tenant.behaviour.update(body)
            tenant.touch()
        return tenant.behaviour.to_json()

    def _scopes(self, body: dict[str, Any], query: dict[str, list[str]]) -> Any:
        scopes = body.get("scopes")
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise _Problem(400, 'send {"scopes": ["https://www.googleapis.com/auth/...", ...]}')
        tenant = self.sandbox.tenant
        with tenant.lock:
            tenant.delegated_scopes = frozenset(scopes)
            tenant.touch()
        return {"scopes": sorted(tenant.delegated_scopes)}

    def _seed_devices(self, body: dict[str, Any], query: dict[str, list[str]]) -> Any:
        tenant = self.sandbox.tenant
        with tenant.lock:
            added = seed_devices(
                tenant,
                int(body.get("count", 0)),
                org_unit_path=str(body.get("org_unit_path") or "/Chromebooks/Staging"),
            )
            return {"added": added, "devices": len(tenant.devices)}

    def _seed_users(self, body: dict[str, Any], query: dict[str, list[str]]) -> Any:
        tenant = self.sandbox.tenant
        with tenant.lock:
            added = seed_users(
                tenant,
                int(body.get("count", 0)),
                org_unit_path=str(body.get("org_unit_path") or "/Students"),
                suspended=bool(body.get("suspended", False)),
                borrower_prefix=body.get("borrower_prefix"),
            )
            return {"added": added, "users": len(tenant.users)}

    def _save(self, body: dict[str, Any], query: dict[str, list[str]]) -> Any:
        path = self.sandbox.save()
        if path is None:
            raise _Problem(409, "this sandbox runs without --state: there is nothing to save to")
        return {"saved": str(path)}
