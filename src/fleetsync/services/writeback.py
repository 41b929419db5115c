"""The reconciler's write-back: every ledger write that goes with a Google call, in one place.

Apply reads as phase → Google call → record: before an irreversible call it asks here whether the
ledger still wants it (and commits the intent, with the safety budget it spends, in the same
transaction); after the call it records here what Google confirmed. Each method is one
transaction of its own. The rows are written by :mod:`fleetsync.services.reconciled` (the steps
the command tracker shares) and :mod:`fleetsync.services.confirmed` (what an observation
confirmed), and, for the ``google_*`` columns apply confirms, below: one statement per batch,
never one per device or account.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fleetsync import clock
from fleetsync.domain.actions import (
    Budget,
    DeprovisionDevices,
    DisableDevices,
    ReenableDevices,
)
from fleetsync.domain.desired import DeviceStatus
from fleetsync.domain.lifecycle import AccountStatus, DeviceState
from fleetsync.domain.observed import Observation
from fleetsync.domain.overdue import LOCK, LOCK_HELD
from fleetsync.domain.plan import DesiredPolicies, Plan
from fleetsync.domain.safety import Limit
from fleetsync.ledger import Ledger, budgets
from fleetsync.ledger.models import Borrower, Device, Loan, LoanEscalation
from fleetsync.services import confirmed, reconciled
from fleetsync.services.programme import Programme
from fleetsync.services.reconciled import Adoption

__all__ = [
    "AccountConfirmed",
    "Adoption",
    "BudgetGuard",
    "Link",
    "StatusChange",
    "WriteBack",
]

#: Values per IN list: PostgreSQL takes at most 65,535 parameters in a statement, SQLite 32,766.
_IN_CHUNK = 10_000

StatusChange = type[DisableDevices | ReenableDevices | DeprovisionDevices]

#: What the ledger must still say of a device for its status change to go ahead.
_STATUS_NEEDS: dict[StatusChange, set[DeviceState]] = {
    DisableDevices: {DeviceState.LOST},
    DeprovisionDevices: {DeviceState.RETIRED},
    ReenableDevices: {s for s in DeviceState if s not in (DeviceState.LOST, DeviceState.RETIRED)},
}


@dataclass(frozen=True, slots=True)
class Link:
    """A ledger device found in Google by its exact serial."""

    serial: str
    device_id: str


@dataclass(frozen=True, slots=True)
class AccountConfirmed:
    """What Google accepted of an account's patch: its suspension, its org unit (None: not
    part of the patch)."""

    suspended: bool | None = None
    org_unit: str | None = None


@dataclass(frozen=True)
class BudgetGuard:
    """The safety budgets as apply spends them: right before each destructive call, in the
    transaction that records the decision (see :mod:`fleetsync.ledger.budgets`). The plan was
    already cut to what the budgets had left; this catches what another process spent since."""

    limits: Mapping[Budget, Limit]
    forced: frozenset[Budget] = frozenset()
    run_id: int | None = None

    def take(self, session: Session, budget: Budget, targets: Sequence[str]) -> dict[str, int]:
        return budgets.spend(
            session,
            budget,
            targets,
            limits=self.limits,
            now=clock.now(),
            forced=budget in self.forced,
            run_id=self.run_id,
        )


class WriteBack:
    """The ledger as the reconciler reads and writes it around its Google calls."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    # ------------------------------------------------------------------------ budgets
    def take(self, guard: BudgetGuard, budget: Budget, targets: Sequence[str]) -> dict[str, int]:
        """Spend ``budget`` on ``targets``: the rows spent, by target (those granted)."""
        if not targets:
            return {}
        with self.ledger.transaction() as session:
            return guard.take(session, budget, targets)

    def refund(self, rows: Iterable[int]) -> None:
        """Give back what was spent on calls that did not happen."""
        listed = list(rows)
        if listed:
            with self.ledger.transaction() as session:
                budgets.refund(session, listed)

    # ------------------------------------------------------------------------ devices
    def devices_recorded(self, records: Sequence[Link | Adoption]) -> list[str | None]:
        """Record links and adoptions in one transaction; when the ledger refuses a row (a
        serial or asset tag taken since the plan was made, a value too long), halve and retry,
        so that only the refused device fails. Per record: None, or why the ledger refused it."""
        return self._record(list(records), clock.now())

    def _record(self, records: list[Link | Adoption], at: datetime) -> list[str | None]:
        try:
            with self.ledger.transaction() as session:
                reconciled.link_devices(
                    session,
                    [(r.serial, r.device_id) for r in records if isinstance(r, Link)],
                    now=at,
                )
                reconciled.adopt_devices(
                    session, [r for r in records if isinstance(r, Adoption)], now=at
                )
        except (sa.exc.IntegrityError, sa.exc.DataError) as exc:
            if len(records) == 1:
                return [f"the ledger refused it: {exc.orig}".strip()]
            half = len(records) // 2
            return self._record(records[:half], at) + self._record(records[half:], at)
        return [None] * len(records)

    def devices_moved(self, moved: Mapping[str, str]) -> None:
        """Google confirmed these devices (by Google's id) in these org units."""
        at = clock.now()
        self._confirm_devices(
            {
                device_id: {"google_org_unit": unit, "google_checked_at": at}
                for device_id, unit in moved.items()
            }
        )

    def devices_annotated(self, annotated: Mapping[str, str]) -> None:
        """Google took these devices' (by Google's id) user annotations."""
        at = clock.now()
        self._confirm_devices(
            {
                device_id: {"google_annotated_user": user, "google_checked_at": at}
                for device_id, user in annotated.items()
            }
        )

    def devices_status_changed(self, device_ids: Iterable[str], status: DeviceStatus) -> None:
        """Google changed these devices' (by Google's id) status."""
        at = clock.now()
        self._confirm_devices(
            {
                device_id: {"google_status": status, "google_checked_at": at}
                for device_id in device_ids
            }
        )

    def _confirm_devices(self, changes: dict[str, dict[str, Any]]) -> None:
        """Core, one executemany per set of columns, no objects loaded."""
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for device_id, values in changes.items():
            row = {f"new_{column}": value for column, value in values.items()}
            row["device_key"] = device_id
            by_columns[tuple(sorted(values))].append(row)
        devices = cast(sa.Table, Device.__table__)
        with self.ledger.transaction() as session:
            for columns, rows in by_columns.items():
                session.connection().execute(
                    devices.update()
                    .where(devices.c.google_device_id == sa.bindparam("device_key"))
                    .values({column: sa.bindparam(f"new_{column}") for column in columns}),
                    rows,
                )

    def status_change_wanted(self, kind: StatusChange, device_ids: Sequence[str]) -> set[str]:
        """The devices (by Google's id) whose status change the ledger still wants: a lost
        device disabled, or a loan device whose overdue lock is held; any other active one
        re-enabled; a retired one deprovisioned."""
        with self.ledger.read() as session:
            states = dict(
                session.execute(
                    sa.select(Device.google_device_id, Device.state).where(
                        Device.google_device_id.in_(device_ids)
                    )
                ).all()
            )
            locked = _locked(session, device_ids)
        return {
            device_id
            for device_id in device_ids
            if _still_wanted(kind, states.get(device_id), device_id in locked)
        }

    # ----------------------------------------------------------------------- accounts
    def first_password(self, borrower: str, *, programme: Programme) -> str:
        """The password to create the borrower's account with (sealed for their desk)."""
        with self.ledger.transaction() as session:
            return reconciled.first_password_for(
                session, borrower, programme=programme, now=clock.now()
            )

    def account_created(self, borrower: str, *, user_id: str, org_unit: str) -> None:
        with self.ledger.transaction() as session:
            reconciled.account_created(
                session, borrower, user_id=user_id, org_unit=org_unit, now=clock.now()
            )

    def new_password(self, borrower: str, *, credential: int, programme: Programme) -> str | None:
        """The new first password ``credential`` in clear, to set in Google; None when the
        ledger no longer wants it set."""
        with self.ledger.transaction() as session:
            return reconciled.new_password_for(
                session, borrower, credential=credential, programme=programme, now=clock.now()
            )

    def password_set(self, borrower: str, *, credential: int) -> None:
        """Google has the new first password: recorded, so it is never sent again."""
        with self.ledger.transaction() as session:
            reconciled.password_set(session, borrower, credential=credential, now=clock.now())

    def account_statuses(self, borrowers: Iterable[str]) -> dict[str, AccountStatus]:
        """The ledger's account status of these borrowers (by desk id), those it has."""
        with self.ledger.read() as session:
            found = reconciled.borrowers_by_desk_id(session, borrowers)
            return {desk_id: person.account_status for desk_id, person in found.items()}

    def accounts_updated(self, confirmed: Mapping[str, AccountConfirmed]) -> None:
        """Google took these patches of accounts (by address): one query per batch of them."""
        at = clock.now()
        emails = list(confirmed)
        with self.ledger.transaction() as session:
            found: dict[str, Borrower] = {}
            for start in range(0, len(emails), _IN_CHUNK):
                chunk = emails[start : start + _IN_CHUNK]
                for person in session.scalars(
                    sa.select(Borrower).where(Borrower.account_email.in_(chunk))
                ):
                    found.setdefault(cast(str, person.account_email), person)
            for email, change in confirmed.items():
                if email not in found:
                    continue
                person = found[email]
                if change.suspended is not None:
                    person.google_suspended = change.suspended
                if change.org_unit is not None:
                    person.google_org_unit = change.org_unit
                person.google_checked_at = at

    def account_deletion_begun(
        self, guard: BudgetGuard, borrower: str, *, email: str
    ) -> tuple[int | None, bool]:
        """Spend the deletions budget and commit the intent of deleting the account, if the
        ledger still wants it gone (see :func:`reconciled.begin_account_deletion`), in one
        transaction: (the budget row spent or None when the budget is spent, wanted)."""
        with self.ledger.transaction() as session:
            granted = guard.take(session, Budget.DELETIONS, [borrower])
            wanted = bool(granted) and reconciled.begin_account_deletion(
                session, borrower, email=email, now=clock.now()
            )
            if granted and not wanted:
                budgets.refund(session, granted.values())
        return granted.get(borrower), wanted

    def account_deletion_refused(self, borrower: str, *, spent: int) -> None:
        """Google refused the deletion: the intent is withdrawn and its budget given back."""
        with self.ledger.transaction() as session:
            reconciled.account_deletion_refused(session, borrower, now=clock.now())
            budgets.refund(session, [spent])

    def account_deleted(self, borrower: str, *, reason: str | None = None) -> None:
        with self.ledger.transaction() as session:
            if reason is None:
                reconciled.account_deleted(session, borrower, now=clock.now())
            else:
                reconciled.account_deleted(session, borrower, now=clock.now(), reason=reason)

    # ----------------------------------------------------------------------- commands
    def powerwash_begun(
        self, guard: BudgetGuard, request_id: int, *, device_id: str, serial: str
    ) -> tuple[list[int] | None, bool]:
        """Spend the powerwashes budget and mark the request ISSUING, if the ledger still wants
        it sent (see :func:`reconciled.begin_powerwash`), in one transaction: (the budget rows
        spent or None when the budget is spent, wanted)."""
        with self.ledger.transaction() as session:
            granted = guard.take(session, Budget.POWERWASHES, [serial])
            if not granted:
                return None, False
            wanted = reconciled.begin_powerwash(
                session, request_id, device_id=device_id, now=clock.now()
            )
            if not wanted:
                budgets.refund(session, granted.values())
        return list(granted.values()), wanted

    def command_issued(self, request_id: int, *, command_id: str) -> None:
        with self.ledger.transaction() as session:
            reconciled.powerwash_issued(session, request_id, command_id=command_id, now=clock.now())

    def command_lost(
        self, request_id: int, *, error: str, sent: bool, refund: Iterable[int] = ()
    ) -> None:
        """Sending failed: refused (``sent=False``, it may go again, its budget given back), or
        its outcome unknown (``sent=True``, never sent again blindly)."""
        with self.ledger.transaction() as session:
            reconciled.powerwash_lost(session, request_id, error=error, now=clock.now(), sent=sent)
            if not sent:
                budgets.refund(session, refund)

    # ---------------------------------------------------------------- observations
    def observation_confirmed(self, observation: Observation) -> int:
        """What Google showed of the ledger's devices and accounts; returns the rows changed."""
        return confirmed.remember_observation(self.ledger, observation, now=clock.now())

    def links_confirmed(self, observation: Observation) -> int:
        """The devices apply linked or adopted, as the observation showed them."""
        return confirmed.remember_new_links(self.ledger, observation, now=clock.now())

    def policies_confirmed(
        self, policies: Iterable[DesiredPolicies], plan: Plan, failed: set[str]
    ) -> None:
        confirmed.remember_policies(self.ledger, policies, plan, failed, now=clock.now())


def _still_wanted(kind: StatusChange, state: DeviceState | None, locked: bool) -> bool:
    on_loan = state == DeviceState.ON_LOAN
    if kind is DisableDevices:
        return state in _STATUS_NEEDS[kind] or (on_loan and locked)
    if kind is ReenableDevices:
        return state in _STATUS_NEEDS[kind] and not (on_loan and locked)
    return state in _STATUS_NEEDS[kind]


def _locked(session: Session, device_ids: Sequence[str]) -> set[str]:
    """The devices (by Google id) whose open loan's lock the ledger holds."""
    return {
        device_id
        for device_id in session.scalars(
            sa.select(Device.google_device_id)
            .join(Loan, sa.and_(Loan.device_id == Device.id, Loan.returned_at.is_(None)))
            .join(LoanEscalation, LoanEscalation.loan_id == Loan.id)
            .where(
                Device.google_device_id.in_(device_ids),
                LoanEscalation.step == LOCK,
                LoanEscalation.state.in_(LOCK_HELD),
            )
        )
        if device_id is not None
    }
