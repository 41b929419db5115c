"""Reconcile: observe Google, plan against the ledger, apply with the journal.

A full reconcile (``fleetsync sync``, the daemon's schedule) follows open device commands, reads
all of Google that fleetsync manages and plans for the whole ledger. A targeted one (after a
checkout, a return, a technician's action) reads and plans only the devices and borrowers it is
given, with the same planner and the same apply. Both hold the ledger's reconcile lock.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from fleetsync.domain.actions import Budget
from fleetsync.domain.desired import AccountWanted, DesiredDevice
from fleetsync.domain.plan import Plan, PlanConfig, plan
from fleetsync.domain.runs import RunStatus
from fleetsync.domain.safety import DEVICE_BUDGETS, held_keys
from fleetsync.google import Google
from fleetsync.ledger import Ledger, budgets
from fleetsync.ledger.models import OutboxEntry
from fleetsync.log import get_logger
from fleetsync.metrics import OUTBOX_DEPTH, RECONCILE_DURATION
from fleetsync.services.programme import Programme
from fleetsync.services.writeback import BudgetGuard, WriteBack
from fleetsync.settings import Settings
from fleetsync.sync.apply import ApplyReport, apply_plan
from fleetsync.sync.config import layout_of, limits_of
from fleetsync.sync.desired import Scope, load_desired, scope_of_borrowers
from fleetsync.sync.journal import Journal, now
from fleetsync.sync.lock import SyncBusy, reconciler_lock
from fleetsync.sync.observe import Expected, ProgressCallback, observe_full, observe_targeted
from fleetsync.sync.track import TrackReport, track_commands

__all__ = ["SyncReport", "drain_outbox", "reconcile"]

log = get_logger(__name__)
_FINDINGS_KEPT = 100
#: Findings about a device's data that fleetsync will not take or keep: logged as well (the
#: first few per run), besides the report and `fleetsync status`.
_DATA_FINDINGS = frozenset({"cannot_adopt", "bad_google_data", "ambiguous_device"})
_DATA_FINDINGS_LOGGED = 20


@dataclass
class SyncReport:
    kind: str
    plan: Plan
    #: ``planned`` (dry run), ``converged``, ``failed``, ``stopped``. What the safety budgets
    #: held back is in :attr:`held`: the rest of the plan went ahead.
    status: RunStatus
    run_id: int | None = None
    applied: ApplyReport | None = None
    tracked: TrackReport | None = None
    google_calls: int = 0
    seconds: float = 0.0

    @property
    def held(self) -> dict[Budget, list[str]]:
        """What the safety budgets held back (planned, or at the last moment): budget →
        devices' serials or borrowers' ids."""
        found: dict[Budget, list[str]] = defaultdict(list)
        for held in self.plan.safety.held:
            found[held.budget].extend(held.targets)
        if self.applied is not None:
            for budget, targets in self.applied.held.items():
                found[budget].extend(targets)
        return dict(found)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "status": str(self.status),
            "held": {str(b): targets for b, targets in sorted(self.held.items())},
            "run": self.run_id,
            "plan": self.plan.to_json(),
            "applied": None if self.applied is None else self.applied.to_json(),
            "commands": None if self.tracked is None else self.tracked.to_json(),
            "google_calls": self.google_calls,
            "seconds": round(self.seconds, 3),
        }


def reconcile(
    ledger: Ledger,
    settings: Settings,
    *,
    google: Google | None = None,
    programme: Programme | None = None,
    dry_run: bool = False,
    force: bool = False,
    force_budgets: Collection[Budget] = (),
    adopt: bool = False,
    devices: Collection[str] = (),
    borrowers: Collection[str] = (),
    actor: str = "sync",
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
) -> SyncReport:
    """Make Google follow the ledger (or, with ``dry_run``, say what that would take).

    What the safety budgets have no room for is held back and the rest goes ahead;
    ``force_budgets`` lets a person release the held work of those budgets (``force``: of all).

    ``stop``: when set (SIGTERM), the action in flight is finished and the run ends ``stopped``.
    Raises :class:`~fleetsync.sync.lock.SyncBusy` when another reconcile holds the lock.
    """
    if google is None:
        with Google.connect(settings) as own:
            return reconcile(
                ledger,
                settings,
                google=own,
                programme=programme,
                dry_run=dry_run,
                force=force,
                force_budgets=force_budgets,
                adopt=adopt,
                devices=devices,
                borrowers=borrowers,
                actor=actor,
                progress=progress,
                stop=stop,
            )
    programme = programme or Programme.from_settings(settings)
    scope = Scope(devices, borrowers)
    kind = "targeted" if scope else "full"
    started = time.monotonic()
    calls_before = google.calls
    forced = frozenset(Budget) if force else frozenset(force_budgets)
    lock = contextlib.nullcontext() if dry_run else reconciler_lock(ledger)
    with lock:
        journal = (
            None if dry_run else Journal.start(ledger, kind=kind, actor=actor, forced=bool(forced))
        )
        try:
            report = _run(
                ledger,
                settings,
                google,
                programme,
                journal,
                scope,
                _Options(dry_run=dry_run, forced=forced, adopt=adopt, progress=progress, stop=stop),
            )
        except BaseException as exc:
            if journal is not None:
                journal.finish(RunStatus.FAILED, {}, error=f"{type(exc).__name__}: {exc}")
            RECONCILE_DURATION.labels(kind=kind, outcome="error").observe(
                time.monotonic() - started
            )
            raise
        report.seconds = time.monotonic() - started
        report.google_calls = google.calls - calls_before
        if journal is not None:
            journal.finish(report.status, _summary(report))
        RECONCILE_DURATION.labels(kind=kind, outcome=str(report.status)).observe(report.seconds)
    log.info(
        "sync.done",
        kind=kind,
        status=str(report.status),
        did=report.plan.summary() if report.status is not RunStatus.PLANNED else {},
        actions=len(report.plan.actions),
        google_calls=report.google_calls,
        seconds=round(report.seconds, 2),
    )
    return report


@dataclass(frozen=True)
class _Options:
    dry_run: bool
    forced: frozenset[Budget]
    adopt: bool
    progress: ProgressCallback | None
    stop: threading.Event | None


def _run(
    ledger: Ledger,
    settings: Settings,
    google: Google,
    programme: Programme,
    journal: Journal | None,
    scope: Scope,
    options: _Options,
) -> SyncReport:
    dry_run, progress = options.dry_run, options.progress
    kind = "targeted" if scope else "full"
    tracked = None
    if journal is not None and not scope:
        tracked = track_commands(ledger, google, settings)
    layout = layout_of(settings)
    with ledger.read() as session:
        if scope:
            scope = scope_of_borrowers(session, scope)
        desired = load_desired(session, settings, now=now(), scope=scope or None)
    if scope:
        observation = observe_targeted(google, desired.devices, desired.accounts)
    else:
        observation = observe_full(
            google,
            layout,
            desired.policies,
            progress=_or_quiet(progress),
            expected=Expected(
                device_ids=[d.google_device_id for d in desired.devices if d.google_device_id],
                accounts=[
                    (a.email, a.google_user_id)
                    for a in desired.accounts
                    if a.wanted is not AccountWanted.ABSENT
                ],
                serials=_serials_by_org_unit(desired.devices),
            ),
        )
    if not dry_run:
        WriteBack(ledger).observation_confirmed(observation)
    limits = limits_of(settings)
    with ledger.read() as session:
        spent = budgets.spent(session, now=now())
    config = PlanConfig(
        layout=layout,
        limits=limits,
        regions=settings.regions,
        adopt=options.adopt,
        spent=spent,
        forced=options.forced,
    )
    the_plan = plan(desired, observation, config)
    _log_data_findings(the_plan)
    report = SyncReport(kind=kind, plan=the_plan, status=RunStatus.PLANNED, tracked=tracked)
    if journal is None:
        return report
    report.run_id = journal.run_id
    if the_plan.safety.holds:
        log.warning("sync.held", why=the_plan.safety.describe())
    applied = apply_plan(
        the_plan,
        ledger=ledger,
        google=google,
        programme=programme,
        journal=journal,
        observation=observation,
        guard=BudgetGuard(limits, options.forced, journal.run_id),
        progress=progress,
        stop=options.stop,
    )
    report.applied = applied
    with ledger.transaction() as session:
        budgets.hold(
            session,
            report.held,
            now=now(),
            run_id=journal.run_id,
            limits=limits,
            scope=(scope.devices, scope.borrowers) if scope else None,
        )
    WriteBack(ledger).links_confirmed(observation)
    if applied.stopped:
        report.status = RunStatus.STOPPED
    else:
        report.status = RunStatus.CONVERGED if applied.ok else RunStatus.FAILED
    if desired.policies:
        failed = {f.target for f in applied.failures if f.kind == "set_policy"}
        WriteBack(ledger).policies_confirmed(desired.policies, the_plan, failed)
    return report


def _serials_by_org_unit(devices: Iterable[DesiredDevice]) -> dict[str, list[str]]:
    serials: dict[str, list[str]] = defaultdict(list)
    for device in devices:
        serials[device.org_unit].append(device.serial.upper())
    return serials


def _log_data_findings(the_plan: Plan) -> None:
    bad = [f for f in the_plan.findings if f.kind in _DATA_FINDINGS]
    for finding in bad[:_DATA_FINDINGS_LOGGED]:
        log.warning(
            "sync.device_data", kind=finding.kind, serial=finding.target, why=finding.message
        )
    if len(bad) > _DATA_FINDINGS_LOGGED:
        log.warning("sync.device_data_more", more=len(bad) - _DATA_FINDINGS_LOGGED)


def _or_quiet(progress: ProgressCallback | None) -> ProgressCallback:
    if progress is not None:
        return progress
    return lambda _what, _done, _total: None


def _summary(report: SyncReport) -> dict[str, Any]:
    return {
        "planned": report.plan.summary(),
        # What a person should look at (`fleetsync status` shows it), capped: a fleet whose
        # devices are all unknown would otherwise write them all into every run.
        "findings_count": len(report.plan.findings),
        "findings": [
            {"kind": f.kind, "target": f.target, "message": f.message}
            for f in report.plan.findings[:_FINDINGS_KEPT]
        ],
        "safety": report.plan.safety.to_json(),
        "applied": None if report.applied is None else report.applied.to_json(),
        "commands": None if report.tracked is None else report.tracked.to_json(),
        "google_calls": report.google_calls,
        "seconds": round(report.seconds, 3),
    }


# ------------------------------------------------------------------------------- outbox
def _pending(ledger: Ledger, limit: int) -> list[tuple[int, str, str]]:
    """The oldest pending entries: (id, kind, key)."""
    with ledger.read() as session:
        rows = session.execute(
            sa.select(OutboxEntry.id, OutboxEntry.entity_kind, OutboxEntry.entity_key)
            .where(
                OutboxEntry.done_at.is_(None),
                # Held back by a safety budget: not before the budget has room again.
                sa.or_(OutboxEntry.retry_after.is_(None), OutboxEntry.retry_after <= now()),
            )
            .order_by(OutboxEntry.id)
            .limit(limit)
        ).all()
    return [(row_id, kind, key) for row_id, kind, key in rows]


def outbox_depth(ledger: Ledger) -> int:
    with ledger.read() as session:
        depth = session.scalar(
            sa.select(sa.func.count()).select_from(OutboxEntry).where(OutboxEntry.done_at.is_(None))
        )
    OUTBOX_DEPTH.set(depth or 0)
    return depth or 0


def drain_outbox(
    ledger: Ledger,
    settings: Settings,
    *,
    google: Google | None = None,
    programme: Programme | None = None,
    limit: int = 200,
    stop: threading.Event | None = None,
) -> int:
    """Run a targeted reconcile for the devices and borrowers waiting in the outbox and mark
    their entries done. Returns how many entries were handled.

    What a safety budget held back stays pending (never done): its entries wait until the
    budget has room (``retry_after``), and the drain takes them up again then. Only the held
    devices and borrowers wait: the rest of the batch is done.

    Entries stay pending when Google fails or another reconcile holds the lock: the next drain
    (or the next full reconcile, which covers everything) takes them up. A crash between a ledger
    change and its reconcile loses nothing, because the entry was written with the change.
    """
    entries = _pending(ledger, limit)
    if not entries:
        outbox_depth(ledger)
        return 0
    try:
        report = reconcile(
            ledger,
            settings,
            google=google,
            programme=programme,
            devices={key for _, kind, key in entries if kind == "device"},
            borrowers={key for _, kind, key in entries if kind == "borrower"},
            stop=stop,
        )
    except SyncBusy:
        return 0
    if report.status is RunStatus.STOPPED:
        return 0  # shutting down: the next process takes them up
    held = held_keys(report.plan.safety) | {
        ("device" if budget in DEVICE_BUDGETS else "borrower", target)
        for budget, targets in report.held.items()
        for target in targets
    }
    if held:
        log.warning("sync.outbox_held", entries=len(held), why=report.plan.safety.describe())
    # Done even when some actions failed: they are in the journal, and the next full reconcile
    # plans them again from what Google shows then. Held work is not done: it stays pending.
    done = [row_id for row_id, kind, key in entries if (kind, key) not in held]
    if done:
        with ledger.transaction() as session:
            session.execute(
                sa.update(OutboxEntry).where(OutboxEntry.id.in_(done)).values(done_at=now())
            )
    outbox_depth(ledger)
    return len(entries)
