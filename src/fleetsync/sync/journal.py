"""The journal: every run, and every action of a run, its intent before Google is called and
its outcome after.

Only one reconciler runs at a time (``lock.py``), so a run still ``running`` when a new one
starts belongs to a process that died: it is marked ``crashed`` and its actions that have an
intent but no outcome ``unknown``. Nothing is repeated on the strength of the journal alone: the
next plan is made from what Google shows now, and a powerwash whose answer was lost is settled by
its own ledger record (``services.reconciled``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from fleetsync import clock
from fleetsync.domain.actions import Action
from fleetsync.domain.runs import JournalState, Outcome, RunStatus
from fleetsync.ledger import Ledger
from fleetsync.ledger.models import SyncJournalEntry, SyncRun
from fleetsync.services.reconciled import settle_interrupted_powerwashes

__all__ = ["Journal", "now"]

_CHUNK = 5000


def now() -> datetime:
    return clock.now()


class Journal:
    def __init__(self, ledger: Ledger, run_id: int) -> None:
        self.ledger = ledger
        self.run_id = run_id

    @classmethod
    def start(
        cls, ledger: Ledger, *, kind: str, actor: str, forced: bool, at: datetime | None = None
    ) -> Journal:
        """Open a run, after closing the books on any run a dead process left behind."""
        at = at or now()
        with ledger.transaction() as session:
            crashed = session.scalars(
                sa.select(SyncRun.id).where(SyncRun.status == RunStatus.RUNNING)
            ).all()
            if crashed:
                session.execute(
                    sa.update(SyncRun)
                    .where(SyncRun.id.in_(crashed))
                    .values(
                        status=RunStatus.CRASHED,
                        finished_at=at,
                        error="the process stopped before the run ended",
                    )
                )
                session.execute(
                    sa.update(SyncJournalEntry)
                    .where(
                        SyncJournalEntry.run_id.in_(crashed),
                        SyncJournalEntry.state == JournalState.INTENT,
                    )
                    .values(state=JournalState.UNKNOWN, finished_at=at)
                )
            settle_interrupted_powerwashes(session, now=at)
            run = SyncRun(
                kind=kind,
                actor=actor,
                started_at=at,
                status=RunStatus.RUNNING,
                dry_run=False,
                forced=forced,
            )
            session.add(run)
            session.flush()
            return cls(ledger, run.id)

    def intend(self, actions: Sequence[Action]) -> list[int]:
        """Write the intent of ``actions`` (one transaction); returns their journal ids."""
        if not actions:
            return []
        at = now()
        with self.ledger.transaction() as session:
            ids = session.scalars(
                sa.insert(SyncJournalEntry).returning(
                    SyncJournalEntry.id, sort_by_parameter_order=True
                ),
                [
                    {
                        "run_id": self.run_id,
                        "kind": action.kind,
                        "target": action.target[:255],
                        "reason": action.reason,
                        "detail": action.detail(),
                        "state": JournalState.INTENT,
                        "started_at": at,
                    }
                    for action in actions
                ],
            ).all()
        return list(ids)

    def outcome(self, entries: Sequence[int], state: Outcome, error: str | None = None) -> None:
        """Record the same outcome for ``entries`` (one transaction, however many)."""
        if not entries:
            return
        at = now()
        with self.ledger.transaction() as session:
            # Chunked: SQLite takes at most 32,766 parameters in one statement.
            for start in range(0, len(entries), _CHUNK):
                session.execute(
                    sa.update(SyncJournalEntry)
                    .where(SyncJournalEntry.id.in_(entries[start : start + _CHUNK]))
                    .values(state=JournalState.of(state), error=error, finished_at=at)
                )

    def finish(self, status: RunStatus, summary: dict[str, Any], error: str | None = None) -> None:
        with self.ledger.transaction() as session:
            session.execute(
                sa.update(SyncRun)
                .where(SyncRun.id == self.run_id)
                .values(status=status, summary=summary, error=error, finished_at=now())
            )
