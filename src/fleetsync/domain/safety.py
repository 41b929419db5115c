"""Safety budgets: how many devices fleetsync may powerwash, disable or deprovision, and how many
accounts it may suspend or delete, in any hour and in any day, whatever runs and processes ask.

A budget is a sliding window over what was already spent (the ledger counts it, across runs and
processes) and what a plan wants now. The planner spends what is left, in the plan's order, and
holds the rest back: a held action is simply not in the plan, the run's other actions go ahead,
and the held work is planned again once the window has room (or a person forces that budget).
An action a person forced is not counted against the window: it was a decision, not routine.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetsync.domain.actions import (
    Action,
    Budget,
    DeprovisionDevices,
    DisableDevices,
    TargetDevice,
)

__all__ = [
    "DEVICE_BUDGETS",
    "Budget",
    "Held",
    "Limit",
    "Safety",
    "Spent",
    "check_budgets",
    "held_keys",
]

#: The budgets that count devices (the others count accounts).
DEVICE_BUDGETS = frozenset({Budget.POWERWASHES, Budget.DISABLES, Budget.DEPROVISIONS})


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``per_hour`` in any 60 minutes and ``per_day`` in any 24 hours."""

    per_hour: int
    per_day: int


@dataclass(frozen=True, slots=True)
class Spent:
    """What the ledger counted in the windows ending now (forced actions not included)."""

    hour: int = 0
    day: int = 0

    def left(self, limit: Limit) -> int:
        return max(0, min(limit.per_hour - self.hour, limit.per_day - self.day))


@dataclass(frozen=True, slots=True)
class Held:
    """What a budget held back: the devices' serials or the borrowers' ids."""

    budget: Budget
    targets: tuple[str, ...]
    planned: int
    allowed: int
    limit: Limit
    spent: Spent

    def describe(self) -> str:
        what = "devices" if self.budget in DEVICE_BUDGETS else "accounts"
        return (
            f"{self.budget}: {len(self.targets)} of {self.planned} {what} held back (budget "
            f"{self.limit.per_hour} per hour, {self.limit.per_day} per day; already spent: "
            f"{self.spent.hour} this hour, {self.spent.day} today)"
        )


@dataclass(frozen=True, slots=True)
class Safety:
    counts: tuple[tuple[Budget, int], ...] = ()
    held: tuple[Held, ...] = ()
    forced: frozenset[Budget] = frozenset()
    #: The actions held back (not in the plan).
    held_actions: tuple[Action, ...] = field(default=(), compare=False)

    @property
    def holds(self) -> bool:
        return bool(self.held)

    def describe(self) -> str:
        forced = f" (forced: {', '.join(sorted(self.forced))})" if self.forced else ""
        if not self.held:
            return f"within the safety budgets{forced}"
        listed = "; ".join(h.describe() for h in self.held)
        names = " ".join(f"--force-budget {h.budget}" for h in self.held)
        return (
            f"held back by the safety budgets: {listed}. The rest of the plan goes ahead; the "
            f"held actions follow once the window has room, or now with "
            f"`fleetsync sync {names}` after checking `fleetsync plan`{forced}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "counts": {str(name): count for name, count in self.counts},
            "forced": sorted(str(b) for b in self.forced),
            "held": [
                {
                    "budget": str(h.budget),
                    "held": len(h.targets),
                    "planned": h.planned,
                    "allowed": h.allowed,
                    "per_hour": h.limit.per_hour,
                    "per_day": h.limit.per_day,
                    "spent_hour": h.spent.hour,
                    "spent_day": h.spent.day,
                    "targets": list(h.targets[:20]),
                }
                for h in self.held
            ],
        }


def _targets(action: Action) -> tuple[str, ...]:
    """Who an action counts for: devices by serial, accounts by the borrower's id."""
    devices = getattr(action, "devices", None)
    if devices is not None:
        return tuple(ref.serial for ref in devices)
    device = getattr(action, "device", None)
    if isinstance(device, TargetDevice):
        return (device.serial,)
    return (str(getattr(action, "borrower", action.target)),)


def check_budgets(
    actions: Iterable[Action],
    limits: Mapping[Budget, Limit],
    *,
    spent: Mapping[Budget, Spent],
    forced: frozenset[Budget] = frozenset(),
) -> tuple[tuple[Action, ...], Safety]:
    """Spend what each budget has left on ``actions``, in their order: returns the actions that
    go ahead (a group of devices cut to what is left) and the verdict, with what is held."""
    kept: list[Action] = []
    held: dict[Budget, list[Action]] = defaultdict(list)
    counts: dict[Budget, int] = defaultdict(int)
    left: dict[Budget, int] = {}
    for action in actions:
        budget = action.limit
        if budget is None:
            kept.append(action)
            continue
        counts[budget] += action.weight
        if budget in forced:
            kept.append(action)
            continue
        # Every budget has a limit (the settings hold one per Budget): a missing one is a
        # programming error, never a budget silently switched off.
        limit = limits[budget]
        room = left.setdefault(budget, spent.get(budget, Spent()).left(limit))
        if action.weight <= room:
            kept.append(action)
            left[budget] = room - action.weight
        elif room > 0 and isinstance(action, DisableDevices | DeprovisionDevices):
            # A group of devices: the first ones go ahead, the others wait.
            kept.append(dataclasses.replace(action, devices=action.devices[:room]))
            held[budget].append(dataclasses.replace(action, devices=action.devices[room:]))
            left[budget] = 0
        else:
            held[budget].append(action)
            left[budget] = room
    verdict = Safety(
        counts=tuple(sorted(counts.items())),
        held=tuple(
            Held(
                budget=budget,
                targets=tuple(t for action in actions_held for t in _targets(action)),
                planned=counts[budget],
                allowed=spent.get(budget, Spent()).left(limits[budget]),
                limit=limits[budget],
                spent=spent.get(budget, Spent()),
            )
            for budget, actions_held in sorted(held.items())
        ),
        forced=forced,
        held_actions=tuple(a for budget in sorted(held) for a in held[budget]),
    )
    return tuple(kept), verdict


def held_keys(safety: Safety) -> set[tuple[str, str]]:
    """The outbox keys of what was held: ``("device", serial)`` or ``("borrower", id)``."""
    return {
        ("device" if h.budget in DEVICE_BUDGETS else "borrower", target)
        for h in safety.held
        for target in h.targets
    }
