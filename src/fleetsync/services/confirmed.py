"""What Google last confirmed, kept next to the ledger's rows: the loan desk's status page reads
it (account created? device moved and annotated? policies in place?) without calling Google.

Only values that changed are written, so a no-op sync of a large fleet writes almost nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fleetsync.domain.actions import SetPolicy
from fleetsync.domain.inventory import observed_problems
from fleetsync.domain.observed import Observation
from fleetsync.domain.plan import DesiredPolicies, Plan
from fleetsync.ledger import Ledger
from fleetsync.ledger.models import Borrower, Device, PendingCredential, PolicyState

__all__ = ["remember_new_links", "remember_observation", "remember_policies"]

#: Rows are streamed this many at a time: a 100,000-device ledger is never held as rows whole.
_STREAM = 2000


def remember_observation(ledger: Ledger, observation: Observation, *, now: datetime) -> int:
    """Write the observed org unit, status and user annotation of ledger devices (those that
    fit the ledger's columns), and the existence, suspension and org unit of borrowers'
    accounts. Returns the rows changed."""
    changed = 0
    with ledger.transaction() as session:
        rows = session.execute(
            sa.select(
                Device.id,
                Device.google_device_id,
                Device.google_org_unit,
                Device.google_status,
                Device.google_annotated_user,
            )
            .where(Device.google_device_id.is_not(None))
            .execution_options(yield_per=_STREAM)
        )
        updates = []
        for row_id, device_id, org_unit, status, user in rows:
            seen = observation.devices.get(device_id or "")
            if seen is None or observed_problems(seen):
                continue  # what does not fit the ledger is not kept; the plan reports it
            now_values = (seen.org_unit_path, seen.status, seen.annotated_user)
            if now_values != (org_unit, status, user):
                updates.append(
                    {
                        "row_id": row_id,
                        "google_org_unit": seen.org_unit_path,
                        "google_status": seen.status,
                        "google_annotated_user": seen.annotated_user,
                    }
                )
        changed += _update_by_id(session, Device, updates, now=now)
        if observation.accounts:
            found: list[int] = []
            changed += _update_by_id(
                session, Borrower, _account_updates(session, observation, found), now=now
            )
            if found:
                # Accounts the ledger did not know Google had (the process that created one
                # stopped before Google's answer was recorded): created with the first password
                # sealed for them, so it is recorded as used, and no later run sets it again
                # over the one the borrower may have chosen since.
                session.execute(
                    sa.update(PendingCredential)
                    .where(
                        PendingCredential.borrower_id.in_(found),
                        PendingCredential.used_at.is_(None),
                    )
                    .values(used_at=now)
                )
    return changed


def remember_new_links(ledger: Ledger, observation: Observation, *, now: datetime) -> int:
    """After an apply: the devices it linked or adopted were unknown when the observation was
    remembered, so Google's status for them is filled in from that observation (a status the
    apply itself changed is already recorded, and is left alone). Returns the rows changed."""
    with ledger.transaction() as session:
        rows = session.execute(
            sa.select(Device.id, Device.google_device_id, Device.google_org_unit).where(
                Device.google_device_id.is_not(None), Device.google_status.is_(None)
            )
        ).all()
        updates = []
        for row_id, device_id, org_unit in rows:
            seen = observation.devices.get(device_id or "")
            if seen is None or observed_problems(seen):
                continue
            updates.append(
                {
                    "row_id": row_id,
                    "google_status": seen.status,
                    "google_org_unit": org_unit or seen.org_unit_path,
                }
            )
        return _update_by_id(session, Device, updates, now=now)


def _update_by_id(
    session: Session,
    model: type[Device | Borrower],
    updates: list[dict[str, Any]],
    *,
    now: datetime,
) -> int:
    """Set the given columns of rows by id, and when they were checked. Core, not the ORM: one
    executemany, no objects loaded. Returns the rows updated."""
    if not updates:
        return 0
    table = cast(sa.Table, model.__table__)
    columns = [name for name in updates[0] if name != "row_id"]
    session.connection().execute(
        table.update()
        .where(table.c.id == sa.bindparam("row_id"))
        .values(
            {
                **{name: sa.bindparam(f"new_{name}") for name in columns},
                "google_checked_at": now,
            }
        ),
        [
            {"row_id": row["row_id"], **{f"new_{name}": row[name] for name in columns}}
            for row in updates
        ],
    )
    return len(updates)


def _account_updates(
    session: Session, observation: Observation, found: list[int]
) -> list[dict[str, Any]]:
    """The borrowers whose observed account (carrying their borrower id) differs from what the
    ledger last recorded: one query of plain rows, no objects loaded. ``found`` gets the rows
    of borrowers whose account the ledger did not know Google had."""
    rows = session.execute(
        sa.select(
            Borrower.id,
            Borrower.desk_id,
            Borrower.account_email,
            Borrower.google_user_id,
            Borrower.google_suspended,
            Borrower.google_org_unit,
            Borrower.adopt_account,
        )
        .where(Borrower.account_email.is_not(None))
        .execution_options(yield_per=_STREAM)
    )
    updates = []
    for row_id, desk_id, email, user_id, suspended, org_unit, adopt in rows:
        seen = observation.accounts.get(email or "")
        # An adopted account (loan import) is the borrower's by its address.
        ours = seen is not None and (
            seen.borrower_id == desk_id or (adopt and seen.borrower_id is None)
        )
        if seen is None or not ours:
            continue
        values = (seen.user_id, seen.suspended, seen.org_unit_path)
        if user_id is None:
            found.append(row_id)
        if values != (user_id, suspended, org_unit):
            updates.append(
                {
                    "row_id": row_id,
                    "google_user_id": seen.user_id,
                    "google_suspended": seen.suspended,
                    "google_org_unit": seen.org_unit_path,
                }
            )
    return updates


def remember_policies(
    ledger: Ledger,
    policies: Iterable[DesiredPolicies],
    plan: Plan,
    failed: set[str],
    *,
    now: datetime,
) -> None:
    """Per org unit and namespace: in place unless this run had to set it and failed to."""
    planned = {
        (a.org_unit, a.namespace): a.target for a in plan.actions if isinstance(a, SetPolicy)
    }
    with ledger.transaction() as session:
        for wanted in policies:
            for namespace in sorted({v.namespace for v in wanted.values}):
                target = planned.get((wanted.org_unit, namespace))
                in_place = target is None or target not in failed
                state = session.scalars(
                    sa.select(PolicyState).where(
                        PolicyState.org_unit == wanted.org_unit,
                        PolicyState.namespace == namespace,
                    )
                ).first()
                if state is None:
                    session.add(
                        PolicyState(
                            org_unit=wanted.org_unit,
                            namespace=namespace,
                            in_place=in_place,
                            checked_at=now,
                        )
                    )
                else:
                    state.in_place = in_place
                    state.checked_at = now
