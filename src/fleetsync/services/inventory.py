"""Taking devices into the ledger from an inventory file.

New serials become spare devices. A row identical to the ledger changes nothing, so importing
the same file twice is harmless. A row that differs from the ledger for a known serial (another
asset tag, model, region or connectivity) is a problem unless ``update=True``: then the ledger
takes the file's values, each change audited. A known device's lifecycle state never changes by
import, and devices missing from the file are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fleetsync.domain.inventory import DeviceIdentities, DeviceRow, refuse_rows
from fleetsync.domain.lifecycle import DeviceState
from fleetsync.ledger.models import AuditEvent, Device, OutboxEntry
from fleetsync.services._effects import check_actor, local_date, now_or

__all__ = ["ImportReport", "import_devices"]

_FIELDS = ("asset_tag", "model", "region", "connectivity")


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    #: serial → {field: [ledger value, file value]}
    updated: dict[str, dict[str, list[str | None]]] = field(default_factory=dict)
    unchanged: int = 0


def import_devices(
    session: Session,
    rows: list[DeviceRow],
    *,
    actor: str,
    update: bool = False,
    now: datetime | None = None,
) -> ImportReport:
    """Add the new devices of ``rows`` (and with ``update``, apply changed rows), or raise
    :class:`~fleetsync.domain.errors.InvalidRows` listing every conflict, writing nothing."""
    check_actor(actor)
    now = now_or(now)
    # The whole inventory in one query: conflicts are decided in memory, not row by row.
    known: dict[str, dict[str, Any]] = {
        row.serial: dict(row._mapping)
        for row in session.execute(
            sa.select(
                Device.id, Device.serial, Device.asset_tag, Device.model, Device.region,
                Device.connectivity, Device.available_from, Device.created_at,
            )
        )
    }  # fmt: skip
    identities = DeviceIdentities(
        known, {d["asset_tag"]: serial for serial, d in known.items() if d["asset_tag"]}
    )
    report = ImportReport()
    problems: list[str] = []
    new_rows: list[DeviceRow] = []
    changed: list[tuple[DeviceRow, dict[str, list[str | None]]]] = []
    for row in rows:
        existing = known.get(row.serial)
        if existing is None:
            new_rows.append(row)
            continue
        diff: dict[str, list[str | None]] = {
            name: [existing[name], _value(row, name)]
            for name in _FIELDS
            if existing[name] != _value(row, name)
        }
        delivered = existing["available_from"] or local_date(existing["created_at"])
        if row.available_from is not None and row.available_from != delivered:
            diff["available_from"] = [delivered.isoformat(), row.available_from.isoformat()]
        if not diff:
            report.unchanged += 1
        elif update:
            changed.append((row, diff))
        else:
            listed = ", ".join(f"{n} {old!r} (file: {new!r})" for n, (old, new) in diff.items())
            problems.append(
                f"line {row.line}: device {row.serial} is already in the ledger with {listed}; "
                "import with --update to apply the file's values"
            )
    # Asset tags once the file is applied: a tag moving between two devices in the same file
    # is fine, two devices ending up with one tag is not.
    for row, diff in changed:
        if "asset_tag" in diff:
            identities.release(row.serial, diff["asset_tag"][0])
    for row in [*new_rows, *(r for r, d in changed if "asset_tag" in d)]:
        conflict = identities.tag_conflict(row.serial, row.asset_tag)
        if conflict is not None:
            problems.append(f"line {row.line}: {conflict}")
        else:
            identities.claim(row.serial, row.asset_tag)
    for row in new_rows:
        conflict = identities.serial_conflict(row.serial)
        if conflict is not None:
            problems.append(f"line {row.line}: {conflict}")
    if problems:
        raise refuse_rows(sorted(problems, key=_line_number))

    _insert(session, new_rows, actor=actor, now=now)
    report.added = [row.serial for row in new_rows]
    _apply_changes(session, changed, known, actor=actor, now=now)
    report.updated = {row.serial: diff for row, diff in changed}
    return report


def _value(row: DeviceRow, name: str) -> str:
    value = getattr(row, name)
    return str(value.value if hasattr(value, "value") else value)


def _line_number(problem: str) -> int:
    return int(problem.split(":", 1)[0].removeprefix("line "))


def _insert(session: Session, rows: list[DeviceRow], *, actor: str, now: datetime) -> None:
    if not rows:
        return
    spare = DeviceState.SPARE
    ids = session.scalars(
        sa.insert(Device).returning(Device.id, sort_by_parameter_order=True),
        [
            {
                "serial": r.serial,
                "asset_tag": r.asset_tag,
                "model": r.model,
                "region": r.region,
                "connectivity": r.connectivity,
                "state": spare,
                "state_since": now,
                "created_at": now,
                "available_from": r.available_from or local_date(now),
            }
            for r in rows
        ],
    ).all()
    session.execute(
        sa.insert(AuditEvent),
        [
            {
                "at": now,
                "actor": actor,
                "action": "import",
                "device_id": device_id,
                "after": {
                    "state": spare,
                    **{n: _value(r, n) for n in _FIELDS},
                    "available_from": (r.available_from or local_date(now)).isoformat(),
                },
            }
            for device_id, r in zip(ids, rows, strict=True)
        ],
    )
    session.execute(
        sa.insert(OutboxEntry),
        [
            {"entity_kind": "device", "entity_key": r.serial, "reason": "import", "created_at": now}
            for r in rows
        ],
    )


def _apply_changes(
    session: Session,
    changed: list[tuple[DeviceRow, dict[str, list[str | None]]]],
    known: dict[str, dict[str, Any]],
    *,
    actor: str,
    now: datetime,
) -> None:
    if not changed:
        return
    # Asset tags are unique: clear the moving ones first, so a swap never collides half-way.
    moving = [known[row.serial]["id"] for row, diff in changed if "asset_tag" in diff]
    if moving:
        session.execute(sa.update(Device).where(Device.id.in_(moving)).values(asset_tag=None))
    for row, diff in changed:
        device_id = known[row.serial]["id"]
        session.execute(
            sa.update(Device)
            .where(Device.id == device_id)
            .values(
                {name: _value(row, name) for name in _FIELDS}
                | ({"available_from": row.available_from} if "available_from" in diff else {})
            )
        )
        session.add(
            AuditEvent(
                at=now,
                actor=actor,
                action="update",
                device_id=device_id,
                before={n: old for n, (old, _new) in diff.items()},
                after={n: new for n, (_old, new) in diff.items()},
            )
        )
        session.add(
            OutboxEntry(
                entity_kind="device", entity_key=row.serial, reason="update", created_at=now
            )
        )
