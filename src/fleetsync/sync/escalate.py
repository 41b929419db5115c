"""Overdue escalation, carried out: record the steps due (the ledger, once per loan), send the
messages through Gmail as the programme's mailbox, settle locks from what Google last confirmed,
and tell the desk (signed webhook events), each step after its record is committed.

A message is recorded ``sending`` and committed before Gmail is called: a crash or a lost
answer leaves it ``sending``, the next run marks it ``unknown``, and it is never sent twice. A
lock is a ledger wish: the reconciler disables the device (a planned, journaled action within
the ``disables`` safety limit); this run marks it ``locked`` once Google shows it disabled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from fleetsync import clock
from fleetsync.domain.contacts import Language
from fleetsync.domain.overdue import Escalation, EscalationStep
from fleetsync.google.errors import GoogleError
from fleetsync.ledger import Ledger
from fleetsync.log import get_logger
from fleetsync.services.overdue import (
    OutgoingMessage,
    mark_notified,
    pending_desk_events,
    record_sent,
    settle_locks,
    take_due_steps,
)
from fleetsync.services.programme import Programme
from fleetsync.settings import ConfigError, Settings

__all__ = ["EscalationReport", "Sender", "Templates", "escalate", "escalation_of"]

log = get_logger(__name__)


class Sender(Protocol):
    def send(self, *, to: str, subject: str, text: str, language: str) -> str: ...


@dataclass
class EscalationReport:
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    settled: int = 0
    notified: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "failed": self.failed,
            "locks_settled": self.settled,
            "desk_events": self.notified,
        }


def escalation_of(settings: Settings, *, messages: bool) -> Escalation:
    overdue = settings.overdue
    return Escalation(
        reminder_days_before=overdue.reminder_days_before,
        notice_on_first_day=overdue.notice_on_first_day,
        lock_after_days=overdue.lock_after_days,
        messages=messages,
    )


class Templates:
    """``<step>.<language>.txt``: a ``Subject:`` line, a blank line, the text. From the
    configured directory, else the ones fleetsync ships."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    def _text(self, name: str) -> str:
        if self.directory is not None:
            path = self.directory / name
            try:
                return path.read_text(encoding="utf-8")
            except FileNotFoundError:
                raise ConfigError(
                    f"no message template {path}; write it ([messages] templates_dir), or "
                    "unset templates_dir to use the templates fleetsync ships"
                ) from None
        return (resources.files("fleetsync.sync") / "templates" / name).read_text("utf-8")

    def render(
        self, step: EscalationStep, language: Language, values: dict[str, str]
    ) -> tuple[str, str]:
        name = f"{step.value}.{language.value}.txt"
        head, _, body = self._text(name).partition("\n\n")
        if not head.startswith("Subject:"):
            raise ConfigError(f"message template {name} must start with a 'Subject:' line")
        try:
            subject = head.removeprefix("Subject:").strip().format_map(values)
            text = body.format_map(values)
        except (KeyError, ValueError) as exc:
            raise ConfigError(
                f"message template {name} uses {exc}; it may use "
                + ", ".join("{" + key + "}" for key in sorted(values))
            ) from None
        return subject, text


def escalate(
    ledger: Ledger,
    settings: Settings,
    *,
    programme: Programme,
    mailbox: Sender | None,
    notify: Callable[[dict[str, Any]], bool] | None = None,
    today: date | None = None,
    now: datetime | None = None,
) -> EscalationReport:
    """One escalation run: safe to repeat at any moment (every step is taken once)."""
    now = now or clock.now()
    today = today or clock.local_date(now)
    report = EscalationReport()
    escalation = escalation_of(settings, messages=mailbox is not None)
    with ledger.transaction() as session:
        outgoing = take_due_steps(
            session, escalation=escalation, today=today, key=programme.key, now=now
        )
    templates = Templates(settings.messages.templates_dir)
    for message in outgoing:
        assert mailbox is not None  # no mailbox: no message steps are due
        _send(ledger, mailbox, templates, message, report)
    with ledger.transaction() as session:
        report.settled = len(settle_locks(session, now=now))
    if notify is not None:
        with ledger.read() as session:
            events = pending_desk_events(session)
        for event in events:
            if not notify({"type": event.type, "timestamp": now.isoformat(), "data": event.data}):
                break  # the desk is unreachable: the rest waits for the next run, in order
            with ledger.transaction() as session:
                mark_notified(session, event.row_id, event.state)
            report.notified += 1
    if report.sent or report.failed or report.settled or report.notified:
        log.info("overdue.escalated", **report.to_json())
    return report


def _send(
    ledger: Ledger,
    mailbox: Sender,
    templates: Templates,
    message: OutgoingMessage,
    report: EscalationReport,
) -> None:
    try:
        subject, text = templates.render(message.step, message.language, message.values)
        message_id = mailbox.send(
            to=message.to, subject=subject, text=text, language=message.language.value
        )
    except (GoogleError, ConfigError) as exc:
        # Never the address or the text in the log: the loan names the borrower to the desk.
        log.error(
            "overdue.message_failed", loan=message.loan, step=message.step.value, error=str(exc)
        )
        with ledger.transaction() as session:
            record_sent(session, message.row_id, error=str(exc))
        report.failed.append(message.loan)
        return
    with ledger.transaction() as session:
        record_sent(session, message.row_id, message_id=message_id)
    report.sent.append(message.loan)
