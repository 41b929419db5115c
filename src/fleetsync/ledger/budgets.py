"""The safety budgets in the ledger: what was spent, what is held back, when a budget has room.

Any code about to issue a destructive action calls :func:`spend` in the transaction that records
its decision, before Google is called::

    with ledger.transaction() as session:
        granted = budgets.spend(session, Budget.DISABLES, [serial], limits=limits, now=at)
        if serial not in granted:
            ...  # held back: leave the work pending, say so
    ...  # call Google; if it refused the call, budgets.refund(session, granted.values())

:func:`spend` counts the windows and writes its rows under one lock (a PostgreSQL advisory lock
for the transaction; on SQLite every write transaction is ``BEGIN IMMEDIATE``, one at a time), so
two processes never both take the last unit of a budget.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fleetsync.domain.safety import DEVICE_BUDGETS, Budget, Limit, Spent
from fleetsync.ledger.models import BudgetHold, BudgetSpend, OutboxEntry

__all__ = [
    "DAY",
    "HOUR",
    "BudgetState",
    "budget_states",
    "free_at",
    "hold",
    "refund",
    "spend",
    "spent",
]

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
#: pg_advisory_xact_lock key for spending (the reconcile lock uses another).
_LOCK_KEY = 0x666C_6275  # "flbu"


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_KEY)))


def spent(
    session: Session, *, now: datetime, budgets: Collection[Budget] = ()
) -> dict[Budget, Spent]:
    """What each budget spent in the hour and the day ending ``now`` (forced actions are not
    counted). One indexed query."""
    in_hour = sa.func.sum(sa.case((BudgetSpend.at > now - HOUR, 1), else_=0))
    query = (
        sa.select(BudgetSpend.budget, in_hour, sa.func.count())
        .where(BudgetSpend.at > now - DAY, BudgetSpend.forced.is_(False))
        .group_by(BudgetSpend.budget)
    )
    # Naming the budgets lets the (budget, at) index reach the window's rows only, however
    # long the history.
    query = query.where(BudgetSpend.budget.in_(list(budgets or Budget)))
    found = {name: Spent(int(hour or 0), int(day)) for name, hour, day in session.execute(query)}
    return {budget: found.get(budget, Spent()) for budget in (budgets or Budget)}


def spend(
    session: Session,
    budget: Budget,
    targets: Sequence[str],
    *,
    limits: Mapping[Budget, Limit],
    now: datetime,
    forced: bool = False,
    run_id: int | None = None,
) -> dict[str, int]:
    """Take ``budget`` for ``targets`` (devices' serials or borrowers' ids), in their order: all
    of them when ``forced``, else as many as both windows have room for. Returns the granted
    targets and their rows (for :func:`refund`); the others are held back. The rows are part of
    ``session``'s transaction: commit them with the decision to act, before calling Google."""
    if not targets:
        return {}
    _lock(session)
    if forced:
        room = len(targets)
    else:
        room = spent(session, now=now, budgets=[budget])[budget].left(limits[budget])
    granted = list(dict.fromkeys(targets))[:room]
    rows = [
        BudgetSpend(budget=budget, target=target, at=now, forced=forced, run_id=run_id)
        for target in granted
    ]
    session.add_all(rows)
    session.flush()
    return {row.target: row.id for row in rows}


def refund(session: Session, rows: Iterable[int]) -> None:
    """Give back what was spent for actions Google refused (nothing happened to them)."""
    ids = list(rows)
    if ids:
        session.execute(sa.delete(BudgetSpend).where(BudgetSpend.id.in_(ids)))


def free_at(session: Session, budget: Budget, limit: Limit, *, now: datetime) -> datetime | None:
    """When ``budget`` has room for one more (``now`` if it has now); ``None`` when it never
    will (a budget of 0: only a person forcing it lets the action through)."""
    if limit.per_hour == 0 or limit.per_day == 0:
        return None
    times = list(
        session.scalars(
            sa.select(BudgetSpend.at)
            .where(
                BudgetSpend.budget == budget,
                BudgetSpend.forced.is_(False),
                BudgetSpend.at > now - DAY,
            )
            .order_by(BudgetSpend.at)
        )
    )
    hour = [at for at in times if at > now - HOUR]
    when = now
    # The oldest rows leave the window first: room for one when len - limit + 1 have left.
    if len(hour) >= limit.per_hour:
        when = max(when, hour[len(hour) - limit.per_hour] + HOUR)
    if len(times) >= limit.per_day:
        when = max(when, times[len(times) - limit.per_day] + DAY)
    return when


def hold(
    session: Session,
    held: Mapping[Budget, Sequence[str]],
    *,
    now: datetime,
    run_id: int | None,
    limits: Mapping[Budget, Limit],
    scope: tuple[Collection[str], Collection[str]] | None = None,
) -> None:
    """Record what a run held back, and forget what it no longer holds: every hold after a full
    run (``scope`` None), the holds of its devices and borrowers after a targeted one. The
    outbox entries of what is held wait until the budget has room; those of what is no longer
    held are drained again now."""
    existing = session.execute(sa.select(BudgetHold.budget, BudgetHold.target)).all()
    keep = {(budget, target) for budget, targets in held.items() for target in targets}
    if scope is None:
        gone = [(b, t) for b, t in existing if (b, t) not in keep]
    else:
        devices, borrowers = scope
        gone = [
            (b, t)
            for b, t in existing
            if (b, t) not in keep and t in (devices if b in DEVICE_BUDGETS else borrowers)
        ]
    for budget, target in gone:
        session.execute(
            sa.delete(BudgetHold).where(BudgetHold.budget == budget, BudgetHold.target == target)
        )
    have = set(existing)
    session.add_all(
        BudgetHold(budget=b, target=t, since=now, run_id=run_id) for b, t in sorted(keep - have)
    )
    # The outbox: what is held waits for the budget's room; what was released drains now.
    for budget, targets in held.items():
        if not targets:
            continue
        when = free_at(session, budget, limits[budget], now=now) or now + DAY
        session.execute(
            sa.update(OutboxEntry)
            .where(
                OutboxEntry.done_at.is_(None),
                OutboxEntry.entity_kind == _entity(budget),
                OutboxEntry.entity_key.in_(list(targets)),
            )
            .values(retry_after=max(when, now + timedelta(seconds=1)))
        )
    released: dict[str, list[str]] = defaultdict(list)
    for budget, target in gone:
        released[_entity(budget)].append(target)
    for kind, keys in released.items():
        session.execute(
            sa.update(OutboxEntry)
            .where(
                OutboxEntry.done_at.is_(None),
                OutboxEntry.entity_kind == kind,
                OutboxEntry.entity_key.in_(keys),
            )
            .values(retry_after=None)
        )


def _entity(budget: Budget) -> str:
    return "device" if budget in DEVICE_BUDGETS else "borrower"


@dataclass(frozen=True, slots=True)
class BudgetState:
    """One budget as ``fleetsync status`` and ``/metrics`` show it."""

    budget: Budget
    limit: Limit
    spent: Spent
    held: int
    held_since: datetime | None
    #: When the held work goes ahead by itself (``None``: nothing held, or only by force).
    free_at: datetime | None
    #: A few of the held devices' serials or borrowers' ids.
    examples: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "budget": str(self.budget),
            "per_hour": self.limit.per_hour,
            "per_day": self.limit.per_day,
            "spent_hour": self.spent.hour,
            "spent_day": self.spent.day,
            "held": self.held,
            "held_since": None if self.held_since is None else self.held_since.isoformat(),
            "free_at": None if self.free_at is None else self.free_at.isoformat(),
            "examples": list(self.examples),
            "release": f"fleetsync sync --force-budget {self.budget}" if self.held else None,
        }


def budget_states(
    session: Session, limits: Mapping[Budget, Limit], *, now: datetime
) -> list[BudgetState]:
    counted = spent(session, now=now)
    holds: dict[Budget, list[tuple[str, datetime]]] = defaultdict(list)
    for budget, target, since in session.execute(
        sa.select(BudgetHold.budget, BudgetHold.target, BudgetHold.since).order_by(
            BudgetHold.budget, BudgetHold.target
        )
    ):
        holds[budget].append((target, since))
    states = []
    for budget in Budget:
        held = holds.get(budget, [])
        states.append(
            BudgetState(
                budget=budget,
                limit=limits[budget],
                spent=counted[budget],
                held=len(held),
                held_since=min((since for _, since in held), default=None),
                free_at=free_at(session, budget, limits[budget], now=now) if held else None,
                examples=tuple(target for target, _ in held[:5]),
            )
        )
    return states
