"""Apply: carry a plan out through the Google adapters, phase by phase, with the journal.

Per phase, the intent of its actions is journaled, Google is called (batched where Google
allows), and each action's outcome is journaled. A failed action is recorded and the run goes on;
actions that depend on it fail in turn or wait for the next run, which plans from what Google then
shows. Before any irreversible call, the ledger is asked once more whether it still wants it: a
checkout that happened since the plan was made wins.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fleetsync.domain.actions import (
    AccountGone,
    Action,
    AdoptDevice,
    AnnotateDevice,
    Budget,
    CreateAccount,
    DeleteAccount,
    DeprovisionDevices,
    DisableDevices,
    EnsureOrgUnit,
    IssuePowerwash,
    LinkDevice,
    MoveAccount,
    MoveDevices,
    Phase,
    ReenableDevices,
    SetAccountPassword,
    SetPolicy,
    SuspendAccount,
    UnsuspendAccount,
)
from fleetsync.domain.desired import DeviceStatus
from fleetsync.domain.lifecycle import AccountStatus, DeviceState
from fleetsync.domain.observed import Observation, ObservedOrgUnit
from fleetsync.domain.overdue import LOCK, LOCK_HELD
from fleetsync.domain.plan import Plan
from fleetsync.domain.safety import Limit
from fleetsync.google import Google
from fleetsync.google.directory import MAX_DEVICE_PAGE, StatusAction
from fleetsync.google.errors import (
    GoogleDuplicate,
    GoogleError,
    GoogleNotFound,
    GoogleOutcomeUnknown,
)
from fleetsync.google.policy import PolicyWrite
from fleetsync.ledger import Ledger, budgets
from fleetsync.ledger.models import Borrower, Device, Loan, LoanEscalation
from fleetsync.log import get_logger
from fleetsync.services import reconciled
from fleetsync.services.programme import Programme
from fleetsync.sync.journal import Journal, now
from fleetsync.sync.observe import ProgressCallback, devices_in

__all__ = ["ApplyReport", "BudgetGuard", "Failure", "apply_plan"]

log = get_logger(__name__)
A = TypeVar("A", bound=Action)

_STATUS_ACTION: dict[type[Action], StatusAction] = {
    DisableDevices: "DISABLE",
    ReenableDevices: "REENABLE",
    DeprovisionDevices: "DEPROVISION",
}
#: What the ledger must still say of a device for its status change to go ahead.
_STATUS_NEEDS = {
    DisableDevices: {DeviceState.LOST.value},
    DeprovisionDevices: {DeviceState.RETIRED.value},
    ReenableDevices: {
        s.value for s in DeviceState if s not in (DeviceState.LOST, DeviceState.RETIRED)
    },
}
_DEPROVISION_REASON = "DEPROVISION_REASON_RETIRING_DEVICE"


def _still_wanted(
    kind: type[DisableDevices | ReenableDevices | DeprovisionDevices],
    state: str | None,
    locked: bool,
) -> bool:
    """The ledger still wants this status change: a lost device disabled, or a loan device
    whose overdue lock is held; any other active one re-enabled; a retired one deprovisioned."""
    on_loan = state == DeviceState.ON_LOAN.value
    if kind is DisableDevices:
        return state in _STATUS_NEEDS[kind] or (on_loan and locked)
    if kind is ReenableDevices:
        return state in _STATUS_NEEDS[kind] and not (on_loan and locked)
    return state in _STATUS_NEEDS[kind]


def _locked(session: Session, device_ids: list[str]) -> set[str]:
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


@dataclass(frozen=True, slots=True)
class Failure:
    kind: str
    target: str
    error: str


@dataclass(frozen=True)
class BudgetGuard:
    """The safety budgets as apply spends them: right before each destructive call, in the
    transaction that records the decision (see :mod:`fleetsync.ledger.budgets`). The plan was
    already cut to what the budgets had left; this catches what another process spent since."""

    limits: Mapping[Budget, Limit]
    forced: frozenset[Budget] = frozenset()
    run_id: int | None = None

    def take(self, session: Any, budget: Budget, targets: Sequence[str]) -> dict[str, int]:
        return budgets.spend(
            session,
            budget,
            targets,
            limits=self.limits,
            now=now(),
            forced=budget in self.forced,
            run_id=self.run_id,
        )


def _held_reason(budget: Budget) -> str:
    return f"held back: the {budget} budget is spent (`fleetsync status`)"


@dataclass
class ApplyReport:
    done: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    skipped: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failures: list[Failure] = field(default_factory=list)
    #: Outcome unknown (a lost answer): settled by a later run, never repeated blindly.
    unknown: list[Failure] = field(default_factory=list)
    #: Asked to stop (SIGTERM): the action in flight was finished, the rest not started.
    stopped: bool = False
    #: Held back at the last moment by a safety budget another process spent: budget → targets.
    held: dict[Budget, list[str]] = field(default_factory=lambda: defaultdict(list))

    @property
    def ok(self) -> bool:
        return not self.failures and not self.unknown

    def to_json(self) -> dict[str, Any]:
        return {
            "done": dict(sorted(self.done.items())),
            "skipped": dict(sorted(self.skipped.items())),
            "failed": [_failure(f) for f in self.failures],
            "unknown": [_failure(f) for f in self.unknown],
            "stopped": self.stopped,
            "held": {str(budget): targets for budget, targets in sorted(self.held.items())},
        }


def _failure(failure: Failure) -> dict[str, str]:
    return {"kind": failure.kind, "target": failure.target, "error": failure.error}


def apply_plan(
    plan: Plan,
    *,
    ledger: Ledger,
    google: Google,
    programme: Programme,
    journal: Journal,
    observation: Observation,
    guard: BudgetGuard,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
) -> ApplyReport:
    """Carry out ``plan``. When ``stop`` is set, the action in flight is finished and journaled,
    and nothing more is started: the next run plans the rest from what Google shows then."""
    applier = _Applier(ledger, google, programme, journal, observation, guard, progress, stop)
    by_phase: dict[Phase, list[Action]] = defaultdict(list)
    for action in plan.actions:
        by_phase[action.phase].append(action)
    for phase in sorted(by_phase):
        if applier.stopping():
            break
        applier.phase(phase, by_phase[phase])
    applier.report.stopped = applier.stopping()
    return applier.report


class _Applier:
    def __init__(
        self,
        ledger: Ledger,
        google: Google,
        programme: Programme,
        journal: Journal,
        observation: Observation,
        guard: BudgetGuard,
        progress: ProgressCallback | None,
        stop: threading.Event | None,
    ) -> None:
        self._stop = stop
        self.guard = guard
        self.ledger = ledger
        self.google = google
        self.programme = programme
        self.journal = journal
        self.org_units: dict[str, ObservedOrgUnit] = dict(observation.org_units)
        self.ou_sizes = Counter(d.org_unit_path for d in observation.devices.values())
        self.devices = observation.devices
        self.progress = progress
        self.report = ApplyReport()
        self._done_count = 0
        self._total = 0

    # ------------------------------------------------------------------ bookkeeping
    def stopping(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    def phase(self, phase: Phase, actions: list[Action]) -> None:
        self._total = len(actions)
        self._done_count = 0
        handlers: dict[Phase, Callable[[list[Action]], None]] = {
            Phase.LEDGER: self._ledger,
            Phase.ORG_UNITS: self._org_units,
            Phase.ACCOUNTS: self._accounts,
            Phase.MOVES: self._moves,
            Phase.ANNOTATIONS: self._annotations,
            Phase.STATUS: self._status,
            Phase.POLICIES: self._policies,
            Phase.COMMANDS: self._commands,
        }
        handlers[phase](actions)

    def _tick(self, label: str, n: int = 1) -> None:
        self._done_count += n
        if self.progress is not None:
            self.progress(label, self._done_count, self._total)

    def _settle(
        self,
        actions: Sequence[Action],
        entries: Sequence[int],
        state: str,
        error: str | None = None,
    ) -> None:
        self.journal.outcome(entries, state, error)
        for action in actions:
            if state == "done":
                self.report.done[action.kind] += action.weight
            elif state == "skipped":
                self.report.skipped[action.kind] += action.weight
            else:
                failure = Failure(action.kind, action.target, error or state)
                (self.report.unknown if state == "unknown" else self.report.failures).append(
                    failure
                )
                # An account's target is its address, made of the borrower's names: the log
                # names the borrower by id (and masks any address the error quotes).
                borrower = getattr(action, "borrower", None)
                log.warning(
                    "sync.action_failed" if state == "failed" else "sync.action_unknown",
                    kind=action.kind,
                    **({"borrower": borrower} if borrower else {"target": action.target}),
                    error=error,
                )
        self._tick(f"applying {actions[0].kind.replace('_', ' ')}" if actions else "", len(actions))

    def _settle_each(self, outcomes: Iterable[tuple[Action, int, str, str | None]]) -> None:
        """Settle many actions (action, journal entry, state, error): one journal write per
        distinct outcome, not one per action."""
        groups: dict[tuple[str, str | None], tuple[list[Action], list[int]]] = {}
        for action, entry, state, error in outcomes:
            actions, entries = groups.setdefault((state, error), ([], []))
            actions.append(action)
            entries.append(entry)
        for (state, error), (actions, entries) in groups.items():
            self._settle(actions, entries, state, error)

    def _each(self, actions: Iterable[A], call: Callable[[A], str | None]) -> None:
        """Journal and run actions one by one; ``call`` returns None when done, else
        ``"skipped"``; a GoogleError fails the action."""
        for action in actions:
            if self.stopping():
                return
            [entry] = self.journal.intend([action])
            try:
                result = call(action)
            except GoogleOutcomeUnknown as exc:
                self._settle([action], [entry], "unknown", str(exc))
                continue
            except GoogleError as exc:
                self._settle([action], [entry], "failed", str(exc))
                continue
            if result == "held" and action.limit is not None:
                self._settle([action], [entry], "skipped", _held_reason(action.limit))
            else:
                self._settle([action], [entry], result or "done")

    def _held(self, budget: Budget, targets: Iterable[str]) -> None:
        listed = list(targets)
        self.report.held[budget].extend(listed)
        log.warning("sync.held", budget=str(budget), targets=len(listed))

    def _take(self, budget: Budget, targets: Sequence[str]) -> dict[str, int]:
        if not targets:
            return {}
        with self.ledger.transaction() as session:
            return self.guard.take(session, budget, targets)

    def _refund(self, rows: Iterable[int]) -> None:
        listed = list(rows)
        if listed:
            with self.ledger.transaction() as session:
                budgets.refund(session, listed)

    def _each_by_key(
        self, actions: Sequence[A], call: Callable[[A], str | None], key: Callable[[A], str]
    ) -> None:
        """Like :meth:`_each` for idempotent calls: the actions of different keys side by side
        (the journal and the ledger are written from this thread only), each key's in order."""
        groups: dict[str, list[A]] = defaultdict(list)
        for action in actions:
            groups[key(action)].append(action)
        if self.google.session.concurrency <= 1 or len(groups) <= 1:
            self._each(actions, call)
            return
        while groups and not self.stopping():
            wave = [group.pop(0) for group in groups.values()]
            groups = {k: group for k, group in groups.items() if group}
            entries = self.journal.intend(wave)
            outcomes = self.google.session.fan_out(call, wave)
            settled: list[tuple[Action, int, str, str | None]] = []
            for action, entry, outcome in zip(wave, entries, outcomes, strict=True):
                if isinstance(outcome, GoogleOutcomeUnknown):
                    settled.append((action, entry, "unknown", str(outcome)))
                elif isinstance(outcome, GoogleError):
                    settled.append((action, entry, "failed", str(outcome)))
                elif isinstance(outcome, Exception):
                    raise outcome
                else:
                    settled.append((action, entry, outcome or "done", None))
            self._settle_each(settled)

    # ---------------------------------------------------------------------- ledger
    def _ledger(self, actions: list[Action]) -> None:
        entries = self.journal.intend(actions)
        self._settle_each(self._record_each(list(zip(actions, entries, strict=True)), now()))

    def _record_each(
        self, pairs: list[tuple[Action, int]], at: datetime
    ) -> list[tuple[Action, int, str, str | None]]:
        """Record links and adoptions in one transaction; when the ledger refuses a row (a
        serial or asset tag taken since the plan was made, a value too long), halve and retry,
        so that only the refused device fails and the run goes on."""
        try:
            with self.ledger.transaction() as session:
                self._record(session, [action for action, _ in pairs], at)
        except (sa.exc.IntegrityError, sa.exc.DataError) as exc:
            if len(pairs) == 1:
                [(action, entry)] = pairs
                return [(action, entry, "failed", f"the ledger refused it: {exc.orig}".strip())]
            half = len(pairs) // 2
            return self._record_each(pairs[:half], at) + self._record_each(pairs[half:], at)
        return [(action, entry, "done", None) for action, entry in pairs]

    @staticmethod
    def _record(session: Any, actions: Sequence[Action], at: datetime) -> None:
        links = [
            (a.device.serial, a.device.device_id) for a in actions if isinstance(a, LinkDevice)
        ]
        adoptions = [
            reconciled.Adoption(
                serial=a.device.serial,
                device_id=a.device.device_id,
                model=a.model,
                region=a.region,
                connectivity=a.connectivity,
                asset_tag=a.asset_tag,
            )
            for a in actions
            if isinstance(a, AdoptDevice)
        ]
        reconciled.link_devices(session, links, now=at)
        reconciled.adopt_devices(session, adoptions, now=at)

    # ------------------------------------------------------------------- org units
    def _org_units(self, actions: list[Action]) -> None:
        def create(action: EnsureOrgUnit) -> None:
            try:
                unit = self.google.directory.create_org_unit(action.path)
            except GoogleDuplicate:
                # It exists (an earlier attempt's answer was lost, or someone made it); Google's
                # "Invalid Ou Id" can also mean a name it refuses: look before calling it done.
                self.org_units.update({u.path: u for u in self.google.directory.list_org_units()})
                if action.path.lower() not in {path.lower() for path in self.org_units}:
                    raise
                return
            self.org_units[unit.path] = unit

        self._each((a for a in actions if isinstance(a, EnsureOrgUnit)), create)

    # -------------------------------------------------------------------- accounts
    def _accounts(self, actions: list[Action]) -> None:
        self._each((a for a in actions if isinstance(a, CreateAccount)), self._create_account)
        patches = [
            a for a in actions if isinstance(a, SuspendAccount | UnsuspendAccount | MoveAccount)
        ]
        if patches:
            self._patch_accounts(patches)
        deletes = [a for a in actions if isinstance(a, DeleteAccount)]
        if deletes:
            self._delete_accounts(deletes)
        self._each((a for a in actions if isinstance(a, AccountGone)), self._account_gone)
        self._each((a for a in actions if isinstance(a, SetAccountPassword)), self._set_password)

    def _set_password(self, action: SetAccountPassword) -> str | None:
        """Send a new first password, then record that Google has it (it is never sent again).
        A failure or a lost answer leaves it unrecorded, and the next run sends the same password
        again: harmless, the account ends up as after one send."""
        with self.ledger.transaction() as session:
            password = reconciled.new_password_for(
                session,
                action.borrower,
                credential=action.credential,
                programme=self.programme,
                now=now(),
            )
        if password is None:
            return "skipped"
        self.google.directory.set_password(
            action.email,
            password=password,
            change_password_at_next_login=self.programme.accounts.change_password_at_next_login,
        )
        with self.ledger.transaction() as session:
            reconciled.password_set(
                session, action.borrower, credential=action.credential, now=now()
            )
        return None

    def _create_account(self, action: CreateAccount) -> str | None:
        at = now()
        with self.ledger.transaction() as session:
            password = reconciled.first_password_for(
                session, action.borrower, programme=self.programme, now=at
            )
        try:
            account = self.google.directory.create_account(
                email=action.email,
                given_name=action.given_name or action.family_name,
                family_name=action.family_name or action.given_name,
                password=password,
                org_unit_path=action.org_unit,
                borrower_id=action.borrower,
                change_password_at_next_login=self.programme.accounts.change_password_at_next_login,
            )
        except (GoogleDuplicate, GoogleOutcomeUnknown) as exc:
            # It exists: from an earlier attempt whose answer was lost, or someone else's.
            existing = self.google.directory.get_account(action.email)
            if existing is None or existing.borrower_id != action.borrower:
                if isinstance(exc, GoogleOutcomeUnknown):
                    raise
                raise GoogleDuplicate(
                    f"the address {action.email} is taken by an account that is not borrower "
                    f"{action.borrower}'s",
                    method=exc.method,
                    status=exc.status,
                    reason=exc.reason,
                ) from exc
            account = existing
        with self.ledger.transaction() as session:
            reconciled.account_created(
                session,
                action.borrower,
                user_id=account.user_id,
                org_unit=account.org_unit_path,
                now=now(),
            )
        return None

    def _ledger_accounts(self, borrowers: Iterable[str]) -> dict[str, Borrower]:
        with self.ledger.read() as session:
            found = reconciled.borrowers_by_desk_id(session, borrowers)
            for person in found.values():
                session.expunge(person)
            return found

    def _patch_accounts(
        self, actions: list[SuspendAccount | UnsuspendAccount | MoveAccount]
    ) -> None:
        ledger = self._ledger_accounts(a.borrower for a in actions)
        bodies: dict[str, dict[str, Any]] = defaultdict(dict)
        going: dict[str, list[tuple[Action, int]]] = defaultdict(list)
        entries = self.journal.intend(actions)
        suspending: list[tuple[SuspendAccount, int]] = []
        for action, entry in zip(actions, entries, strict=True):
            person = ledger.get(action.borrower)
            status = person.account_status if person is not None else None
            if isinstance(action, SuspendAccount) and status != AccountStatus.SUSPENDED.value:
                self._settle([action], [entry], "skipped", "the ledger no longer wants it")
                continue
            if isinstance(action, SuspendAccount):
                suspending.append((action, entry))
                continue
            if isinstance(action, UnsuspendAccount):
                bodies[action.email]["suspended"] = False
            else:
                bodies[action.email]["orgUnitPath"] = action.org_unit
            going[action.email].append((action, entry))
        granted = self._take(Budget.SUSPENSIONS, [a.borrower for a, _ in suspending])
        for action, entry in suspending:
            if action.borrower not in granted:
                self._settle([action], [entry], "skipped", _held_reason(Budget.SUSPENSIONS))
                self._held(Budget.SUSPENSIONS, [action.borrower])
                continue
            bodies[action.email]["suspended"] = True
            going[action.email].append((action, entry))
        if not bodies:
            return
        outcome = self.google.directory.update_accounts(bodies)
        self._refund(
            granted[a.borrower]
            for a, _ in suspending
            if a.email in outcome.errors and a.borrower in granted
        )
        at = now()
        with self.ledger.transaction() as session:
            for email, body in bodies.items():
                if email in outcome.results:
                    person = session.scalars(
                        sa.select(Borrower).where(Borrower.account_email == email)
                    ).first()
                    if person is not None:
                        if "suspended" in body:
                            person.google_suspended = body["suspended"]
                        if "orgUnitPath" in body:
                            person.google_org_unit = body["orgUnitPath"]
                        person.google_checked_at = at
        settled: list[tuple[Action, int, str, str | None]] = []
        for email, pairs in going.items():
            error = outcome.errors.get(email)
            state, why = ("done", None) if error is None else ("failed", str(error))
            settled.extend((action, entry, state, why) for action, entry in pairs)
        self._settle_each(settled)

    def _delete_accounts(self, actions: list[DeleteAccount]) -> None:
        # Irreversible: per account, the intent is committed first, after the ledger was asked
        # once more under the borrower's lock (no open loan, still this address). A checkout that
        # comes after it is refused until Google's answer is recorded.
        entries = self.journal.intend(actions)
        going: dict[str, tuple[DeleteAccount, int]] = {}
        spent: dict[str, int] = {}
        for action, entry in zip(actions, entries, strict=True):
            # The budget is spent in the transaction that commits the intent.
            with self.ledger.transaction() as session:
                granted = self.guard.take(session, Budget.DELETIONS, [action.borrower])
                wanted = bool(granted) and reconciled.begin_account_deletion(
                    session, action.borrower, email=action.email, now=now()
                )
                if granted and not wanted:
                    budgets.refund(session, granted.values())
            if not granted:
                self._settle([action], [entry], "skipped", _held_reason(Budget.DELETIONS))
                self._held(Budget.DELETIONS, [action.borrower])
                continue
            if not wanted:
                self._settle([action], [entry], "skipped", "the ledger no longer wants it")
                continue
            spent[action.borrower] = granted[action.borrower]
            going[action.user_id or action.email] = (action, entry)
        if not going:
            return
        outcome = self.google.directory.delete_accounts(list(going))
        for key, (action, entry) in going.items():
            error = outcome.errors.get(key)
            if isinstance(error, GoogleOutcomeUnknown):
                # Google may have deleted it: the intent stays, and the next run settles it
                # from what Google shows (deletes it again, or records it gone).
                self._settle([action], [entry], "unknown", str(error))
                continue
            if error is not None and not isinstance(error, GoogleNotFound):
                with self.ledger.transaction() as session:
                    reconciled.account_deletion_refused(session, action.borrower, now=now())
                    budgets.refund(session, [spent[action.borrower]])
                self._settle([action], [entry], "failed", str(error))
                continue
            with self.ledger.transaction() as session:
                reconciled.account_deleted(session, action.borrower, now=now())
            self._settle([action], [entry], "done")

    def _account_gone(self, action: AccountGone) -> str | None:
        """Google had no account for the borrower when observed: look once more (by id, then by
        address) before the ledger records it deleted."""
        for key in (action.user_id, action.email):
            if key is None:
                continue
            found = self.google.directory.get_account(key)
            if found is not None:
                return "skipped"  # it exists after all: a later run deletes it
        with self.ledger.transaction() as session:
            reconciled.account_deleted(
                session,
                action.borrower,
                now=now(),
                reason="the retention period after the return has passed and Google has no "
                "such account (never created, or deleted already)",
            )
        return None

    # --------------------------------------------------------------------- devices
    def _moves(self, actions: list[Action]) -> None:
        moves = [a for a in actions if isinstance(a, MoveDevices)]
        if not moves or self.stopping():
            return
        # Each device is in one move only, so the moves go out side by side (within the device
        # write quota, which the throttle keeps), their intents journaled first, in one write.
        entries = self.journal.intend(moves)

        def move(action: MoveDevices) -> str | None:
            if self.stopping():
                return "stopped"
            self.google.directory.move_devices(
                action.org_unit, [d.device_id for d in action.devices]
            )
            return None

        moved: list[tuple[MoveDevices, int]] = []
        unsent: list[tuple[Action, int, str, str | None]] = []
        sent = self.google.session.fan_out(move, moves)
        for action, entry, outcome in zip(moves, entries, sent, strict=True):
            if outcome == "stopped":
                unsent.append((action, entry, "skipped", "stopped before it was sent"))
            elif isinstance(outcome, GoogleError):
                unsent.append((action, entry, "failed", str(outcome)))
            elif isinstance(outcome, Exception):
                raise outcome
            else:
                moved.append((action, entry))
        self._settle_each(unsent)
        if not moved:
            return
        seen = self._read_back(moved)
        at = now()
        outcomes: list[tuple[MoveDevices, int, list[str]]] = []
        confirmed: dict[str, dict[str, Any]] = {}
        for action, entry in moved:
            wrong = [d.serial for d in action.devices if seen.get(d.device_id) != action.org_unit]
            confirmed.update(
                {
                    d.device_id: {"google_org_unit": action.org_unit, "google_checked_at": at}
                    for d in action.devices
                    if d.serial not in wrong
                }
            )
            outcomes.append((action, entry, wrong))
        with self.ledger.transaction() as session:
            # One executemany for every move, not one per move.
            self._confirm_devices(session, confirmed)
        self._settle_each(
            (action, entry, "done", None)
            if not wrong
            else (
                action,
                entry,
                "failed",
                f"Google did not move {', '.join(wrong)} to {action.org_unit}",
            )
            for action, entry, wrong in outcomes
        )

    def _read_back(self, moved: list[tuple[MoveDevices, int]]) -> dict[str, str | None]:
        """Where the moved devices are now, by device id. Google barely checks the ids of a
        move, so it is read back: per target org unit, by listing it (300 a page) or by getting
        each device, whichever takes fewer calls."""
        by_unit: dict[str, list[str]] = defaultdict(list)
        for action, _ in moved:
            by_unit[action.org_unit].extend(d.device_id for d in action.devices)
        where: dict[str, str | None] = {}
        singles: list[str] = []
        listed: list[str] = []
        for unit, ids in by_unit.items():
            pages = -(-(self.ou_sizes[unit] + len(ids)) // MAX_DEVICE_PAGE)
            if pages < len(ids):
                listed.append(unit)
            else:
                singles.extend(ids)

        if listed:
            # The target org units are listed side by side, a big one in parts by serial (those
            # it held when observed, and those moved into it).
            expected: dict[str, list[str]] = {unit: [] for unit in listed}
            for seen in self.devices.values():
                if seen.org_unit_path in expected:
                    expected[seen.org_unit_path].append(seen.serial.upper())
            for action, _ in moved:
                if action.org_unit in expected:
                    expected[action.org_unit].extend(d.serial.upper() for d in action.devices)
            for unit, present in devices_in(self.google, expected).items():
                where.update({i: unit if i in present else None for i in by_unit[unit]})
        if singles:
            for device_id, device in self.google.directory.get_devices(singles).items():
                where[device_id] = None if device is None else device.org_unit_path
        return where

    @staticmethod
    def _confirm_devices(session: Any, changes: dict[str, dict[str, Any]]) -> None:
        """Write what Google confirmed about devices (by Google's id): Core, one executemany
        per set of columns, no objects loaded."""
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for device_id, values in changes.items():
            row = {f"new_{column}": value for column, value in values.items()}
            row["device_key"] = device_id
            by_columns[tuple(sorted(values))].append(row)
        devices = cast(sa.Table, Device.__table__)
        for columns, rows in by_columns.items():
            session.connection().execute(
                devices.update()
                .where(devices.c.google_device_id == sa.bindparam("device_key"))
                .values({column: sa.bindparam(f"new_{column}") for column in columns}),
                rows,
            )

    def _annotations(self, actions: list[Action]) -> None:
        annotate = [a for a in actions if isinstance(a, AnnotateDevice)]
        entries = self.journal.intend(annotate)
        outcome = self.google.directory.annotate_devices(
            {a.device.device_id: dict(a.changes) for a in annotate}
        )
        at = now()
        with self.ledger.transaction() as session:
            self._confirm_devices(
                session,
                {
                    a.device.device_id: {
                        "google_annotated_user": dict(a.changes)["annotatedUser"],
                        "google_checked_at": at,
                    }
                    for a in annotate
                    if a.device.device_id in outcome.results and "annotatedUser" in dict(a.changes)
                },
            )
        settled: list[tuple[Action, int, str, str | None]] = []
        for action, entry in zip(annotate, entries, strict=True):
            error = outcome.errors.get(action.device.device_id)
            state, why = ("done", None) if error is None else ("failed", str(error))
            settled.append((action, entry, state, why))
        self._settle_each(settled)

    def _status(self, actions: list[Action]) -> None:
        groups = [
            a
            for a in actions
            if isinstance(a, DisableDevices | ReenableDevices | DeprovisionDevices)
        ]
        for action in groups:
            if self.stopping():
                return
            [entry] = self.journal.intend([action])
            kind = type(action)
            with self.ledger.read() as session:
                states = dict(
                    session.execute(
                        sa.select(Device.google_device_id, Device.state).where(
                            Device.google_device_id.in_([d.device_id for d in action.devices])
                        )
                    ).all()
                )
                locked = _locked(session, [d.device_id for d in action.devices])
            allowed = [
                d
                for d in action.devices
                if _still_wanted(kind, states.get(d.device_id), d.device_id in locked)
            ]
            if not allowed:
                self._settle([action], [entry], "skipped", "the ledger no longer wants it")
                continue
            granted: dict[str, int] = {}
            if action.limit is not None:
                granted = self._take(action.limit, [d.serial for d in allowed])
                held = [d.serial for d in allowed if d.serial not in granted]
                if held:
                    self._held(action.limit, held)
                allowed = [d for d in allowed if d.serial in granted]
                if not allowed:
                    self._settle([action], [entry], "skipped", _held_reason(action.limit))
                    continue
            try:
                results = self.google.directory.change_status(
                    [d.device_id for d in allowed],
                    _STATUS_ACTION[kind],
                    deprovision_reason=_DEPROVISION_REASON if kind is DeprovisionDevices else None,
                )
            except GoogleError as exc:
                if not isinstance(exc, GoogleOutcomeUnknown):
                    self._refund(granted.values())
                self._settle([action], [entry], "failed", str(exc))
                continue
            self._refund(
                granted[ref.serial]
                for ref in allowed
                if results.get(ref.device_id) is not None and ref.serial in granted
            )
            new_status = {
                DisableDevices: DeviceStatus.DISABLED,
                ReenableDevices: DeviceStatus.ACTIVE,
                DeprovisionDevices: DeviceStatus.DEPROVISIONED,
            }[kind].value
            at = now()
            with self.ledger.transaction() as session:
                self._confirm_devices(
                    session,
                    {
                        device_id: {"google_status": new_status, "google_checked_at": at}
                        for device_id, error in results.items()
                        if error is None
                    },
                )
            errors = {
                ref.serial: results.get(ref.device_id)
                for ref in allowed
                if results.get(ref.device_id) is not None
            }
            if errors:
                listed = "; ".join(f"{s}: {e}" for s, e in sorted(errors.items()))
                self._settle([action], [entry], "failed", listed)
            else:
                self._settle([action], [entry], "done")

    # -------------------------------------------------------------------- policies
    def _policies(self, actions: list[Action]) -> None:
        def modify(action: SetPolicy) -> None:
            unit = self.org_units.get(action.org_unit)
            if unit is None:
                raise GoogleNotFound(f"org unit {action.org_unit} does not exist in Google")
            self.google.policy.modify(
                unit.org_unit_id,
                [
                    PolicyWrite(
                        schema=v.schema,
                        value=v.value,
                        update_mask=v.update_mask,
                        additional_keys=v.additional_keys,
                    )
                    for v in action.values
                ],
            )

        # Writes to different org units go out side by side; one org unit's, one after another.
        self._each_by_key(
            [a for a in actions if isinstance(a, SetPolicy)], modify, key=lambda a: a.org_unit
        )

    # -------------------------------------------------------------------- commands
    def _commands(self, actions: list[Action]) -> None:
        self._each((a for a in actions if isinstance(a, IssuePowerwash)), self._powerwash)

    def _powerwash(self, action: IssuePowerwash) -> str | None:
        # The intent is in the ledger before Google hears of it: a crash from here on leaves the
        # request ISSUING, which is never sent again blindly.
        with self.ledger.transaction() as session:
            granted = self.guard.take(session, Budget.POWERWASHES, [action.device.serial])
            if not granted:
                self._held(Budget.POWERWASHES, [action.device.serial])
                return "held"
            wanted = reconciled.begin_powerwash(
                session, action.request_id, device_id=action.device.device_id, now=now()
            )
            if not wanted:
                budgets.refund(session, granted.values())
        if not wanted:
            return "skipped"
        try:
            command_id = self.google.directory.issue_command(
                action.device.device_id, "REMOTE_POWERWASH"
            )
        except GoogleOutcomeUnknown as exc:
            with self.ledger.transaction() as session:
                reconciled.powerwash_lost(
                    session, action.request_id, error=str(exc), now=now(), sent=True
                )
            raise
        except GoogleError as exc:
            with self.ledger.transaction() as session:
                reconciled.powerwash_lost(
                    session, action.request_id, error=str(exc), now=now(), sent=False
                )
                budgets.refund(session, granted.values())
            raise
        with self.ledger.transaction() as session:
            reconciled.powerwash_issued(
                session, action.request_id, command_id=command_id, now=now()
            )
        return None
