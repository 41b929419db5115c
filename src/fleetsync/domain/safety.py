"""Safety limits: a run that would suspend, delete, powerwash, disable or deprovision more than
the configured share or number is refused whole, unless a person forces it.

Like octoDNS's update threshold, a share only means something for a population of some size: for
fewer than :data:`SHARE_APPLIES_FROM` devices (or accounts) only the absolute limit applies, or a
three-device pilot could never return a device.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fleetsync.domain.actions import Action, Budget

__all__ = [
    "DEVICE_LIMITS",
    "SHARE_APPLIES_FROM",
    "Breach",
    "Budget",
    "Limit",
    "Safety",
    "check_limits",
]

SHARE_APPLIES_FROM = 20
#: The limits whose population is the managed devices (the others count accounts).
DEVICE_LIMITS = frozenset({Budget.POWERWASHES, Budget.DISABLES, Budget.DEPROVISIONS})


@dataclass(frozen=True, slots=True)
class Limit:
    max_count: int
    max_share: float

    def allowed(self, population: int) -> int:
        if population < SHARE_APPLIES_FROM:
            return self.max_count
        return min(self.max_count, math.floor(self.max_share * population))


@dataclass(frozen=True, slots=True)
class Breach:
    limit: Budget
    planned: int
    allowed: int
    population: int

    def describe(self) -> str:
        what = "devices" if self.limit in DEVICE_LIMITS else "accounts"
        return (
            f"{self.limit}: {self.planned} planned, at most {self.allowed} allowed per run "
            f"({self.population} managed {what})"
        )


@dataclass(frozen=True, slots=True)
class Safety:
    counts: tuple[tuple[Budget, int], ...]
    breaches: tuple[Breach, ...]
    forced: bool

    @property
    def refused(self) -> bool:
        return bool(self.breaches) and not self.forced

    def describe(self) -> str:
        if not self.breaches:
            return "within the safety limits"
        listed = "; ".join(b.describe() for b in self.breaches)
        if self.forced:
            return f"over the safety limits, forced: {listed}"
        return (
            f"refused: the plan exceeds the safety limits ({listed}); check it with "
            "`fleetsync plan`, then run again with --force if it is right"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "counts": {str(name): count for name, count in self.counts},
            "refused": self.refused,
            "forced": self.forced,
            "breaches": [
                {
                    "limit": str(b.limit),
                    "planned": b.planned,
                    "allowed": b.allowed,
                    "population": b.population,
                }
                for b in self.breaches
            ],
        }


def check_limits(
    actions: Iterable[Action],
    limits: Mapping[Budget, Limit],
    *,
    devices: int,
    accounts: int,
    forced: bool,
) -> Safety:
    counts: dict[Budget, int] = defaultdict(int)
    for action in actions:
        if action.limit is not None:
            counts[action.limit] += action.weight
    breaches = []
    for name, planned in sorted(counts.items()):
        # Every budget has a limit (the settings hold one per Budget): a missing one is a
        # programming error, never a limit silently switched off.
        limit = limits[name]
        population = devices if name in DEVICE_LIMITS else accounts
        allowed = limit.allowed(population)
        if planned > allowed:
            breaches.append(Breach(name, planned, allowed, population))
    return Safety(counts=tuple(sorted(counts.items())), breaches=tuple(breaches), forced=forced)
