"""What the business actions need to know about the programme: its regions, the account rules
and the ledger's key. Built once per process from the settings."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property

from fleetsync.domain.errors import InvalidInput
from fleetsync.ledger.credentials import load_key
from fleetsync.settings import AccountSettings, AgreementSettings, LoanSettings, Settings

__all__ = ["Programme"]


class Programme:
    def __init__(
        self,
        *,
        regions: Sequence[str],
        accounts: AccountSettings,
        key: Callable[[], bytes],
        loans: LoanSettings | None = None,
        agreement: AgreementSettings | None = None,
    ) -> None:
        # The settings checked both (username pattern, regions) when they were loaded.
        self.regions = tuple(regions)
        self.accounts = accounts
        self.loans = loans or LoanSettings()
        self.agreement = agreement or AgreementSettings()
        self._load_key = key

    @classmethod
    def from_settings(cls, settings: Settings) -> Programme:
        # The key is loaded (or created) on first use: `device list` never needs it.
        return cls(
            regions=settings.regions,
            accounts=settings.accounts,
            key=lambda: load_key(settings),
            loans=settings.loans,
            agreement=settings.agreement,
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
            f"{', '.join(self.regions)} (set `regions` in the config)"
        )
