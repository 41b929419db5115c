"""The fleet report: the devices now, by lifecycle state, region and connectivity, and how many
of them are lendable."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from fleetsync.domain.lifecycle import Connectivity, DeviceState
from fleetsync.ledger import figures

__all__ = ["CONNECTIVITIES", "LENDABLE", "STATES", "FleetReport", "FleetRow", "fleet_report"]

#: The order states are shown in: the loan cycle first, then the side paths.
STATES: tuple[DeviceState, ...] = (
    DeviceState.SPARE,
    DeviceState.ON_LOAN,
    DeviceState.IN_REFURBISHMENT,
    DeviceState.ICT_TEST,
    DeviceState.LOST,
    DeviceState.RETIRED,
)
#: The devices the programme can lend: those in the loan cycle. The ICT service's test pool,
#: lost and retired devices are not.
LENDABLE = frozenset({DeviceState.SPARE, DeviceState.ON_LOAN, DeviceState.IN_REFURBISHMENT})
CONNECTIVITIES: tuple[Connectivity, ...] = (Connectivity.WIFI, Connectivity.FOUR_G)


@dataclass(frozen=True, slots=True)
class FleetRow:
    #: ``None``: all regions (or all connectivities) together.
    region: str | None
    connectivity: Connectivity | None
    #: Devices in each of :data:`STATES`, in that order.
    counts: tuple[int, ...]
    #: Devices with an open repair (they are in refurbishment, on hold until repaired).
    in_repair: int = 0

    def count(self, state: DeviceState) -> int:
        return self.counts[STATES.index(state)]

    @property
    def lendable(self) -> int:
        """The loan cycle's devices, less those held in repair."""
        cycle = sum(n for state, n in zip(STATES, self.counts, strict=True) if state in LENDABLE)
        return cycle - self.in_repair

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True, slots=True)
class FleetReport:
    title: str
    generated_at: datetime
    regions: tuple[str, ...]
    rows: tuple[FleetRow, ...]

    def find(self, region: str | None, connectivity: Connectivity | None) -> FleetRow:
        for row in self.rows:
            if row.region == region and row.connectivity == connectivity:
                return row
        raise KeyError((region, connectivity))


def fleet_report(
    session: Session, *, regions: Sequence[str], title: str, now: datetime
) -> FleetReport:
    """Every device in the ledger now, by its current region (``regions``: the programme's; a
    region only the ledger still knows comes after them)."""
    counts = figures.devices_by_state(session)
    repairs = figures.devices_in_repair(session)
    extra = sorted({region for _, region, _ in counts} - set(regions))
    shown = (*regions, *extra)

    def row(region: str | None, connectivity: Connectivity | None) -> FleetRow:
        wanted_regions = shown if region is None else (region,)
        wanted_links = CONNECTIVITIES if connectivity is None else (connectivity,)
        return FleetRow(
            region,
            connectivity,
            tuple(
                sum(
                    counts.get((state.value, r, c.value), 0)
                    for r in wanted_regions
                    for c in wanted_links
                )
                for state in STATES
            ),
            in_repair=sum(
                repairs.get((r, c.value), 0) for r in wanted_regions for c in wanted_links
            ),
        )

    rows = [
        row(region, connectivity)
        for region in (*shown, None)
        for connectivity in (*CONNECTIVITIES, None)
    ]
    return FleetReport(title=title, generated_at=now, regions=shown, rows=tuple(rows))
