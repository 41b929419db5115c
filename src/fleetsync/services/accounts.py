"""Borrowers' Workspace accounts as the ledger wants them, and their first passwords.

At checkout a borrower without an account (or whose account was deleted) gets a new username and
a first password, sealed in ``pending_credentials``; a suspended account is reactivated. The
reconciler creates or unsuspends the account in Google; the desk collects the password once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fleetsync.domain.errors import AlreadyCollected, NotFound
from fleetsync.domain.lifecycle import AccountStatus
from fleetsync.domain.usernames import derive_username
from fleetsync.ledger import queries
from fleetsync.ledger.audit import record
from fleetsync.ledger.credentials import (
    generate_password,
    open_password,
    seal_password,
    username_digest,
)
from fleetsync.ledger.models import Borrower, IssuedUsername, PendingCredential
from fleetsync.services._effects import check_actor, now_or
from fleetsync.services.programme import Programme

__all__ = [
    "AccountChange",
    "FirstPassword",
    "collect_first_password",
    "provide_account",
    "purge_credentials",
]


@dataclass(frozen=True, slots=True)
class AccountChange:
    before: AccountStatus
    after: AccountStatus
    email: str | None
    new_account: bool
    #: The first password in clear, only when it is handed over right now (see ``hand_over``).
    first_password: str | None = None


@dataclass(frozen=True, slots=True)
class FirstPassword:
    borrower: str
    email: str
    password: str


def provide_account(
    session: Session,
    borrower: Borrower,
    *,
    programme: Programme,
    actor: str,
    now: datetime,
    hand_over: bool,
) -> AccountChange:
    """Make sure the borrower has an active account in the ledger's view.

    ``hand_over=True``: the caller shows the first password to the borrower now (the CLI's
    checkout); it is marked collected, so the desk cannot collect it a second time.
    """
    before = AccountStatus(borrower.account_status)
    if before is AccountStatus.ACTIVE:
        return AccountChange(before, before, borrower.account_email, new_account=False)
    borrower.account_status = AccountStatus.ACTIVE.value
    borrower.account_status_since = now
    if before is AccountStatus.SUSPENDED:
        return AccountChange(before, AccountStatus.ACTIVE, borrower.account_email, False)
    # No account yet, or the old one was deleted: a new address, never one issued before.
    domain = programme.domain
    local = derive_username(
        borrower.given_name or "",
        borrower.family_name or "",
        pattern=programme.accounts.username_pattern,
        is_taken=lambda candidate: _issued(session, programme, f"{candidate}@{domain}"),
    )
    email = f"{local}@{domain}"
    borrower.account_email = email
    session.add(IssuedUsername(digest=username_digest(programme.key, email), issued_at=now))
    password = generate_password(programme.accounts.password_length)
    session.add(
        PendingCredential(
            borrower_id=borrower.id,
            account_email=email,
            sealed_password=seal_password(programme.key, password),
            created_at=now,
            expires_at=now + timedelta(hours=programme.accounts.first_password_ttl_hours),
            collected_at=now if hand_over else None,
            collected_by=actor if hand_over else None,
        )
    )
    return AccountChange(
        before,
        AccountStatus.ACTIVE,
        email,
        new_account=True,
        first_password=password if hand_over else None,
    )


def _issued(session: Session, programme: Programme, email: str) -> bool:
    in_use = sa.select(Borrower.id).where(Borrower.account_email == email).exists()
    if session.scalar(sa.select(in_use)):
        return True
    digest = username_digest(programme.key, email)
    return session.get(IssuedUsername, digest) is not None


def collect_first_password(
    session: Session,
    *,
    borrower: str,
    programme: Programme,
    actor: str,
    now: datetime | None = None,
) -> FirstPassword:
    """Hand the borrower's first password over, once. Later calls are refused."""
    check_actor(actor)
    now = now_or(now)
    person = queries.find_borrower(session, borrower, lock=True)
    if person is None:
        raise NotFound(f"there is no borrower {borrower.strip()} in the ledger")
    credential = session.scalars(
        sa.select(PendingCredential)
        .where(PendingCredential.borrower_id == person.id, PendingCredential.expires_at > now)
        .order_by(PendingCredential.id.desc())
        .limit(1)
    ).first()
    if credential is None:
        raise NotFound(
            f"no first password is waiting for borrower {person.desk_id}: their account "
            "existed already, or the password expired uncollected; reset it in the Google Admin "
            "console"
        )
    if credential.collected_at is not None:
        raise AlreadyCollected(
            f"the first password of borrower {person.desk_id} was already collected on "
            f"{credential.collected_at.isoformat(timespec='minutes')} by "
            f"{credential.collected_by}; reset it in the Google Admin console if it was lost"
        )
    credential.collected_at = now
    credential.collected_by = actor
    record(
        session,
        at=now,
        actor=actor,
        action="first_password_collected",
        borrower_id=person.id,
    )
    return FirstPassword(
        borrower=person.desk_id,
        email=credential.account_email,
        password=open_password(programme.key, credential.sealed_password),
    )


def purge_credentials(session: Session, *, now: datetime | None = None) -> int:
    """Delete first passwords that expired, or that were both used and collected."""
    now = now_or(now)
    result = session.execute(
        sa.delete(PendingCredential).where(
            sa.or_(
                PendingCredential.expires_at <= now,
                sa.and_(
                    PendingCredential.used_at.is_not(None),
                    PendingCredential.collected_at.is_not(None),
                ),
            )
        )
    )
    return int(getattr(result, "rowcount", 0))
