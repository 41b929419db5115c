"""What every request handler shares: the settings, the open ledger, the programme, who may call,
the webhooks' committer and the outbox worker. Built once by :func:`fleetsync.api.create_app`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import Request

from fleetsync import clock
from fleetsync.api.committer import Committer
from fleetsync.api.outbox import OutboxWorker
from fleetsync.api.signing import DeskKeys
from fleetsync.api.tokens import Tokens
from fleetsync.domain.progress import Targets, policy_org_units
from fleetsync.ledger import Ledger
from fleetsync.services import Programme
from fleetsync.settings import Settings

__all__ = ["ApiState", "api_state"]


@dataclass(frozen=True)
class ApiState:
    settings: Settings
    ledger: Ledger
    programme: Programme
    desks: DeskKeys
    tokens: Tokens
    #: ``None`` when nothing drains the outbox in this process (the daemon does it).
    worker: OutboxWorker | None
    #: Applies the webhooks' deliveries (:mod:`fleetsync.api.committer`).
    committer: Committer

    def now(self) -> datetime:
        return clock.now()

    def targets(self, region: str) -> Targets:
        """Where the settings want a loan of this region's borrower to end up in Google."""
        units = self.settings.org_units
        return Targets(
            on_loan=units.on_loan,
            spare=units.spare,
            policy_org_units=policy_org_units(
                (p.org_unit for p in self.settings.policies),
                region=region,
                students=units.students,
                on_loan=units.on_loan,
            ),
        )


async def api_state(request: Request) -> ApiState:
    """The app's shared state, as a FastAPI dependency (``async``: FastAPI would run a plain
    function in its thread pool, a thread hop per request for an attribute read)."""
    state: ApiState = request.app.state.fleetsync
    return state
