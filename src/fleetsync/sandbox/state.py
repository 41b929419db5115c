"""The tenant on disk (``--state FILE``): JSON, written atomically, loaded on start.

Written when the server stops and every ``autosave_seconds`` while something changed. Issued
access tokens are not kept: after a restart clients exchange new ones, as after a key rotation.
Quotas and faults are not kept either: they are how this run is started, not what the tenant is.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from fleetsync.sandbox.auth import ServiceAccount
from fleetsync.sandbox.presence import Command, Presence
from fleetsync.sandbox.tenant import Tenant
from fleetsync.sandbox.users import User

__all__ = ["FORMAT", "Autosaver", "dump_tenant", "load_tenant", "save_tenant"]

FORMAT = 1


def dump_tenant(tenant: Tenant) -> dict[str, Any]:
    with tenant.lock:
        tree = tenant.orgunits
        return {
            "format": FORMAT,
            "domain": tenant.domain,
            "customerId": tenant.customer_id,
            "created": tenant.created,
            "serviceAccount": {
                "privateKey": tenant.account.private_key_pem,
                "projectId": tenant.account.project_id,
            },
            "clockOffsetSeconds": tenant.clock.offset,
            "behaviour": tenant.behaviour.to_json(),
            "delegatedScopes": sorted(tenant.delegated_scopes),
            "oauth": tenant.oauth.to_json(),
            "nextCommandId": tenant.next_command_id,
            "rootOrgUnitId": tree.root.ou_id,
            "orgUnits": [
                {
                    "id": unit.ou_id,
                    "name": unit.name,
                    "parentId": unit.parent_id,
                    "description": unit.description,
                }
                for unit in tree.all_units()[1:]
            ],
            "devices": [
                {
                    "data": device.data,
                    "ouId": device.ou_id,
                    "presence": {
                        "online": device.presence.online,
                        "checkinInterval": device.presence.checkin_interval,
                        "lastCheckin": device.presence.last_checkin,
                        "forcedReenrollment": device.presence.forced_reenrollment,
                        "commandOutcome": device.presence.command_outcome,
                        "commands": [vars(c) for c in device.presence.commands],
                    },
                }
                for device in tenant.devices.devices
            ],
            "users": [_user(u) for u in tenant.users.by_id.values()],
            "deletedUsers": [_user(u) for u in tenant.users.deleted.values()],
            "policies": [
                {"ouId": ou_id, "schema": schema, "keys": dict(keys), "value": value}
                for (ou_id, schema, keys), value in tenant.policies.values.items()
            ],
        }


def _user(user: User) -> dict[str, Any]:
    return {
        "id": user.user_id,
        "data": user.data,
        "ouId": user.ou_id,
        "created": user.created,
        "passwordHash": user.password_hash,
        "isAdmin": user.is_admin,
        "deleted": user.deleted,
    }


def _read_user(raw: dict[str, Any]) -> User:
    return User(
        user_id=raw["id"],
        data=raw["data"],
        ou_id=raw["ouId"],
        created=raw["created"],
        password_hash=raw.get("passwordHash", ""),
        is_admin=raw.get("isAdmin", False),
        deleted=raw.get("deleted"),
    )


def load_tenant(path: Path) -> Tenant:
    """A tenant as it was saved. Raises ValueError naming the file when it cannot be used."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"sandbox state {path} cannot be read: {exc}") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ValueError(
            f"sandbox state {path} is not a format-{FORMAT} sandbox state file; move it away to "
            "start a fresh tenant"
        )
    account = ServiceAccount.from_pem(
        raw["serviceAccount"]["privateKey"], project_id=raw["serviceAccount"]["projectId"]
    )
    tenant = Tenant(
        raw["domain"],
        account=account,
        customer_id=raw["customerId"],
        root_ou_id=raw["rootOrgUnitId"],
        create_admin=False,
    )
    tenant.clock.advance(max(0.0, float(raw.get("clockOffsetSeconds", 0.0))))
    tenant.created = float(raw.get("created", tenant.created))
    tenant.behaviour.update(raw.get("behaviour", {}))
    tenant.delegated_scopes = frozenset(raw.get("delegatedScopes", tenant.delegated_scopes))
    tenant.oauth.load(raw.get("oauth", {}))
    tenant.next_command_id = int(raw.get("nextCommandId", tenant.next_command_id))
    tree = tenant.orgunits
    for unit in raw["orgUnits"]:
        tree.insert(
            unit["name"], tree.by_id[unit["parentId"]], unit.get("description", ""), unit["id"]
        )
    records = []
    for item in raw["devices"]:
        stored = item["presence"]
        presence = Presence(
            online=stored["online"],
            checkin_interval=stored["checkinInterval"],
            last_checkin=stored["lastCheckin"],
            forced_reenrollment=stored["forcedReenrollment"],
            command_outcome=stored["commandOutcome"],
            commands=[Command(**c) for c in stored["commands"]],
        )
        records.append((item["data"], tree.by_id[item["ouId"]], presence))
    tenant.devices.enrol_many(records)
    tenant.users.add_many(_read_user(u) for u in raw["users"])
    for deleted in raw.get("deletedUsers", []):
        user = _read_user(deleted)
        tenant.users.deleted[user.user_id] = user
    for policy in raw["policies"]:
        keys = tuple(sorted(policy["keys"].items()))
        tenant.policies.values[(policy["ouId"], policy["schema"], keys)] = policy["value"]
    tenant.version = 0
    return tenant


def save_tenant(tenant: Tenant, path: Path) -> None:
    """Write atomically: a crash mid-write leaves the previous file intact."""
    data = dump_tenant(tenant)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, separators=(",", ":"))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o600)  # it holds the service account's private key
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Autosaver:
    """Saves the tenant every ``interval`` seconds while it changes, and once more at the end."""

    def __init__(self, tenant: Tenant, path: Path, interval: float) -> None:
        self.tenant = tenant
        self.path = path
        self.interval = interval
        self._saved_version = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sandbox-autosave", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if self.tenant.version != self._saved_version:
                self.save_now()

    def save_now(self) -> Path:
        with self._lock:
            version = self.tenant.version
            save_tenant(self.tenant, self.path)
            self._saved_version = version
        return self.path

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.save_now()
