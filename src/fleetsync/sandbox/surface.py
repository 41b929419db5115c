"""The sandbox-only control surface under ``/_sandbox/`` (no Google auth; not Google's format).

What tests, benchmarks and trainers need from a tenant that Google does not offer: the request
log and per-method counters, the simulated clock, devices coming online, faults, quotas, the
delegated scopes, bulk seeding. JSON in, JSON out, snake_case keys. ``control.py`` is its client.
Devices are named by Google's device id or by serial number. Every route declares what it takes
(``surface_params.py``): anything else is refused with a 400 that names it; a failure of the
surface itself is a 500 that says so, never a client error.

    GET  /_sandbox/status                      the tenant in figures
    GET  /_sandbox/log?since=N&method=M        request log entries
    GET  /_sandbox/counters                    calls per method, per method and status
    POST /_sandbox/counters/reset
    GET  /_sandbox/clock                       POST /_sandbox/clock/advance {"seconds": S,
                                                "minutes": M, "hours": H, "days": D}
    POST /_sandbox/devices/presence            {"device_ids": [ids or serials] | "all": true,
                                                "online": ...,
                                                "checkin_interval_seconds", "forced_reenrollment",
                                                "command_outcome"}
    POST /_sandbox/devices/checkin             {"device_ids": [...] | "all": true}
    GET  /_sandbox/devices/<id or serial>      the device with its presence and commands
    GET|PATCH /_sandbox/faults                 POST /_sandbox/faults/fail-next {"method", "status",
                                               "count", "reason", "message"} (status 0: it takes
                                               effect, its answer is lost)
    GET|PATCH /_sandbox/quotas                 GET|PATCH /_sandbox/behaviour
    GET|PUT /_sandbox/scopes                   {"scopes": [...]}
    POST /_sandbox/seed/devices                {"count": N, "org_unit_path": "/..."}
    POST /_sandbox/seed/users                  {"count": N, "org_unit_path": "/...", ...}
    POST /_sandbox/tokens/revoke               POST /_sandbox/save
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

from pydantic import BaseModel, ValidationError

from fleetsync.sandbox.clock import rfc3339
from fleetsync.sandbox.devices import Device
from fleetsync.sandbox.discovery import discovery
from fleetsync.sandbox.front import Reply
from fleetsync.sandbox.presence import settle
from fleetsync.sandbox.seed import seed_devices, seed_users
from fleetsync.sandbox.surface_params import (
    BehaviourChange,
    ClockAdvance,
    DeviceCheckIn,
    FailNext,
    FaultsChange,
    LogQuery,
    MessagesQuery,
    NoParams,
    PresenceChange,
    QuotasChange,
    ScopesChange,
    SeedDevices,
    SeedUsers,
    changes,
    refusal,
)

if TYPE_CHECKING:
    from fleetsync.sandbox.front import Front
    from fleetsync.sandbox.tenant import Tenant

__all__ = ["ControlSurface"]

log = logging.getLogger("fleetsync.sandbox")

_JSON = "application/json"


class _Problem(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _NoQuery(BaseModel):
    model_config = NoParams.model_config | {"strict": False}


@dataclass(frozen=True)
class _Route:
    handler: Callable[[Any, Any], Any]
    body: type[BaseModel] = NoParams
    query: type[BaseModel] = _NoQuery


def _reply(data: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(data, indent=1, default=str).encode(), content_type=_JSON)


class ControlSurface:
    """The routes under ``/_sandbox/``, given what they use: the tenant, the front door (its log,
    faults, quotas and tokens), where the sandbox listens, and how to save its state."""

    def __init__(
        self,
        tenant: Tenant,
        front: Front,
        *,
        url: str,
        state_file: Path | None,
        save: Callable[[], Path | None],
    ) -> None:
        self.tenant = tenant
        self._front = front
        self.url = url
        self.state_file = state_file
        self._save_state = save
        self._routes: dict[tuple[str, str], _Route] = {
            ("GET", "status"): _Route(self._status),
            ("GET", "log"): _Route(self._log, query=LogQuery),
            ("GET", "counters"): _Route(lambda b, q: self._front.log.counters()),
            ("POST", "counters/reset"): _Route(self._reset_counters),
            ("GET", "clock"): _Route(lambda b, q: self._clock()),
            ("POST", "clock/advance"): _Route(self._advance, ClockAdvance),
            ("POST", "devices/presence"): _Route(self._presence, PresenceChange),
            ("POST", "devices/checkin"): _Route(self._checkin, DeviceCheckIn),
            ("GET", "faults"): _Route(lambda b, q: self._front.faults.faults.to_json()),
            ("PATCH", "faults"): _Route(self._faults, FaultsChange),
            ("POST", "faults/fail-next"): _Route(self._fail_next, FailNext),
            ("GET", "quotas"): _Route(lambda b, q: self._front.quotas.to_json()),
            ("PATCH", "quotas"): _Route(self._quotas, QuotasChange),
            ("GET", "behaviour"): _Route(lambda b, q: self.tenant.behaviour.to_json()),
            ("PATCH", "behaviour"): _Route(self._behaviour, BehaviourChange),
            ("GET", "scopes"): _Route(
                lambda b, q: {"scopes": sorted(self.tenant.delegated_scopes)}
            ),
            ("PUT", "scopes"): _Route(self._scopes, ScopesChange),
            ("POST", "seed/devices"): _Route(self._seed_devices, SeedDevices),
            ("POST", "seed/users"): _Route(self._seed_users, SeedUsers),
            ("POST", "tokens/revoke"): _Route(
                lambda b, q: {"revoked": self._front.issuer.revoke_all()}
            ),
            ("POST", "save"): _Route(self._save),
            ("GET", "messages"): _Route(self._messages, query=MessagesQuery),
        }

    def handle(self, http_method: str, target: str, body: bytes) -> Reply:
        path, _, query_string = target.partition("?")
        name = path.removeprefix("/_sandbox").strip("/")
        where = f"{http_method} /_sandbox/{name}"
        try:
            route = self._route(http_method, name)
            params = self._parse(route.body, self._payload(body), where)
            query = self._parse(route.query, self._query(query_string, where), where)
            return _reply(route.handler(params, query))
        except _Problem as problem:
            return _reply({"error": str(problem)}, problem.status)
        except Exception as exc:
            # Bad input is refused above, by name: what lands here is the sandbox's own bug.
            log.exception("sandbox: the control surface failed on %s", where)
            message = (
                f"{where} failed inside the sandbox ({type(exc).__name__}: {exc}); this is a "
                "sandbox bug, not a problem with the request: please report it"
            )
            return _reply({"error": message}, 500)

    def _route(self, http_method: str, name: str) -> _Route:
        if http_method == "GET" and name.startswith("devices/"):
            reference = unquote(name.removeprefix("devices/"))
            return _Route(lambda b, q: self._device(reference))
        route = self._routes.get((http_method, name))
        if route is None:
            known = sorted(f"{m} /_sandbox/{p}" for m, p in self._routes)
            raise _Problem(404, f"no control {http_method} /_sandbox/{name}; known: {known}")
        return route

    @staticmethod
    def _payload(body: bytes) -> dict[str, Any]:
        try:
            payload = json.loads(body) if body.strip() else {}
        except ValueError as exc:
            raise _Problem(400, f"the body is not JSON: {exc}") from None
        if not isinstance(payload, dict):
            raise _Problem(400, "the body must be a JSON object")
        return payload

    @staticmethod
    def _query(query_string: str, where: str) -> dict[str, str]:
        query = parse_qs(query_string, keep_blank_values=True)
        repeated = sorted(k for k, v in query.items() if len(v) > 1)
        if repeated:
            raise _Problem(400, f"{where}: give each query parameter once; repeated: {repeated}")
        return {k: v[0] for k, v in query.items()}

    @staticmethod
    def _parse(model: type[BaseModel], data: dict[str, Any], where: str) -> Any:
        try:
            return model.model_validate(data)
        except ValidationError as error:
            raise _Problem(400, refusal(error, model, where)) from None

    # ----------------------------------------------------------------------- reading
    def _messages(self, body: NoParams, query: MessagesQuery) -> Any:
        tenant = self.tenant
        wanted = None if query.to is None else query.to.strip().lower()
        with tenant.lock:
            found = [m.to_json() for m in tenant.messages if wanted is None or wanted in m.to]
        return {"messages": found}

    def _status(self, body: NoParams, query: Any) -> Any:
        tenant = self.tenant
        with tenant.lock:
            summary = tenant.summary()
        summary.update(
            {
                "url": self.url,
                "tokenUri": self.url + "token",
                "stateFile": str(self.state_file) if self.state_file else None,
                "faults": self._front.faults.faults.to_json(),
                "quotas": self._front.quotas.to_json(),
                "counters": self._front.log.counters(),
            }
        )
        return summary

    def _log(self, body: NoParams, query: LogQuery) -> Any:
        return {"entries": self._front.log.entries(query.since, query.method, query.limit)}

    def _reset_counters(self, body: NoParams, query: Any) -> Any:
        self._front.log.reset()
        self._front.meter.reset()
        return self._front.log.counters()

    def _clock(self) -> Any:
        clock = self.tenant.clock
        now = clock.now()
        return {"now": now, "iso": rfc3339(now), "offset_seconds": clock.offset}

    def _device(self, reference: str) -> Any:
        tenant = self.tenant
        with tenant.lock:
            device = self._find(reference)
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
    def _advance(self, body: ClockAdvance, query: Any) -> Any:
        with self.tenant.lock:
            self.tenant.clock.advance(body.total_seconds)
            self.tenant.touch()
        return self._clock()

    def _find(self, reference: str) -> Device:
        """A device by Google's id or by serial number (404 when none, 400 when ambiguous)."""
        fleet = self.tenant.devices
        device = fleet.by_id.get(reference)
        if device is not None:
            return device
        found = fleet.with_serial(reference)
        if len(found) == 1:
            return found[0]
        if not found:
            raise _Problem(404, f"no device has the id or serial number {reference!r}")
        ids = [d.device_id for d in found]
        raise _Problem(
            400, f"serial number {reference!r} names {len(ids)} devices {ids}: use an id"
        )

    def _devices(self, body: DeviceCheckIn) -> list[Device]:
        fleet = self.tenant.devices
        if body.all:
            return list(fleet.devices)
        found, missing = [], []
        for reference in body.device_ids or []:
            try:
                found.append(self._find(reference))
            except _Problem as problem:
                if problem.status != 404:
                    raise
                missing.append(reference)
        if missing:
            raise _Problem(404, f"no device has the id or serial number: {missing[:10]}")
        return found

    def _presence(self, body: PresenceChange, query: Any) -> Any:
        tenant = self.tenant
        changed = 0
        with tenant.lock:
            devices = self._devices(body)
            if body.online and not body.all:
                # All or nothing: refuse before a first device changed.
                gone = [d.device_id for d in devices if d.data.get("status") == "DEPROVISIONED"]
                if gone:
                    raise _Problem(400, f"deprovisioned and cannot come online: {gone[:10]}")
            for device in devices:
                if body.all and body.online and device.data.get("status") == "DEPROVISIONED":
                    continue  # "all online" means every device that still can be
                tenant.set_presence(
                    device,
                    online=body.online,
                    checkin_interval=body.checkin_interval_seconds,
                    forced_reenrollment=body.forced_reenrollment,
                    command_outcome=body.command_outcome,
                )
                changed += 1
        return {"changed": changed}

    def _checkin(self, body: DeviceCheckIn, query: Any) -> Any:
        tenant = self.tenant
        count = 0
        with tenant.lock:
            for device in self._devices(body):
                if device.data.get("status") != "DEPROVISIONED":
                    tenant.check_in_now(device)
                    count += 1
        return {"checked_in": count}

    def _faults(self, body: FaultsChange, query: Any) -> Any:
        self._front.faults.update(changes(body))
        return self._front.faults.faults.to_json()

    def _fail_next(self, body: FailNext, query: Any) -> Any:
        if body.method is not None and body.method not in discovery().by_id:
            raise _Problem(
                400,
                f"faults/fail-next: no Google method {body.method!r} (a method id, e.g. "
                "directory.users.insert; see /_sandbox/counters for those called)",
            )
        self._front.faults.fail_next(
            method=body.method,
            status=body.status,
            count=body.count,
            reason=body.reason,
            message=body.message,
        )
        return self._front.faults.faults.to_json()

    def _quotas(self, body: QuotasChange, query: Any) -> Any:
        self._front.quotas.update(changes(body))
        self._front.meter.reset()
        return self._front.quotas.to_json()

    def _behaviour(self, body: BehaviourChange, query: Any) -> Any:
        tenant = self.tenant
        with tenant.lock:
            tenant.behaviour.update(changes(body))
            tenant.touch()
        return tenant.behaviour.to_json()

    def _scopes(self, body: ScopesChange, query: Any) -> Any:
        tenant = self.tenant
        with tenant.lock:
            tenant.delegated_scopes = frozenset(body.scopes)
            tenant.touch()
        return {"scopes": sorted(tenant.delegated_scopes)}

    def _seed_devices(self, body: SeedDevices, query: Any) -> Any:
        tenant = self.tenant
        with tenant.lock:
            added = seed_devices(tenant, body.count, org_unit_path=body.org_unit_path)
            return {"added": added, "devices": len(tenant.devices)}

    def _seed_users(self, body: SeedUsers, query: Any) -> Any:
        tenant = self.tenant
        with tenant.lock:
            added = seed_users(
                tenant,
                body.count,
                org_unit_path=body.org_unit_path,
                suspended=body.suspended,
                borrower_prefix=body.borrower_prefix,
            )
            return {"added": added, "users": len(tenant.users)}

    def _save(self, body: NoParams, query: Any) -> Any:
        path = self._save_state()
        if path is None:
            raise _Problem(409, "this sandbox runs without --state: there is nothing to save to")
        return {"saved": str(path)}
