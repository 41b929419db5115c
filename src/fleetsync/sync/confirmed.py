"""What Google last confirmed, kept next to the ledger's rows: the loan desk's status page reads
it (account created? device moved and annotated? policies in place?) without calling Google.

Only values that changed are written, so a no-op sync of a large fleet writes almost nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import cast

import sqlalchemy as sa

from fleetsync.domain.actions import SetPolicy
from fleetsync.domain.observed import Observation
from fleetsync.domain.plan import DesiredPolicies, Plan
from fleetsync.ledger import Ledger
from fleetsync.ledger.models import Borrower, Device, PolicyState

__all__ = ["remember_observation", "remember_policies"]


def remember_observation(ledger: Ledger, observation: Observation, *, now: datetime) -> int:
    """Write the observed org unit, status and user annotation of ledger devices, and the
    existence, suspension and org unit of borrowers' accounts. Returns the rows changed."""
    changed = 0
    with ledger.transaction() as session:
        rows = session.execute(
            sa.select(
                Device.id,
                Device.google_device_id,
                Device.google_org_unit,
                Device.google_status,
                Device.google_annotated_user,
            ).where(Device.google_device_id.is_not(None))
        ).all()
        updates = []
        for row_id, device_id, org_unit, status, user in rows:
            seen = observation.devices.get(device_id or "")
            if seen is None:
                continue
            now_values = (seen.org_unit_path, seen.status, seen.annotated_user)
            if now_values != (org_unit, status, user):
                updates.append(
                    {
                        "row_id": row_id,
                        "org": seen.org_unit_path,
                        "status": seen.status,
                        "user": seen.annotated_user,
                    }
                )
        if updates:
            # Core, not the ORM: one executemany, no objects loaded.
            devices = cast(sa.Table, Device.__table__)
            session.connection().execute(
                devices.update()
                .where(devices.c.id == sa.bindparam("row_id"))
                .values(
                    google_org_unit=sa.bindparam("org"),
                    google_status=sa.bindparam("status"),
                    google_annotated_user=sa.bindparam("user"),
                    google_checked_at=now,
                ),
                updates,
            )
        changed += len(updates)
        emails = list(observation.accounts)
        if emails:
            for chunk in _chunks(emails, 500):
                borrowers = session.scalars(
                    sa.select(Borrower).where(Borrower.account_email.in_(chunk))
                ).all()
                for person in borrowers:
                    seen_account = observation.accounts[person.account_email or ""]
                    if seen_account.borrower_id != person.desk_id:
                        continue
                    values = (
                        seen_account.user_id,
                        seen_account.suspended,
                        seen_account.org_unit_path,
                    )
                    if values != (
                        person.google_user_id,
                        person.google_suspended,
                        person.google_org_unit,
                    ):
                        person.google_user_id = seen_account.user_id
                        person.google_suspended = seen_account.suspended
                        person.google_org_unit = seen_account.org_unit_path
                        person.google_checked_at = now
                        changed += 1
    return changed


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


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
