"""Borrowers' Workspace accounts as the ledger wants them, and their first passwords.

At checkout a borrower without an account (or whose account was deleted) gets a new username and
a first password, sealed in ``pending_credentials`` for that loan; a suspended account is
reactivated. The reconciler creates or unsuspends the account in Google. The password belongs to
the loan it was sealed for: that loan's desk (or a technician, or the admin) collects it once.

A borrower who lost it gets a new one (:func:`issue_first_password`): sealed for the same loan the
same way, shown once on the slip the same way, and set as the account's password by the next
reconcile (``used_at`` records that Google has it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fleetsync.domain.errors import (
    AccountBeingDeleted,
    AlreadyCollected,
    LoanEnded,
    NotFound,
    Refused,
)
from fleetsync.domain.lifecycle import AccountStatus
from fleetsync.domain.usernames import derive_username
from fleetsync.ledger import queries
from fleetsync.ledger.audit import record, wake
from fleetsync.ledger.credentials import (
    generate_password,
    open_password,
    seal_password,
    username_digest,
)
from fleetsync.ledger.models import Borrower, IssuedUsername, Loan, PendingCredential
from fleetsync.services._effects import check_actor, now_or
from fleetsync.services.desks import loan_for
from fleetsync.services.programme import Programme

__all__ = [
    "AccountChange",
    "FirstPassword",
    "NewFirstPassword",
    "collect_first_password",
    "issue_first_password",
    "provide_account",
    "purge_credentials",
    "seal_first_password",
]


@dataclass(frozen=True, slots=True)
class AccountChange:
    before: AccountStatus
    after: AccountStatus
    email: str | None
    #: A new address, whose first password waits sealed for the loan.
    new_account: bool


@dataclass(frozen=True, slots=True)
class FirstPassword:
    loan: str
    borrower: str
    email: str
    password: str


@dataclass(frozen=True, slots=True)
class NewFirstPassword:
    """A new first password was sealed for the loan: it waits for collection (the slip, or
    ``loan first-password``) and for the next reconcile to set it in Google."""

    loan: str
    borrower: str
    email: str
    issued_at: datetime


def provide_account(
    session: Session,
    borrower: Borrower,
    *,
    loan: Loan,
    programme: Programme,
    now: datetime,
) -> AccountChange:
    """Make sure the borrower has an active account in the ledger's view. A new account's first
    password is sealed for ``loan`` (the checkout's), for its desk to collect."""
    before = borrower.account_status
    if before == AccountStatus.ACTIVE:
        return AccountChange(before, before, borrower.account_email, new_account=False)
    borrower.account_status = AccountStatus.ACTIVE
    borrower.account_status_since = now
    if before == AccountStatus.SUSPENDED:
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
    seal_first_password(session, borrower, loan=loan, programme=programme, now=now)
    return AccountChange(before, AccountStatus.ACTIVE, email, new_account=True)


def seal_first_password(
    session: Session,
    borrower: Borrower,
    *,
    loan: Loan | None,
    programme: Programme,
    now: datetime,
) -> str:
    """A new first password for the borrower's account, sealed for ``loan`` (``None``: the
    borrower has no open loan; only a technician or the admin collects it then). Returns it in
    clear for the caller that creates the account with it."""
    assert borrower.account_email is not None
    password = generate_password(programme.accounts.password_length)
    session.add(
        PendingCredential(
            borrower_id=borrower.id,
            loan_id=None if loan is None else loan.id,
            account_email=borrower.account_email,
            sealed_password=seal_password(programme.key, password),
            created_at=now,
            expires_at=now + timedelta(hours=programme.accounts.first_password_ttl_hours),
        )
    )
    return password


def _issued(session: Session, programme: Programme, email: str) -> bool:
    in_use = sa.select(Borrower.id).where(Borrower.account_email == email).exists()
    if session.scalar(sa.select(in_use)):
        return True
    digest = username_digest(programme.key, email)
    return session.get(IssuedUsername, digest) is not None


def collect_first_password(
    session: Session,
    *,
    loan: str,
    programme: Programme,
    actor: str,
    now: datetime | None = None,
    all_desks: bool = False,
) -> FirstPassword:
    """Hand over the first password sealed for ``loan`` (``L-88``), once, while the loan is open.

    Only the loan's desk collects it (or a technician, the admin, or with ``all_desks`` a desk
    admin): for another desk the loan does not exist (:class:`NotFound`). Later calls are
    refused (:class:`AlreadyCollected`), as is a loan that has ended (:class:`LoanEnded`). The
    caller shows the password before it commits: rolled back, the password still waits.
    """
    check_actor(actor)
    now = now_or(now)
    found = loan_for(session, loan, actor=actor, all_desks=all_desks)
    if found.returned_at is not None:
        raise LoanEnded(
            f"loan {found.ref} has ended; a first password is collected while the loan is open",
            params={"loan": found.ref},
        )
    person = found.borrower
    credential = session.scalars(
        sa.select(PendingCredential)
        .where(PendingCredential.loan_id == found.id, PendingCredential.expires_at > now)
        .order_by(PendingCredential.id.desc())
        .limit(1)
        .with_for_update()
    ).first()
    if credential is None:
        raise NotFound(
            f"no first password is waiting for loan {found.ref}: the borrower's account existed "
            "already, or the password expired uncollected; reset it in the Google Admin console",
            params={"loan": found.ref},
            variant="no_password",
        )
    if credential.collected_at is not None:
        raise AlreadyCollected(
            f"the first password of loan {found.ref} was already collected on "
            f"{credential.collected_at.isoformat(timespec='minutes')} by "
            f"{credential.collected_by}; reset it in the Google Admin console if it was lost",
            params={"loan": found.ref, "at": credential.collected_at},
        )
    credential.collected_at = now
    credential.collected_by = actor
    record(
        session,
        at=now,
        actor=actor,
        action="first_password_collected",
        borrower_id=person.id,
        loan_id=found.id,
    )
    return FirstPassword(
        loan=found.ref,
        borrower=person.desk_id,
        email=credential.account_email,
        password=open_password(programme.key, credential.sealed_password),
    )


def issue_first_password(
    session: Session,
    *,
    loan: str,
    programme: Programme,
    actor: str,
    now: datetime | None = None,
    all_desks: bool = False,
) -> NewFirstPassword:
    """Seal a new first password for the account of ``loan``'s borrower, who lost theirs.

    It replaces every password still sealed for the borrower: the slip shows the new one once
    (:func:`collect_first_password`, as for the checkout's), and the next reconcile sets it as the
    account's password in Google (with "change at next sign-in" as for a new account). Only the
    loan's desk issues it (or a technician, the admin, or with ``all_desks`` a desk admin);
    another desk's loan is
    :class:`NotFound`. Refused while the loan has ended (the account is suspended), while the
    account is being deleted, and before Google has the account (the checkout's first password,
    still on the slip, is the one it is created with).
    """
    check_actor(actor)
    now = now_or(now)
    found = loan_for(session, loan, actor=actor, all_desks=all_desks)
    # The borrower's lock: the reconciler's write-backs (account created, password set) take it.
    person = queries.find_borrower(session, found.borrower.desk_id, lock=True)
    assert person is not None
    if found.returned_at is not None:
        raise LoanEnded(
            f"loan {found.ref} has ended and borrower {person.desk_id}'s account is suspended; a "
            "new first password is issued for the account of an open loan (lend a device again "
            "first)",
            params={"loan": found.ref, "borrower": person.desk_id},
            variant="new_password",
        )
    if person.account_deleting_since is not None:
        raise AccountBeingDeleted(
            f"borrower {person.desk_id}'s Workspace account is being deleted right now; no "
            "password was issued: lend a device again in a few minutes, and the borrower gets a "
            "new account with its own first password",
            params={"borrower": person.desk_id},
            variant="new_password",
        )
    if person.account_status != AccountStatus.ACTIVE or person.account_email is None:
        raise Refused(
            f"borrower {person.desk_id} has no active Workspace account "
            f"({person.account_status}); no password was issued",
            params={"borrower": person.desk_id},
            variant="no_account",
        )
    if person.google_user_id is None:
        raise Refused(
            f"borrower {person.desk_id}'s account {person.account_email} is not in Google yet: "
            "the next reconcile creates it with the first password on the slip of loan "
            f"{found.ref}; issue a new one once the account exists (the loan's progress shows it)",
            params={"borrower": person.desk_id, "loan": found.ref},
            variant="not_in_google",
        )
    session.execute(sa.delete(PendingCredential).where(PendingCredential.borrower_id == person.id))
    seal_first_password(session, person, loan=found, programme=programme, now=now)
    record(
        session,
        at=now,
        actor=actor,
        action="first_password_issued",
        borrower_id=person.id,
        loan_id=found.id,
        reason="a new first password for the borrower, who lost theirs; Google gets it at the "
        "next reconcile",
    )
    wake(session, "borrower", person.desk_id, "first_password_issued", at=now)
    return NewFirstPassword(
        loan=found.ref, borrower=person.desk_id, email=person.account_email, issued_at=now
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
