"""The state of the programme at a glance (``fleetsync status``): the fleet by state and region,
the device commands still on their way, the last reconciles, and what needs a person. From the
ledger alone: no Google call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fleetsync import clock
from fleetsync.domain.lifecycle import (
    AccountStatus,
    CommandState,
    DeviceState,
    GoogleConfirmed,
    Lendability,
)
from fleetsync.domain.runs import JournalState, RunStatus
from fleetsync.domain.safety import DEVICE_BUDGETS, Budget, Limit
from fleetsync.ledger.budgets import BudgetState, budget_states
from fleetsync.ledger.forecast import shortfalls
from fleetsync.ledger.models import (
    STOPPED_PREFIX,
    Borrower,
    DaemonReplica,
    Device,
    DeviceCommand,
    Loan,
    OutboxEntry,
    PendingCredential,
    Repair,
    SyncJournalEntry,
    SyncRun,
)
from fleetsync.ledger.queries import POWERWASH

__all__ = ["Attention", "Overview", "overview"]

#: APScheduler's job table (the daemon's job store is the ledger's database).
_JOBS = sa.table("apscheduler_jobs", sa.column("id"), sa.column("next_run_time"))


@dataclass(frozen=True, slots=True)
class Attention:
    """Something that needs a person."""

    kind: str
    target: str
    message: str


@dataclass
class Overview:
    fleet: dict[str, dict[str, int]] = field(default_factory=dict)
    commands: dict[str, int] = field(default_factory=dict)
    last_full: dict[str, Any] | None = None
    last_targeted: dict[str, Any] | None = None
    next_reconcile: datetime | None = None
    outbox_pending: int = 0
    outbox_oldest: datetime | None = None
    overdue_loans: int = 0
    #: New first passwords a desk issued that Google does not have yet (the next reconcile).
    passwords_for_google: int = 0
    #: Devices with an open repair, and since when the oldest one is open.
    in_repair: int = 0
    oldest_repair: datetime | None = None
    #: Running daemons (a heartbeat within the staleness limit): host:pid → leads.
    replicas: dict[str, bool] = field(default_factory=dict)
    #: The safety budgets: spent in the windows, what each holds back and how to release it.
    budgets: list[BudgetState] = field(default_factory=list)
    #: When none runs: since when (the last one stopped, or its last heartbeat when it did not
    #: stop cleanly), which one, and whether it stopped cleanly. None: never ran on this ledger.
    no_daemon_since: datetime | None = None
    last_daemon: str | None = None
    last_daemon_stopped_cleanly: bool = False
    attention: list[Attention] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "fleet": self.fleet,
            "commands": self.commands,
            "last_full_reconcile": self.last_full,
            "last_targeted_reconcile": self.last_targeted,
            "next_reconcile": None
            if self.next_reconcile is None
            else self.next_reconcile.isoformat(),
            "outbox": {
                "pending": self.outbox_pending,
                "oldest": None if self.outbox_oldest is None else self.outbox_oldest.isoformat(),
            },
            "overdue_loans": self.overdue_loans,
            "first_passwords_for_google": self.passwords_for_google,
            "repairs": {
                "open": self.in_repair,
                "oldest": None if self.oldest_repair is None else self.oldest_repair.isoformat(),
            },
            "daemons": [
                {"replica": name, "leader": leads} for name, leads in sorted(self.replicas.items())
            ],
            "budgets": [state.to_json() for state in self.budgets],
            "no_daemon_since": None
            if self.no_daemon_since is None
            else self.no_daemon_since.isoformat(),
            "last_daemon": None
            if self.last_daemon is None
            else {"replica": self.last_daemon, "stopped_cleanly": self.last_daemon_stopped_cleanly},
            "attention": [
                {"kind": a.kind, "target": a.target, "message": a.message} for a in self.attention
            ],
        }


def _run(run: SyncRun | None) -> dict[str, Any] | None:
    if run is None:
        return None
    summary = run.summary or {}
    return {
        "run": run.id,
        "status": run.status,
        "started": run.started_at.isoformat(),
        "finished": None if run.finished_at is None else run.finished_at.isoformat(),
        "actor": run.actor,
        "planned": summary.get("planned", {}),
        "google_calls": summary.get("google_calls"),
        "error": run.error,
    }


def overview(
    session: Session,
    *,
    today: date,
    now: datetime | None = None,
    heartbeat_stale: timedelta = timedelta(seconds=90),
    limits: Mapping[Budget, Limit] | None = None,
    lendability: Lendability | None = None,
) -> Overview:
    """``limits``: the safety budgets of the config (without them, no budget is shown)."""
    now = now or clock.now()
    result = Overview()
    seen = session.execute(
        sa.select(DaemonReplica.replica, DaemonReplica.leader, DaemonReplica.heartbeat_at)
    ).all()
    running = {
        name: leads
        for name, leads, beat in seen
        if not name.startswith(STOPPED_PREFIX) and _utc(beat) > now - heartbeat_stale
    }
    result.replicas = running
    if not running and seen:
        # The latest of: the daemon that stopped last, the last heartbeat of one that did not.
        name, _leads, beat = max(seen, key=lambda row: _utc(row[2]))
        result.no_daemon_since = _utc(beat)
        result.last_daemon = name.removeprefix(STOPPED_PREFIX)
        result.last_daemon_stopped_cleanly = name.startswith(STOPPED_PREFIX)
    for state, region, count in session.execute(
        sa.select(Device.state, Device.region, sa.func.count())
        .group_by(Device.state, Device.region)
        .order_by(Device.region, Device.state)
    ):
        result.fleet.setdefault(region, {})[state] = count
    result.commands = dict(
        session.execute(
            sa.select(DeviceCommand.state, sa.func.count())
            .where(DeviceCommand.state.in_([s for s in CommandState if s.outstanding]))
            .group_by(DeviceCommand.state)
        ).all()
    )
    runs = {
        kind: session.scalars(
            sa.select(SyncRun).where(SyncRun.kind == kind).order_by(SyncRun.id.desc()).limit(1)
        ).first()
        for kind in ("full", "targeted")
    }
    result.last_full, result.last_targeted = _run(runs["full"]), _run(runs["targeted"])
    # The scheduler's table keeps the next run time of a daemon that stopped: only a running
    # daemon will reconcile then.
    result.next_reconcile = _next_reconcile(session) if running else None
    pending = sa.select(sa.func.count(), sa.func.min(OutboxEntry.created_at)).where(
        OutboxEntry.done_at.is_(None)
    )
    result.outbox_pending, result.outbox_oldest = session.execute(pending).one()
    result.overdue_loans = (
        session.scalar(
            sa.select(sa.func.count()).where(Loan.returned_at.is_(None), Loan.agreed_end < today)
        )
        or 0
    )
    result.passwords_for_google = (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(PendingCredential)
            .join(Borrower, Borrower.id == PendingCredential.borrower_id)
            .where(
                PendingCredential.used_at.is_(None),
                PendingCredential.expires_at > now,
                Borrower.google_user_id.is_not(None),
                Borrower.account_status == AccountStatus.ACTIVE,
            )
        )
        or 0
    )
    result.in_repair, result.oldest_repair = session.execute(
        sa.select(sa.func.count(), sa.func.min(Repair.opened_at)).where(Repair.closed_at.is_(None))
    ).one()
    result.attention = _attention(session, runs["full"], now)
    result.attention += [
        Attention(
            "device_shortfall",
            f"{row.course} {row.region} {row.connectivity}",
            f"course period {row.course} starts {row.first.isoformat()}: {row.region} has "
            f"{row.reserved} {row.connectivity} reservation(s) and {row.reserved - row.shortfall} "
            f"{row.connectivity} device(s) expected lendable, {row.shortfall} short; see "
            f"`fleetsync forecast --course '{row.course}'`",
        )
        for row in shortfalls(session, today=today)
    ]
    if limits is not None:
        result.budgets = budget_states(session, limits, now=now)
        result.attention[:0] = [_held(state) for state in result.budgets if state.held]
    if lendability is not None:
        result.attention += _not_in_google(session, lendability)
    return result


def _held(state: BudgetState) -> Attention:
    what = "devices" if state.budget in DEVICE_BUDGETS else "accounts"
    examples = ", ".join(state.examples) + (", …" if state.held > len(state.examples) else "")
    when = (
        f"they go ahead by themselves from {state.free_at.isoformat(timespec='minutes')}"
        if state.free_at is not None
        else "the budget is 0: they wait for a person"
    )
    return Attention(
        "held",
        str(state.budget),
        f"{state.held} {what} held back by the {state.budget} budget ({examples}): "
        f"{state.spent.hour}/{state.limit.per_hour} spent this hour, "
        f"{state.spent.day}/{state.limit.per_day} today; {when}, or now with "
        f"`fleetsync sync --force-budget {state.budget}` once `fleetsync plan` shows they are "
        "right",
    )


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; the ledger stores UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


_IN_CIRCULATION = [
    DeviceState.SPARE,
    DeviceState.ON_LOAN,
    DeviceState.IN_REFURBISHMENT,
    DeviceState.ICT_TEST,
]


def _not_in_google(session: Session, lendability: Lendability) -> list[Attention]:
    """Devices in circulation that Google has not confirmed ACTIVE in a managed org unit: they
    cannot be lent. The database leaves out the usual device (active in a state's own org unit)."""
    rows = session.execute(
        sa.select(Device.serial, Device.google_status, Device.google_org_unit,
                  Device.google_checked_at)
        .where(
            Device.state.in_(_IN_CIRCULATION),
            sa.or_(
                Device.google_checked_at.is_(None),
                Device.google_status.is_(None),
                Device.google_status != "ACTIVE",
                Device.google_org_unit.is_(None),
                Device.google_org_unit.not_in(lendability.managed_org_units),
            ),
        )
        .order_by(Device.serial)
    ).all()  # fmt: skip
    strict = Lendability(lendability.managed_org_units, lend_unconfirmed=False)
    found = []
    for serial, status, org_unit, checked in rows:
        problem = strict.problem(
            GoogleConfirmed(
                status=status,
                org_unit=org_unit,
                checked=None if checked is None else clock.local_date(checked),
            )
        )
        if problem is not None:
            found.append(
                Attention("not_in_google", serial, f"device {serial} cannot be lent: {problem}")
            )
    return found


def _next_reconcile(session: Session) -> datetime | None:
    try:
        with session.begin_nested():
            epoch = session.scalar(
                sa.select(_JOBS.c.next_run_time).where(_JOBS.c.id == "reconcile")
            )
    except sa.exc.DatabaseError:
        return None  # no daemon ever ran on this ledger: no job table yet
    return None if epoch is None else datetime.fromtimestamp(float(epoch), UTC)


def _attention(session: Session, last_full: SyncRun | None, now: datetime) -> list[Attention]:
    found: list[Attention] = []
    if last_full is not None:
        summary = last_full.summary or {}
        if last_full.status == RunStatus.REFUSED:
            why = (summary.get("safety") or {}).get("breaches", [])
            listed = ", ".join(f"{b['limit']} {b['planned']}/{b['allowed']}" for b in why)
            found.append(
                Attention(
                    "refused",
                    f"run {last_full.id}",
                    f"the last full reconcile was refused by the safety limits ({listed}); "
                    "read `fleetsync plan`, then `fleetsync sync --force` if it is right",
                )
            )
        findings = summary.get("findings")
        for item in findings if isinstance(findings, list) else []:
            found.append(Attention(item["kind"], item["target"], item["message"]))
        failed = session.execute(
            sa.select(SyncJournalEntry.kind, SyncJournalEntry.target, SyncJournalEntry.error)
            .where(
                SyncJournalEntry.run_id == last_full.id,
                SyncJournalEntry.state.in_([JournalState.FAILED, JournalState.UNKNOWN]),
            )
            .order_by(SyncJournalEntry.id)
        ).all()
        for kind, target, error in failed:
            found.append(Attention(f"failed_{kind}", target, error or "failed"))
    # Powerwashes that will not settle by themselves.
    latest = (
        sa.select(DeviceCommand.device_id, sa.func.max(DeviceCommand.id).label("id"))
        .where(DeviceCommand.kind == POWERWASH)
        .group_by(DeviceCommand.device_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(Device.serial, DeviceCommand.state, DeviceCommand.result, DeviceCommand.error,
                  DeviceCommand.updated_at)
        .join(latest, latest.c.device_id == Device.id)
        .join(DeviceCommand, DeviceCommand.id == latest.c.id)
        .where(Device.state == DeviceState.IN_REFURBISHMENT)
        .order_by(Device.serial)
    ).all()  # fmt: skip
    for serial, state, result, error, updated in rows:
        if state in (CommandState.EXPIRED, CommandState.CANCELLED) or (
            state == CommandState.EXECUTED_BY_CLIENT and result != "SUCCESS"
        ):
            found.append(
                Attention(
                    "powerwash_failed",
                    serial,
                    f"device {serial}'s powerwash ended {state} {result or ''}: {error or ''}; "
                    f"ask for another with `fleetsync device reprovision {serial}`",
                )
            )
        elif state == CommandState.UNKNOWN and now - updated > timedelta(days=1):
            found.append(
                Attention(
                    "powerwash_unknown",
                    serial,
                    f"device {serial}'s powerwash was sent but Google's answer was lost, and the "
                    "device has not checked in since; if it was wiped another way, `fleetsync "
                    f"device ready {serial} --force --reason ...`",
                )
            )
    return found
