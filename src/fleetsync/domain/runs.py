"""What a reconcile run, and each action of it, comes to: the sync journal's words.

They are stored as they are spelt here (``sync_runs.status``, ``sync_journal.state``) and shown
as they are in the JSON of ``fleetsync sync`` and ``fleetsync status``: StrEnums, so a value is
its text wherever it goes, and a misspelt one is an error, never a state nobody checks for.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["JournalState", "Outcome", "RunStatus"]


class Outcome(StrEnum):
    """What became of one action (the journal entry's state once Google answered)."""

    DONE = "done"
    #: Not sent: the ledger no longer wanted it, a safety budget held it back, or the run stopped.
    SKIPPED = "skipped"
    FAILED = "failed"
    #: Google's answer was lost: settled by a later run, never repeated blindly.
    UNKNOWN = "unknown"


class JournalState(StrEnum):
    """A journal entry's state (``sync_journal.state``): its intent, written before Google is
    called, until Google's answer is recorded as one of the :class:`Outcome` words."""

    INTENT = "intent"
    DONE = Outcome.DONE.value
    SKIPPED = Outcome.SKIPPED.value
    FAILED = Outcome.FAILED.value
    UNKNOWN = Outcome.UNKNOWN.value

    @classmethod
    def of(cls, outcome: Outcome) -> JournalState:
        """The state that records ``outcome``."""
        return cls(outcome.value)


class RunStatus(StrEnum):
    """What became of a run (``sync_runs.status``)."""

    RUNNING = "running"
    #: A dry run: planned, nothing changed.
    PLANNED = "planned"
    CONVERGED = "converged"
    #: Some actions failed or their outcome is unknown (listed in the journal).
    FAILED = "failed"
    #: Told to stop (SIGTERM): the action in flight was finished, the rest not begun.
    STOPPED = "stopped"
    #: Found ``running`` by a later run: its process died.
    CRASHED = "crashed"
    #: Refused by the safety limits (runs of earlier versions; budgets hold back instead now).
    REFUSED = "refused"
