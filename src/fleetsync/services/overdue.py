"""Overdue escalation in the ledger: the steps each loan takes (reminder, notice, lock), each
recorded once, before it is carried out; the lock lifted when the loan ends, is extended or a
person withdraws it; and what Google confirmed settling a lock. The messages themselves and the
desk's webhook events are sent by :mod:`fleetsync.sync.escalate`, outside these transactions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fleetsync.domain.contacts import Language
from fleetsync.domain.desired import DeviceStatus
from fleetsync.domain.errors import Refused
from fleetsync.domain.lifecycle import AccountStatus
from fleetsync.domain.overdue import LOCK, Escalation, EscalationState, EscalationStep, due_steps
from fleetsync.ledger.audit import record, wake
from fleetsync.ledger.models import Borrower, Device, Loan, LoanEscalation, loan_ref
from fleetsync.ledger.queries import loan_number
from fleetsync.services._effects import check_actor, clean_text, lift_lock, now_or
from fleetsync.services.contacts import loan_contacts
from fleetsync.services.desks import loan_for

__all__ = [
    "DeskEvent",
    "OutgoingMessage",
    "escalation_steps",
    "lift_lock",
    "mark_notified",
    "pending_desk_events",
    "record_sent",
    "settle_locks",
    "take_due_steps",
    "unlock",
    "with_escalation",
]

SYNC = "sync"
#: The webhook event each settled state is told to the desk as.
EVENT_OF = {
    EscalationState.SENT: "loan.reminder_sent",
    EscalationState.LOCKED: "loan.device_locked",
    EscalationState.UNLOCKED: "loan.device_unlocked",
}


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message recorded (``sending``) and not sent yet: what the template needs."""

    row_id: int
    step: EscalationStep
    loan: str
    to: str
    language: Language
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class DeskEvent:
    row_id: int
    state: EscalationState
    type: str
    data: dict[str, str | int | None]


def take_due_steps(
    session: Session,
    *,
    escalation: Escalation,
    today: date,
    key: bytes,
    now: datetime | None = None,
) -> list[OutgoingMessage]:
    """Record every step due today (once per loan, committed with the caller's transaction):
    a message to send, or a lock for the reconciler. Returns the messages to send now. A
    message left ``sending`` by an earlier run lost its outcome: it becomes ``unknown`` and is
    never sent again."""
    now = now_or(now)
    session.execute(
        sa.update(LoanEscalation)
        .where(LoanEscalation.state == EscalationState.SENDING)
        .values(state=EscalationState.UNKNOWN, done_at=now, detail="its outcome was lost")
    )
    if not escalation.active:
        return []
    horizon = today + timedelta(days=escalation.looks_ahead)
    loans = session.execute(
        sa.select(Loan, Device, Borrower)
        .join(Device, Device.id == Loan.device_id)
        .join(Borrower, Borrower.id == Loan.borrower_id)
        .where(Loan.returned_at.is_(None), Loan.agreed_end <= horizon)
        .order_by(Loan.id)
        .with_for_update(of=Loan)
    ).all()
    taken: dict[int, set[EscalationStep]] = {}
    for loan_id, step in session.execute(
        sa.select(LoanEscalation.loan_id, LoanEscalation.step).where(
            LoanEscalation.loan_id.in_([loan.id for loan, _, _ in loans])
        )
    ):
        taken.setdefault(loan_id, set()).add(step)
    contacts = loan_contacts(session, [loan.id for loan, _, _ in loans], key=key)
    outgoing: list[OutgoingMessage] = []
    for loan, device, person in loans:
        for step in due_steps(
            agreed_end=loan.agreed_end,
            today=today,
            escalation=escalation,
            taken=taken.get(loan.id, ()),
        ):
            row = _record_step(session, loan, device, person, step, today=today, now=now)
            if not step.is_message or row.state != EscalationState.SENDING:
                continue
            assert person.account_email is not None
            contact = contacts.get(loan.id)
            outgoing.append(
                OutgoingMessage(
                    row_id=row.id,
                    step=step,
                    loan=loan.ref,
                    to=person.account_email,
                    language=contact.language if contact else Language.NL,
                    values={
                        "given_name": person.given_name or "",
                        "loan": loan.ref,
                        "serial": device.serial,
                        "asset_tag": device.asset_tag or device.serial,
                        "agreed_end": loan.agreed_end.isoformat(),
                        "days_overdue": str(max((today - loan.agreed_end).days, 0)),
                    },
                )
            )
    return outgoing


def _record_step(
    session: Session,
    loan: Loan,
    device: Device,
    person: Borrower,
    step: EscalationStep,
    *,
    today: date,
    now: datetime,
) -> LoanEscalation:
    detail = None
    if step is EscalationStep.LOCK:
        state = EscalationState.LOCKING
    elif person.account_email and person.account_status == AccountStatus.ACTIVE:
        state = EscalationState.SENDING
    else:
        # Recorded all the same: the step is not taken again once the account exists.
        state, detail = EscalationState.FAILED, "the borrower has no active Workspace mailbox"
    row = LoanEscalation(
        loan_id=loan.id,
        step=step,
        state=state,
        created_at=now,
        done_at=now if state is EscalationState.FAILED else None,
        detail=detail,
    )
    session.add(row)
    session.flush()
    record(
        session,
        at=now,
        actor=SYNC,
        action=f"overdue_{step}",
        device_id=device.id,
        borrower_id=person.id,
        loan_id=loan.id,
        after={
            "step": step,
            "state": state,
            "agreed_end": loan.agreed_end.isoformat(),
            "days_overdue": (today - loan.agreed_end).days,
        },
        reason=detail,
    )
    if step is EscalationStep.LOCK:
        wake(session, "device", device.serial, "overdue_lock", at=now)
    return row


def record_sent(
    session: Session,
    row_id: int,
    *,
    message_id: str | None = None,
    error: str | None = None,
    now: datetime | None = None,
) -> None:
    """The outcome of a message recorded ``sending``: sent (Gmail's id) or failed."""
    now = now_or(now)
    row = session.get(LoanEscalation, row_id)
    if row is None or row.state != EscalationState.SENDING:
        return
    loan = session.get(Loan, row.loan_id)
    assert loan is not None
    row.state = EscalationState.SENT if error is None else EscalationState.FAILED
    row.done_at = now
    row.detail = error if error is not None else f"gmail message {message_id}"
    record(
        session,
        at=now,
        actor=SYNC,
        action=f"overdue_{row.step}",
        device_id=loan.device_id,
        borrower_id=loan.borrower_id,
        loan_id=loan.id,
        before={"state": EscalationState.SENDING},
        after={"state": row.state},
        reason=error,
    )


def unlock(
    session: Session,
    *,
    loan: str,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> str:
    """A person withdraws an overdue loan's lock: its device is re-enabled, and the loan is
    never locked again. Returns the loan's reference."""
    check_actor(actor)
    now = now_or(now)
    found = loan_for(session, loan, actor=actor)
    why = clean_text(reason, "reason")
    if not lift_lock(
        session, found, why=f"withdrawn: {why}" if why else "withdrawn", actor=actor, now=now
    ):
        raise Refused(
            f"loan {found.ref} has no lock to withdraw (its device is not locked, or the lock "
            "was lifted already); see `fleetsync loan show " + found.ref + "`"
        )
    return found.ref


def settle_locks(session: Session, *, now: datetime | None = None) -> list[int]:
    """Locks whose device Google now shows as the ledger wants it: ``locking`` → ``locked``
    (disabled), ``unlocking`` → ``unlocked`` (active again). Returns the rows settled."""
    now = now_or(now)
    rows = session.execute(
        sa.select(LoanEscalation, Loan, Device.google_status)
        .join(Loan, Loan.id == LoanEscalation.loan_id)
        .join(Device, Device.id == Loan.device_id)
        .where(
            LoanEscalation.step == LOCK,
            LoanEscalation.state.in_([EscalationState.LOCKING, EscalationState.UNLOCKING]),
        )
    ).all()
    settled = []
    for row, loan, status in rows:
        if row.state == EscalationState.LOCKING and status == DeviceStatus.DISABLED:
            new = EscalationState.LOCKED
        elif row.state == EscalationState.UNLOCKING and status == DeviceStatus.ACTIVE:
            new = EscalationState.UNLOCKED
        else:
            continue
        before, row.state, row.done_at = row.state, new, now
        record(
            session,
            at=now,
            actor=SYNC,
            action="overdue_lock" if new is EscalationState.LOCKED else "overdue_unlock",
            device_id=loan.device_id,
            borrower_id=loan.borrower_id,
            loan_id=loan.id,
            before={"lock": before},
            after={"lock": new},
            reason="confirmed by Google",
        )
        settled.append(row.id)
    return settled


def pending_desk_events(session: Session) -> list[DeskEvent]:
    """Settled steps the desk has not been told about yet (oldest first)."""
    rows = session.execute(
        sa.select(LoanEscalation, Loan.desk, Borrower.desk_id, Device.serial, Device.asset_tag)
        .join(Loan, Loan.id == LoanEscalation.loan_id)
        .join(Borrower, Borrower.id == Loan.borrower_id)
        .join(Device, Device.id == Loan.device_id)
        .where(
            LoanEscalation.state.in_(list(EVENT_OF)),
            sa.or_(
                LoanEscalation.notified_state.is_(None),
                LoanEscalation.notified_state != LoanEscalation.state,
            ),
        )
        .order_by(LoanEscalation.id)
    ).all()
    return [
        DeskEvent(
            row_id=row.id,
            state=row.state,
            type=EVENT_OF[row.state],
            data={
                "loan": loan_ref(row.loan_id),
                "desk": desk,
                "borrower": borrower,
                "serial": serial,
                "asset_tag": asset_tag,
                "step": row.step,
                "at": (row.done_at or row.created_at).isoformat(),
            },
        )
        for row, desk, borrower, serial, asset_tag in rows
    ]


def mark_notified(session: Session, row_id: int, state: EscalationState) -> None:
    row = session.get(LoanEscalation, row_id)
    if row is not None:
        row.notified_state = state


def with_escalation(
    session: Session, rows: list[dict[str, Any]], *, key: bytes | None = None
) -> list[dict[str, Any]]:
    """Loan rows (``queries.loan_rows``) with ``escalation``: the step each has reached; with
    the ledger's ``key``, also ``contact``: the borrower's contact details (for the desk's
    overdue list: never logged)."""
    ids = [loan_number(row["loan"]) for row in rows]
    steps = escalation_steps(session, ids)
    contacts = {} if key is None else loan_contacts(session, ids, key=key)
    return [
        row
        | {"escalation": steps.get(loan_id)}
        | (
            {}
            if key is None
            else {"contact": None if loan_id not in contacts else contacts[loan_id].to_json()}
        )
        for row, loan_id in zip(rows, ids, strict=True)
    ]


def escalation_steps(session: Session, loan_ids: Iterable[int]) -> dict[int, str]:
    """How far each loan's escalation has come, for people: ``reminder sent``, ``notice
    sent``, ``locked``, ``locking``, ``unlocked``... (the latest step taken)."""
    wanted = list(loan_ids)
    order = {EscalationStep.REMINDER: 0, EscalationStep.NOTICE: 1, EscalationStep.LOCK: 2}
    found: dict[int, tuple[int, str]] = {}
    for start in range(0, len(wanted), 500):
        for loan_id, step, state in session.execute(
            sa.select(LoanEscalation.loan_id, LoanEscalation.step, LoanEscalation.state).where(
                LoanEscalation.loan_id.in_(wanted[start : start + 500])
            )
        ):
            rank = order[step]
            text = state if step == LOCK else f"{step} {state}"
            if loan_id not in found or found[loan_id][0] < rank:
                found[loan_id] = (rank, text)
    return {loan_id: text for loan_id, (_, text) in found.items()}
