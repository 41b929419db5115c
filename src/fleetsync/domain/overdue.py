"""Overdue escalation: which step a loan has come to, and which one is due next.

    reminder (N days before the agreed end) → notice (first overdue day) → lock (D days overdue)

Each step is optional (``[overdue]``) and taken at most once per loan: the ledger records a
step (committed) before it is carried out, so whatever restarts in between, a borrower never
gets the same reminder twice and a device is never locked twice. A lock is lifted when the loan
ends, is extended, or a person withdraws it; the device is then re-enabled.

Pure: the service layer hands in the loan's dates and the steps it already took.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

__all__ = [
    "LOCK",
    "LOCK_HELD",
    "NOTICE",
    "REMINDER",
    "Escalation",
    "EscalationState",
    "EscalationStep",
    "due_steps",
]


class EscalationStep(StrEnum):
    REMINDER = "reminder"
    NOTICE = "notice"
    LOCK = "lock"

    @property
    def is_message(self) -> bool:
        return self is not EscalationStep.LOCK


class EscalationState(StrEnum):
    # A message: recorded before it is sent; its outcome after. A "sending" step found by a
    # later run lost its answer: it becomes "unknown" and is never sent again.
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"
    # A lock: the ledger wants the device disabled (locking) until Google confirms it (locked);
    # lifted, it wants it active again (unlocking) until Google confirms that (unlocked).
    LOCKING = "locking"
    LOCKED = "locked"
    UNLOCKING = "unlocking"
    UNLOCKED = "unlocked"


REMINDER, NOTICE, LOCK = EscalationStep.REMINDER, EscalationStep.NOTICE, EscalationStep.LOCK
#: The lock states in which the ledger wants the device disabled.
LOCK_HELD = (EscalationState.LOCKING, EscalationState.LOCKED)


@dataclass(frozen=True, slots=True)
class Escalation:
    """The programme's steps (``[overdue]``); ``messages``: whether messages can be sent."""

    reminder_days_before: int | None = None
    notice_on_first_day: bool = False
    lock_after_days: int | None = None
    messages: bool = False

    @property
    def active(self) -> bool:
        return bool(
            (self.messages and (self.reminder_days_before or self.notice_on_first_day))
            or self.lock_after_days
        )

    @property
    def looks_ahead(self) -> int:
        """How many days before the agreed end a step can be due."""
        return self.reminder_days_before or 0 if self.messages else 0


def due_steps(
    *, agreed_end: date, today: date, escalation: Escalation, taken: Collection[EscalationStep]
) -> list[EscalationStep]:
    """The steps due for an open loan today that it has not taken yet, in order. A reminder
    is only sent before the loan is overdue (a late one would contradict the notice)."""
    overdue_days = (today - agreed_end).days
    due: list[EscalationStep] = []
    if (
        escalation.messages
        and escalation.reminder_days_before is not None
        and -escalation.reminder_days_before <= overdue_days <= 0
    ):
        due.append(EscalationStep.REMINDER)
    if escalation.messages and escalation.notice_on_first_day and overdue_days >= 1:
        due.append(EscalationStep.NOTICE)
    if escalation.lock_after_days is not None and overdue_days >= escalation.lock_after_days:
        due.append(EscalationStep.LOCK)
    return [step for step in due if step not in taken]
