"""The audit trail and the outbox: what every business action writes besides its change.

The audit trail is append-only. The database refuses UPDATE and DELETE on it (triggers, see the
first migration); the ORM refuses to flush a changed or deleted event, so a mistake fails in the
test suite long before it reaches a database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session, UOWTransaction

from fleetsync.ledger.models import AuditEvent, OutboxEntry

__all__ = ["AppendOnlyViolation", "record", "wake"]


class AppendOnlyViolation(RuntimeError):
    """Code tried to change or delete an audit event. A bug: the audit trail is append-only."""


def record(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    device_id: int | None = None,
    borrower_id: int | None = None,
    loan_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """Append one audit event. ``before``/``after`` refer to borrowers by desk id, never by name."""
    session.add(
        AuditEvent(
            at=at,
            actor=actor,
            action=action,
            device_id=device_id,
            borrower_id=borrower_id,
            loan_id=loan_id,
            before=before,
            after=after,
            reason=reason,
        )
    )


def wake(
    session: Session,
    kind: Literal["device", "borrower"],
    key: str,
    reason: str,
    *,
    at: datetime,
) -> None:
    """Ask the reconciler to look at this device (serial) or borrower (desk id)."""
    session.add(OutboxEntry(entity_kind=kind, entity_key=key, reason=reason, created_at=at))


@sa.event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEvent) and (
            obj in session.deleted or session.is_modified(obj, include_collections=False)
        ):
            raise AppendOnlyViolation(
                f"audit event {obj.id} cannot be changed or deleted: the audit trail is "
                "append-only; record a new event instead"
            )
