"""What the reconciler writes back into the ledger (actor ``sync``): the Google ids it found, the
devices it adopted, the accounts it created or deleted, and the life of each powerwash.

A powerwash is issued at most once per request. The request row moves REQUESTED → ISSUING
(committed *before* Google is called) → PENDING with Google's command id. A crash or a lost
answer leaves it ISSUING / UNKNOWN: Google may have it, so it is never sent again blindly; the
command tracker settles it by watching the device re-enrol (a powerwash with forced re-enrolment
makes the device enrol itself again).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fleetsync.domain.lifecycle import AccountStatus, CommandState, Connectivity, DeviceState
from fleetsync.ledger import queries
from fleetsync.ledger.audit import record
from fleetsync.ledger.credentials import open_password
from fleetsync.ledger.erasure import erase_addresses, erased_address
from fleetsync.ledger.models import AuditEvent, Borrower, Device, DeviceCommand, PendingCredential
from fleetsync.services.accounts import seal_first_password
from fleetsync.services.programme import Programme

__all__ = [
    "SYNC",
    "Adoption",
    "account_created",
    "account_deleted",
    "account_deletion_refused",
    "adopt_devices",
    "begin_account_deletion",
    "begin_powerwash",
    "command_update",
    "first_password_for",
    "link_devices",
    "new_password_for",
    "password_set",
    "powerwash_issued",
    "powerwash_lost",
    "request_powerwash_again",
    "settle_interrupted_powerwashes",
]

SYNC = "sync"
#: Values per IN list: PostgreSQL takes at most 65,535 parameters in a statement, SQLite 32,766.
_IN_CHUNK = 10_000


@dataclass(frozen=True, slots=True)
class Adoption:
    serial: str
    device_id: str
    model: str
    region: str
    connectivity: Connectivity
    asset_tag: str | None


# ------------------------------------------------------------------------------- devices
def link_devices(session: Session, links: Sequence[tuple[str, str]], *, now: datetime) -> int:
    """Record Google's id for ledger devices found by exact serial: (serial, device id). The
    devices are read in one query per 10,000 serials, not one per serial."""
    serials = [serial for serial, _ in links]
    unlinked: dict[str, Device] = {}
    for start in range(0, len(serials), _IN_CHUNK):
        chunk = serials[start : start + _IN_CHUNK]
        unlinked.update(
            (device.serial, device)
            for device in session.scalars(
                sa.select(Device).where(Device.serial.in_(chunk), Device.google_device_id.is_(None))
            )
        )
    linked = 0
    for serial, device_id in links:
        # Popped: a serial listed twice is linked once, as when each was looked up in turn.
        device = unlinked.pop(serial, None)
        if device is None:
            continue
        device.google_device_id = device_id
        record(
            session,
            at=now,
            actor=SYNC,
            action="link",
            device_id=device.id,
            after={"google_device_id": device_id},
            reason="found in Google by its exact serial",
        )
        linked += 1
    return linked


def adopt_devices(session: Session, adopted: Sequence[Adoption], *, now: datetime) -> int:
    """Take devices Google has in fleetsync's org units into the ledger, as spare."""
    if not adopted:
        return 0
    serials = [a.serial for a in adopted]
    known: set[str] = set()
    for start in range(0, len(serials), _IN_CHUNK):
        chunk = serials[start : start + _IN_CHUNK]
        known.update(session.scalars(sa.select(Device.serial).where(Device.serial.in_(chunk))))
    fresh = [a for a in adopted if a.serial not in known]
    if not fresh:
        return 0
    spare = DeviceState.SPARE
    ids = session.scalars(
        sa.insert(Device).returning(Device.id, sort_by_parameter_order=True),
        [
            {
                "serial": a.serial,
                "asset_tag": a.asset_tag,
                "model": a.model,
                "region": a.region,
                "connectivity": a.connectivity,
                "google_device_id": a.device_id,
                "state": spare,
                "state_since": now,
                "created_at": now,
            }
            for a in fresh
        ],
    ).all()
    session.execute(
        sa.insert(AuditEvent),
        [
            {
                "at": now,
                "actor": SYNC,
                "action": "adopt",
                "device_id": device_id,
                "after": {
                    "state": spare,
                    "asset_tag": a.asset_tag,
                    "model": a.model,
                    "region": a.region,
                    "connectivity": a.connectivity,
                    "google_device_id": a.device_id,
                },
                "reason": "found in a managed org unit (sync --adopt)",
            }
            for device_id, a in zip(ids, fresh, strict=True)
        ],
    )
    return len(fresh)


# ------------------------------------------------------------------------------ accounts
def first_password_for(
    session: Session, borrower: str, *, programme: Programme, now: datetime
) -> str:
    """The password to create the borrower's account with: the first password sealed for their
    open loan (at checkout, or at an earlier attempt), or, when there is none (it expired
    uncollected, or the account is created again after the checkout reactivated it), a new one
    sealed for that loan the same way, for the loan's desk to collect."""
    person = queries.find_borrower(session, borrower, lock=True)
    assert person is not None
    assert person.account_email is not None
    loan = queries.open_loan_of_borrower(session, person.id)
    credential = session.scalars(
        sa.select(PendingCredential)
        .where(
            PendingCredential.borrower_id == person.id,
            PendingCredential.loan_id == (None if loan is None else loan.id),
            PendingCredential.account_email == person.account_email,
            PendingCredential.expires_at > now,
        )
        .order_by(PendingCredential.id.desc())
        .limit(1)
    ).first()
    if credential is not None:
        return open_password(programme.key, credential.sealed_password)
    return seal_first_password(session, person, loan=loan, programme=programme, now=now)


def account_created(
    session: Session, borrower: str, *, user_id: str, org_unit: str, now: datetime
) -> None:
    person = queries.find_borrower(session, borrower, lock=True)
    if person is None:
        return
    person.google_user_id = user_id
    person.google_suspended = False
    person.google_org_unit = org_unit
    person.google_checked_at = now
    session.execute(
        sa.update(PendingCredential)
        .where(PendingCredential.borrower_id == person.id, PendingCredential.used_at.is_(None))
        .values(used_at=now)
    )
    record(
        session,
        at=now,
        actor=SYNC,
        action="account_created",
        borrower_id=person.id,
        after={"account": AccountStatus.ACTIVE, "google_user_id": user_id},
    )


def new_password_for(
    session: Session, borrower: str, *, credential: int, programme: Programme, now: datetime
) -> str | None:
    """The new first password ``credential`` in clear, to set as the borrower's password in
    Google, if the ledger still wants that: the account is active, Google has it, and this is
    the password sealed for it that Google does not have yet. ``None``: a newer one replaced it
    (the next run sets that one), or it was set, or it expired."""
    person = queries.find_borrower(session, borrower, lock=True)
    if (
        person is None
        or person.account_status != AccountStatus.ACTIVE
        or person.google_user_id is None
    ):
        return None
    sealed = session.get(PendingCredential, credential)
    if (
        sealed is None
        or sealed.borrower_id != person.id
        or sealed.used_at is not None
        or sealed.expires_at <= now
        or sealed.account_email != person.account_email
    ):
        return None
    return open_password(programme.key, sealed.sealed_password)


def password_set(session: Session, borrower: str, *, credential: int, now: datetime) -> None:
    """Google has the new first password ``credential``: recorded, so it is never sent again."""
    person = queries.find_borrower(session, borrower, lock=True)
    sealed = session.get(PendingCredential, credential, with_for_update=True)
    if person is None or sealed is None or sealed.used_at is not None:
        return
    sealed.used_at = now
    person.google_checked_at = now
    record(
        session,
        at=now,
        actor=SYNC,
        action="first_password_set",
        borrower_id=person.id,
        loan_id=sealed.loan_id,
        reason="Google has the new first password the desk issued",
    )


def begin_account_deletion(session: Session, borrower: str, *, email: str, now: datetime) -> bool:
    """Record the intent of deleting the borrower's account, if the ledger still wants it gone:
    checked under the borrower's lock (a checkout takes the same one), so a checkout either
    happened before (and the deletion is not made) or meets the intent and is refused until the
    deletion is settled. The intent is committed before Google is called, like a powerwash's."""
    person = queries.find_borrower(session, borrower, lock=True)
    if (
        person is None
        or person.account_status != AccountStatus.SUSPENDED
        or person.account_email is None
        or person.account_email.lower() != email.lower()
        or queries.open_loan_of_borrower(session, person.id) is not None
    ):
        return False
    if person.account_deleting_since is None:
        person.account_deleting_since = now
        record(
            session,
            at=now,
            actor=SYNC,
            action="account_deletion_intent",
            borrower_id=person.id,
            before={"account": person.account_status},
            reason="the retention period after the return has passed; checkouts of this "
            "borrower wait until Google's answer is recorded",
        )
    return True


def account_deletion_refused(session: Session, borrower: str, *, now: datetime) -> None:
    """Google refused the deletion (it did not happen): the intent is withdrawn, the account stays
    suspended, and the next run tries again."""
    person = queries.find_borrower(session, borrower, lock=True)
    if person is None or person.account_deleting_since is None:
        return
    person.account_deleting_since = None
    record(
        session,
        at=now,
        actor=SYNC,
        action="account_deletion_withdrawn",
        borrower_id=person.id,
        # Google's message may quote the address: it is in the sync journal, never the audit.
        reason="Google refused the deletion (the sync journal has its answer)",
    )


def account_deleted(
    session: Session,
    borrower: str,
    *,
    now: datetime,
    reason: str = "the retention period after the return has passed",
) -> None:
    person = queries.find_borrower(session, borrower, lock=True)
    if person is None or person.account_status == AccountStatus.ACTIVE:
        return  # checked out again meanwhile: the new account is another matter
    before = person.account_status
    person.account_status = AccountStatus.DELETED
    person.account_status_since = now
    person.account_deleting_since = None
    person.google_user_id = None
    person.google_suspended = None
    person.google_org_unit = None
    person.google_checked_at = now
    if person.pseudonymised_at is not None and person.account_email is not None:
        # Kept only to find the account; it is gone now, from every table that copied it.
        erase_addresses(session, {person.account_email: erased_address(person.desk_id)})
        person.account_email = None
    record(
        session,
        at=now,
        actor=SYNC,
        action="account_deleted",
        borrower_id=person.id,
        before={"account": before},
        after={"account": AccountStatus.DELETED},
        reason=reason,
    )


# ----------------------------------------------------------------------------- powerwash
def begin_powerwash(session: Session, request_id: int, *, device_id: str, now: datetime) -> bool:
    """Mark a powerwash request ISSUING, if the ledger still wants it sent to this Google
    device: the request is REQUESTED and its device, Google's ``device_id``, in refurbishment."""
    command = session.get(DeviceCommand, request_id, with_for_update=True)
    if command is None or command.state != CommandState.REQUESTED:
        return False
    device = session.get(Device, command.device_id, with_for_update=True)
    if (
        device is None
        or device.state != DeviceState.IN_REFURBISHMENT
        or device.google_device_id != device_id
    ):
        return False
    command.state = CommandState.ISSUING
    command.issued_at = now
    command.updated_at = now
    return True


def powerwash_issued(session: Session, request_id: int, *, command_id: str, now: datetime) -> None:
    command = session.get(DeviceCommand, request_id, with_for_update=True)
    assert command is not None
    command.google_command_id = command_id
    command.state = CommandState.PENDING
    command.updated_at = now
    command.error = None
    record(
        session,
        at=now,
        actor=SYNC,
        action="powerwash_issued",
        device_id=command.device_id,
        loan_id=command.loan_id,
        after={"command": command_id, "state": CommandState.PENDING},
    )


def powerwash_lost(
    session: Session, request_id: int, *, error: str | None, now: datetime, sent: bool
) -> None:
    """Sending failed. ``sent=False``: Google refused it, so it may be sent again later;
    ``sent=True``: the outcome is unknown, so it is never sent again blindly."""
    command = session.get(DeviceCommand, request_id, with_for_update=True)
    assert command is not None
    if sent:
        _outcome_unknown(session, command, error=error, now=now)
        return
    command.state = CommandState.REQUESTED
    command.error = error
    command.updated_at = now


def _outcome_unknown(
    session: Session, command: DeviceCommand, *, error: str | None, now: datetime
) -> None:
    command.state = CommandState.UNKNOWN
    command.error = error
    command.updated_at = now
    record(
        session,
        at=now,
        actor=SYNC,
        action="powerwash_unknown",
        device_id=command.device_id,
        after={"state": CommandState.UNKNOWN},
        reason=error,
    )


def settle_interrupted_powerwashes(session: Session, *, now: datetime) -> int:
    """A powerwash left ISSUING by a process that died: its outcome is unknown."""
    stuck = session.scalars(
        sa.select(DeviceCommand).where(DeviceCommand.state == CommandState.ISSUING)
    ).all()
    for command in stuck:
        _outcome_unknown(
            session,
            command,
            error="the process sending it stopped before Google's answer was recorded",
            now=now,
        )
    return len(stuck)


def command_update(
    session: Session,
    command: DeviceCommand,
    *,
    state: CommandState,
    now: datetime,
    result: str | None = None,
    executed_at: datetime | None = None,
    error: str | None = None,
) -> bool:
    """Record what Google (or the device's re-enrolment) says of a command; True if it changed."""
    if command.state == state and command.result == result:
        return False
    before = command.state
    command.state = state
    command.result = result
    command.executed_at = executed_at
    command.error = error or None
    command.updated_at = now
    if state in (CommandState.EXECUTED_BY_CLIENT, CommandState.EXPIRED, CommandState.CANCELLED):
        record(
            session,
            at=now,
            actor=SYNC,
            action=f"{command.kind.lower()}_{state.lower()}",
            device_id=command.device_id,
            loan_id=command.loan_id,
            before={"state": before},
            after={"state": state, **({"result": result} if result else {})},
            reason=error or None,
        )
    return True


def request_powerwash_again(
    session: Session, command: DeviceCommand, *, now: datetime, why: str
) -> bool:
    """The device's powerwash expired or failed: ask for a new one, if the device still waits
    for it in refurbishment and this was its latest."""
    device = session.get(Device, command.device_id, with_for_update=True)
    latest = queries.latest_powerwash(session, command.device_id)
    if device is None or device.state != DeviceState.IN_REFURBISHMENT:
        return False
    if latest is None or latest.id != command.id:
        return False
    session.add(
        DeviceCommand(
            device_id=command.device_id,
            kind=command.kind,
            reason="reissue",
            loan_id=command.loan_id,
            state=CommandState.REQUESTED,
            requested_at=now,
            requested_by=SYNC,
            updated_at=now,
        )
    )
    record(
        session,
        at=now,
        actor=SYNC,
        action="powerwash_requested",
        device_id=command.device_id,
        after={"state": CommandState.REQUESTED},
        reason=why,
    )
    return True


def open_commands(session: Session) -> Iterable[tuple[DeviceCommand, Device]]:
    """Commands Google has (or may have) and that may still execute, with their device."""
    states = [
        CommandState.PENDING,
        CommandState.SENT_TO_CLIENT,
        CommandState.ACKED_BY_CLIENT,
        CommandState.UNKNOWN,
    ]
    rows = session.execute(
        sa.select(DeviceCommand, Device)
        .join(Device, Device.id == DeviceCommand.device_id)
        .where(DeviceCommand.state.in_(states))
        .order_by(DeviceCommand.id)
    ).all()
    return [(command, device) for command, device in rows]


def borrowers_by_desk_id(session: Session, desk_ids: Iterable[str]) -> dict[str, Borrower]:
    wanted = list(desk_ids)
    if not wanted:
        return {}
    found: dict[str, Borrower] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        found.update(
            (b.desk_id, b)
            for b in session.scalars(sa.select(Borrower).where(Borrower.desk_id.in_(chunk)))
        )
    return found
