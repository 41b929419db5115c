"""Apply: carry a plan out through the Google adapters, phase by phase, with the journal.

Per phase, the intent of its actions is journaled, Google is called (batched where Google
allows), and each action's outcome is journaled. A failed action is recorded and the run goes on;
actions that depend on it fail in turn or wait for the next run, which plans from what Google then
shows. Before any irreversible call, the ledger is asked once more whether it still wants it: a
checkout that happened since the plan was made wins.

Each phase reads as: ask the ledger → call Google → record. The asking and the recording go
through :class:`~fleetsync.services.writeback.WriteBack`, the one home of what the reconciler
writes back; this module holds no SQL (an import-linter contract keeps it so).
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

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
from fleetsync.domain.lifecycle import AccountStatus
from fleetsync.domain.observed import Observation, ObservedOrgUnit
from fleetsync.domain.plan import Plan
from fleetsync.domain.runs import Outcome
from fleetsync.google import Google
from fleetsync.google.directory import MAX_DEVICE_PAGE, StatusAction
from fleetsync.google.errors import (
    GoogleDuplicate,
    GoogleError,
    GoogleNotFound,
    GoogleOutcomeUnknown,
)
from fleetsync.google.policy import PolicyWrite
from fleetsync.ledger import Ledger
from fleetsync.log import get_logger
from fleetsync.services.programme import Programme
from fleetsync.services.writeback import (
    AccountConfirmed,
    Adoption,
    BudgetGuard,
    Link,
    WriteBack,
)
from fleetsync.sync.journal import Journal
from fleetsync.sync.observe import ProgressCallback, devices_in

__all__ = ["ApplyReport", "BudgetGuard", "Failure", "apply_plan"]

log = get_logger(__name__)
A = TypeVar("A", bound=Action)
#: What a call of :meth:`_Applier._each` says: None (done), skipped, or held by its budget.
_Result = Literal[Outcome.SKIPPED, "held"] | None
#: An action settled: (action, journal entry, outcome, error).
_Settled = tuple[Action, int, Outcome, str | None]

_STATUS_ACTION: dict[type[Action], StatusAction] = {
    DisableDevices: "DISABLE",
    ReenableDevices: "REENABLE",
    DeprovisionDevices: "DEPROVISION",
}
_DEPROVISION_REASON = "DEPROVISION_REASON_RETIRING_DEVICE"
#: The status Google has once a change went through.
_NEW_STATUS = {
    DisableDevices: DeviceStatus.DISABLED,
    ReenableDevices: DeviceStatus.ACTIVE,
    DeprovisionDevices: DeviceStatus.DEPROVISIONED,
}


@dataclass(frozen=True, slots=True)
class Failure:
    kind: str
    target: str
    error: str


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
        self.ledger = WriteBack(ledger)
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
        state: Outcome,
        error: str | None = None,
    ) -> None:
        self.journal.outcome(entries, state, error)
        for action in actions:
            if state is Outcome.DONE:
                self.report.done[action.kind] += action.weight
            elif state is Outcome.SKIPPED:
                self.report.skipped[action.kind] += action.weight
            else:
                failure = Failure(action.kind, action.target, error or state)
                (self.report.unknown if state is Outcome.UNKNOWN else self.report.failures).append(
                    failure
                )
                # An account's target is its address, made of the borrower's names: the log
                # names the borrower by id (and masks any address the error quotes).
                borrower = getattr(action, "borrower", None)
                log.warning(
                    "sync.action_failed" if state is Outcome.FAILED else "sync.action_unknown",
                    kind=action.kind,
                    **({"borrower": borrower} if borrower else {"target": action.target}),
                    error=error,
                )
        self._tick(f"applying {actions[0].kind.replace('_', ' ')}" if actions else "", len(actions))

    def _settle_each(self, outcomes: Iterable[_Settled]) -> None:
        """Settle many actions (action, journal entry, state, error): one journal write per
        distinct outcome, not one per action."""
        groups: dict[tuple[Outcome, str | None], tuple[list[Action], list[int]]] = {}
        for action, entry, state, error in outcomes:
            actions, entries = groups.setdefault((state, error), ([], []))
            actions.append(action)
            entries.append(entry)
        for (state, error), (actions, entries) in groups.items():
            self._settle(actions, entries, state, error)

    def _each(self, actions: Iterable[A], call: Callable[[A], _Result]) -> None:
        """Journal and run actions one by one; ``call`` returns None when done, else
        :attr:`Outcome.SKIPPED` or ``"held"`` (by the action's budget); a GoogleError fails the
        action."""
        for action in actions:
            if self.stopping():
                return
            [entry] = self.journal.intend([action])
            try:
                result = call(action)
            except GoogleOutcomeUnknown as exc:
                self._settle([action], [entry], Outcome.UNKNOWN, str(exc))
                continue
            except GoogleError as exc:
                self._settle([action], [entry], Outcome.FAILED, str(exc))
                continue
            if result == "held":
                assert action.limit is not None, action
                self._settle([action], [entry], Outcome.SKIPPED, _held_reason(action.limit))
            else:
                self._settle([action], [entry], result or Outcome.DONE)

    def _held(self, budget: Budget, targets: Iterable[str]) -> None:
        listed = list(targets)
        self.report.held[budget].extend(listed)
        log.warning("sync.held", budget=str(budget), targets=len(listed))

    def _each_by_key(
        self, actions: Sequence[A], call: Callable[[A], None], key: Callable[[A], str]
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
            settled: list[_Settled] = []
            for action, entry, outcome in zip(wave, entries, outcomes, strict=True):
                if isinstance(outcome, GoogleOutcomeUnknown):
                    settled.append((action, entry, Outcome.UNKNOWN, str(outcome)))
                elif isinstance(outcome, GoogleError):
                    settled.append((action, entry, Outcome.FAILED, str(outcome)))
                elif isinstance(outcome, Exception):
                    raise outcome
                else:
                    settled.append((action, entry, Outcome.DONE, None))
            self._settle_each(settled)

    # ---------------------------------------------------------------------- ledger
    def _ledger(self, actions: list[Action]) -> None:
        entries = self.journal.intend(actions)
        refused = self.ledger.devices_recorded([_record_of(action) for action in actions])
        self._settle_each(
            (action, entry, Outcome.DONE if why is None else Outcome.FAILED, why)
            for action, entry, why in zip(actions, entries, refused, strict=True)
        )

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

    def _set_password(self, action: SetAccountPassword) -> _Result:
        """Send a new first password, then record that Google has it (it is never sent again).
        A failure or a lost answer leaves it unrecorded, and the next run sends the same password
        again: harmless, the account ends up as after one send."""
        password = self.ledger.new_password(
            action.borrower, credential=action.credential, programme=self.programme
        )
        if password is None:
            return Outcome.SKIPPED
        self.google.directory.set_password(
            action.email,
            password=password,
            change_password_at_next_login=self.programme.accounts.change_password_at_next_login,
        )
        self.ledger.password_set(action.borrower, credential=action.credential)
        return None

    def _create_account(self, action: CreateAccount) -> _Result:
        password = self.ledger.first_password(action.borrower, programme=self.programme)
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
        self.ledger.account_created(
            action.borrower, user_id=account.user_id, org_unit=account.org_unit_path
        )
        return None

    def _patch_accounts(
        self, actions: list[SuspendAccount | UnsuspendAccount | MoveAccount]
    ) -> None:
        statuses = self.ledger.account_statuses(a.borrower for a in actions)
        bodies: dict[str, dict[str, Any]] = defaultdict(dict)
        going: dict[str, list[tuple[Action, int]]] = defaultdict(list)
        entries = self.journal.intend(actions)
        suspending: list[tuple[SuspendAccount, int]] = []
        for action, entry in zip(actions, entries, strict=True):
            status = statuses.get(action.borrower)
            if isinstance(action, SuspendAccount) and status != AccountStatus.SUSPENDED:
                self._settle([action], [entry], Outcome.SKIPPED, "the ledger no longer wants it")
                continue
            if isinstance(action, SuspendAccount):
                suspending.append((action, entry))
                continue
            if isinstance(action, UnsuspendAccount):
                bodies[action.email]["suspended"] = False
            else:
                bodies[action.email]["orgUnitPath"] = action.org_unit
            going[action.email].append((action, entry))
        granted = self.ledger.take(
            self.guard, Budget.SUSPENSIONS, [a.borrower for a, _ in suspending]
        )
        for action, entry in suspending:
            if action.borrower not in granted:
                self._settle([action], [entry], Outcome.SKIPPED, _held_reason(Budget.SUSPENSIONS))
                self._held(Budget.SUSPENSIONS, [action.borrower])
                continue
            bodies[action.email]["suspended"] = True
            going[action.email].append((action, entry))
        if not bodies:
            return
        outcome = self.google.directory.update_accounts(bodies)
        self.ledger.refund(
            granted[a.borrower]
            for a, _ in suspending
            if a.email in outcome.errors and a.borrower in granted
        )
        self.ledger.accounts_updated(
            {
                email: AccountConfirmed(
                    suspended=body.get("suspended"), org_unit=body.get("orgUnitPath")
                )
                for email, body in bodies.items()
                if email in outcome.results
            }
        )
        settled: list[_Settled] = []
        for email, pairs in going.items():
            error = outcome.errors.get(email)
            state, why = (Outcome.DONE, None) if error is None else (Outcome.FAILED, str(error))
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
            granted, wanted = self.ledger.account_deletion_begun(
                self.guard, action.borrower, email=action.email
            )
            if granted is None:
                self._settle([action], [entry], Outcome.SKIPPED, _held_reason(Budget.DELETIONS))
                self._held(Budget.DELETIONS, [action.borrower])
                continue
            if not wanted:
                self._settle([action], [entry], Outcome.SKIPPED, "the ledger no longer wants it")
                continue
            spent[action.borrower] = granted
            going[action.user_id or action.email] = (action, entry)
        if not going:
            return
        outcome = self.google.directory.delete_accounts(list(going))
        for key, (action, entry) in going.items():
            error = outcome.errors.get(key)
            if isinstance(error, GoogleOutcomeUnknown):
                # Google may have deleted it: the intent stays, and the next run settles it
                # from what Google shows (deletes it again, or records it gone).
                self._settle([action], [entry], Outcome.UNKNOWN, str(error))
                continue
            if error is not None and not isinstance(error, GoogleNotFound):
                self.ledger.account_deletion_refused(action.borrower, spent=spent[action.borrower])
                self._settle([action], [entry], Outcome.FAILED, str(error))
                continue
            self.ledger.account_deleted(action.borrower)
            self._settle([action], [entry], Outcome.DONE)

    def _account_gone(self, action: AccountGone) -> _Result:
        """Google had no account for the borrower when observed: look once more (by id, then by
        address) before the ledger records it deleted."""
        for key in (action.user_id, action.email):
            if key is None:
                continue
            found = self.google.directory.get_account(key)
            if found is not None:
                return Outcome.SKIPPED  # it exists after all: a later run deletes it
        self.ledger.account_deleted(
            action.borrower,
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

        def move(action: MoveDevices) -> Literal["stopped"] | None:
            if self.stopping():
                return "stopped"
            self.google.directory.move_devices(
                action.org_unit, [d.device_id for d in action.devices]
            )
            return None

        moved: list[tuple[MoveDevices, int]] = []
        unsent: list[_Settled] = []
        sent = self.google.session.fan_out(move, moves)
        for action, entry, outcome in zip(moves, entries, sent, strict=True):
            if outcome == "stopped":
                unsent.append((action, entry, Outcome.SKIPPED, "stopped before it was sent"))
            elif isinstance(outcome, GoogleError):
                unsent.append((action, entry, Outcome.FAILED, str(outcome)))
            elif isinstance(outcome, Exception):
                raise outcome
            else:
                moved.append((action, entry))
        self._settle_each(unsent)
        if not moved:
            return
        seen = self._read_back(moved)
        outcomes: list[tuple[MoveDevices, int, list[str]]] = []
        confirmed: dict[str, str] = {}
        for action, entry in moved:
            wrong = [d.serial for d in action.devices if seen.get(d.device_id) != action.org_unit]
            confirmed.update(
                {d.device_id: action.org_unit for d in action.devices if d.serial not in wrong}
            )
            outcomes.append((action, entry, wrong))
        # One write for every move, not one per move.
        self.ledger.devices_moved(confirmed)
        self._settle_each(
            (action, entry, Outcome.DONE, None)
            if not wrong
            else (
                action,
                entry,
                Outcome.FAILED,
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

    def _annotations(self, actions: list[Action]) -> None:
        annotate = [a for a in actions if isinstance(a, AnnotateDevice)]
        entries = self.journal.intend(annotate)
        outcome = self.google.directory.annotate_devices(
            {a.device.device_id: dict(a.changes) for a in annotate}
        )
        self.ledger.devices_annotated(
            {
                a.device.device_id: dict(a.changes)["annotatedUser"]
                for a in annotate
                if a.device.device_id in outcome.results and "annotatedUser" in dict(a.changes)
            }
        )
        settled: list[_Settled] = []
        for action, entry in zip(annotate, entries, strict=True):
            error = outcome.errors.get(action.device.device_id)
            state, why = (Outcome.DONE, None) if error is None else (Outcome.FAILED, str(error))
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
            wanted = self.ledger.status_change_wanted(kind, [d.device_id for d in action.devices])
            allowed = [d for d in action.devices if d.device_id in wanted]
            if not allowed:
                self._settle([action], [entry], Outcome.SKIPPED, "the ledger no longer wants it")
                continue
            granted: dict[str, int] = {}
            if action.limit is not None:
                granted = self.ledger.take(self.guard, action.limit, [d.serial for d in allowed])
                held = [d.serial for d in allowed if d.serial not in granted]
                if held:
                    self._held(action.limit, held)
                allowed = [d for d in allowed if d.serial in granted]
                if not allowed:
                    self._settle([action], [entry], Outcome.SKIPPED, _held_reason(action.limit))
                    continue
            try:
                results = self.google.directory.change_status(
                    [d.device_id for d in allowed],
                    _STATUS_ACTION[kind],
                    deprovision_reason=_DEPROVISION_REASON if kind is DeprovisionDevices else None,
                )
            except GoogleError as exc:
                if not isinstance(exc, GoogleOutcomeUnknown):
                    self.ledger.refund(granted.values())
                self._settle([action], [entry], Outcome.FAILED, str(exc))
                continue
            self.ledger.refund(
                granted[ref.serial]
                for ref in allowed
                if results.get(ref.device_id) is not None and ref.serial in granted
            )
            self.ledger.devices_status_changed(
                (device_id for device_id, error in results.items() if error is None),
                _NEW_STATUS[kind],
            )
            errors = {
                ref.serial: results.get(ref.device_id)
                for ref in allowed
                if results.get(ref.device_id) is not None
            }
            if errors:
                listed = "; ".join(f"{s}: {e}" for s, e in sorted(errors.items()))
                self._settle([action], [entry], Outcome.FAILED, listed)
            else:
                self._settle([action], [entry], Outcome.DONE)

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

    def _powerwash(self, action: IssuePowerwash) -> _Result:
        # The intent is in the ledger before Google hears of it: a crash from here on leaves the
        # request ISSUING, which is never sent again blindly.
        spent, wanted = self.ledger.powerwash_begun(
            self.guard,
            action.request_id,
            device_id=action.device.device_id,
            serial=action.device.serial,
        )
        if spent is None:
            self._held(Budget.POWERWASHES, [action.device.serial])
            return "held"
        if not wanted:
            return Outcome.SKIPPED
        try:
            command_id = self.google.directory.issue_command(
                action.device.device_id, "REMOTE_POWERWASH"
            )
        except GoogleOutcomeUnknown as exc:
            self.ledger.command_lost(action.request_id, error=str(exc), sent=True)
            raise
        except GoogleError as exc:
            self.ledger.command_lost(action.request_id, error=str(exc), sent=False, refund=spent)
            raise
        self.ledger.command_issued(action.request_id, command_id=command_id)
        return None


def _record_of(action: Action) -> Link | Adoption:
    """What the ledger records of a link or an adoption."""
    if isinstance(action, AdoptDevice):
        return Adoption(
            serial=action.device.serial,
            device_id=action.device.device_id,
            model=action.model,
            region=action.region,
            connectivity=action.connectivity,
            asset_tag=action.asset_tag,
        )
    assert isinstance(action, LinkDevice), action
    return Link(serial=action.device.serial, device_id=action.device.device_id)
