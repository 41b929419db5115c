"""What the business actions need to know about the programme: its regions, the account rules
and the ledger's key. Built once per process from the settings."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from functools import cached_property
from typing import Any

from fleetsync.clock import local_date
from fleetsync.domain.errors import InvalidInput
from fleetsync.domain.lifecycle import DeviceState, GoogleConfirmed, Lendability
from fleetsync.ledger.credentials import load_key
from fleetsync.settings import (
    LENDABLE_ORG_UNITS,
    AccountSettings,
    AgreementSettings,
    LoanSettings,
    OrgUnitSettings,
    Settings,
)

__all__ = ["Programme", "lendability_of", "not_in_google"]


class Programme:
    def __init__(
        self,
        *,
        regions: Sequence[str],
        accounts: AccountSettings,
        key: Callable[[], bytes],
        loans: LoanSettings | None = None,
        agreement: AgreementSettings | None = None,
        lendability: Lendability | None = None,
    ) -> None:
        # The settings checked both (username pattern, regions) when they were loaded.
        self.regions = tuple(regions)
        self.accounts = accounts
        self.loans = loans or LoanSettings()
        self.agreement = agreement or AgreementSettings()
        self._load_key = key
        #: Which devices Google agrees can be lent (checked at every checkout): by default the
        #: default org units, and ``loans.lend_unconfirmed``.
        self.lendability = lendability or lendability_of(
            OrgUnitSettings(), lend_unconfirmed=self.loans.lend_unconfirmed
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Programme:
        # The key is loaded (or created) on first use: `device list` never needs it.
        return cls(
            regions=settings.regions,
            accounts=settings.accounts,
            key=lambda: load_key(settings),
            loans=settings.loans,
            agreement=settings.agreement,
            lendability=lendability_of(
                settings.org_units, lend_unconfirmed=settings.loans.lend_unconfirmed
            ),
        )

    @cached_property
    def key(self) -> bytes:
        return self._load_key()

    @property
    def domain(self) -> str:
        return self.accounts.domain.strip().lower()

    def region(self, name: str) -> str:
        """The programme's spelling of a region given in any case; unknown → InvalidInput."""
        wanted = name.strip().casefold()
        for region in self.regions:
            if region.casefold() == wanted:
                return region
        raise InvalidInput(
            f"unknown region {name.strip()!r}; the programme's regions are "
            f"{', '.join(self.regions)} (set `regions` in the config)",
            params={"region": name.strip(), "regions": ", ".join(self.regions)},
            variant="region",
        )


def lendability_of(org_units: OrgUnitSettings, *, lend_unconfirmed: bool = False) -> Lendability:
    """The lending rule for these org units: confirmed ACTIVE in a state's org unit where an
    active device lives (not lost, not retired)."""
    return Lendability(
        managed_org_units=tuple(getattr(org_units, name) for name in LENDABLE_ORG_UNITS),
        lend_unconfirmed=lend_unconfirmed,
    )


#: The states of a device in circulation: Google should have it active.
_IN_CIRCULATION = frozenset(
    {DeviceState.SPARE, DeviceState.ON_LOAN, DeviceState.IN_REFURBISHMENT, DeviceState.ICT_TEST}
)


def not_in_google(rows: list[dict[str, Any]], lendability: Lendability) -> list[dict[str, Any]]:
    """The devices in circulation (rows of ``queries.device_rows``) that Google has not
    confirmed ACTIVE in one of fleetsync's org units, each with ``not_lendable``: why. A device
    no sync has seen yet is listed whatever ``lend_unconfirmed`` says."""
    strict = replace(lendability, lend_unconfirmed=False)
    listed = []
    for row in rows:
        if row["state"] not in _IN_CIRCULATION:
            continue
        checked = row["google_checked_at"]
        problem = strict.problem(
            GoogleConfirmed(
                status=row["google_status"],
                org_unit=row["google_org_unit"],
                checked=None if checked is None else local_date(datetime.fromisoformat(checked)),
            )
        )
        if problem is not None:
            listed.append(row | {"not_lendable": problem})
    return listed
