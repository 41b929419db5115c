"""Staff accounts of the desk web app: added, listed, disabled and given a new password by the
command line (``fleetsync staff``), signed in and out by the desk's pages.

Passwords are hashed with argon2id (argon2-cffi); a new or reset password is generated here and
returned once, for the person who hands it over. Failed sign-ins in a row are counted on the
account: past the limit it refuses every sign-in until the lockout has passed
(:class:`~fleetsync.domain.staff.SignInThrottle`). A password reset, disabling and a sign-out
raise the account's session epoch, which voids every session cookie issued before.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from fleetsync.domain.errors import InvalidInput, NotFound, Refused
from fleetsync.domain.staff import (
    SignInThrottle,
    StaffRole,
    check_desk_name,
    check_username,
    desk_actor,
)
from fleetsync.ledger.audit import record
from fleetsync.ledger.models import StaffAccount
from fleetsync.services._effects import check_actor, clean_text, now_or

__all__ = [
    "NewPassword",
    "SignInRefused",
    "StaffMember",
    "add_staff",
    "disable_staff",
    "list_staff",
    "reset_staff_password",
    "sign_in",
    "sign_out",
    "staff_member",
]

#: Long enough to be safe, short enough to read out once: 16 characters of base64url.
_PASSWORD_BYTES = 12
_MIN_PASSWORD = 12
_hasher = PasswordHasher()
#: Verified against when the username is unknown, so both answers take as long.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(_PASSWORD_BYTES))


class SignInRefused(Refused):
    """Wrong username or password, a disabled account, or too many failures: the page says only
    that the sign-in failed (and, when throttled, when to try again)."""

    code = "sign_in_refused"

    def __init__(self, message: str, *, throttled: bool = False) -> None:
        super().__init__(message)
        self.throttled = throttled


@dataclass(frozen=True, slots=True)
class StaffMember:
    id: int
    username: str
    display_name: str
    desk: str
    role: StaffRole
    disabled: bool
    session_epoch: int
    created_at: datetime
    last_sign_in_at: datetime | None

    @property
    def actor(self) -> str:
        return desk_actor(self.desk, self.username)


@dataclass(frozen=True, slots=True)
class NewPassword:
    username: str
    password: str


def _member(account: StaffAccount) -> StaffMember:
    return StaffMember(
        id=account.id,
        username=account.username,
        display_name=account.display_name,
        desk=account.desk,
        role=account.role,
        disabled=account.disabled_at is not None,
        session_epoch=account.session_epoch,
        created_at=account.created_at,
        last_sign_in_at=account.last_sign_in_at,
    )


def _password(given: str | None) -> str:
    if given is None:
        return secrets.token_urlsafe(_PASSWORD_BYTES)
    if len(given) < _MIN_PASSWORD:
        raise InvalidInput(
            f"a staff password needs at least {_MIN_PASSWORD} characters; leave it out and "
            "fleetsync generates one",
            params={"min": _MIN_PASSWORD},
            variant="password_short",
        )
    return given


def _find(session: Session, username: str, *, lock: bool = False) -> StaffAccount:
    name = check_username(username)
    stmt = sa.select(StaffAccount).where(StaffAccount.username == name)
    account = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if account is None:
        raise NotFound(
            f"no staff account {name!r}; `fleetsync staff list` shows them",
            params={"username": name},
            variant="staff",
        )
    return account


def add_staff(
    session: Session,
    *,
    username: str,
    display_name: str,
    desk: str,
    role: StaffRole,
    actor: str,
    password: str | None = None,
    now: datetime | None = None,
) -> NewPassword:
    """A new staff account; returns its password (``password``, or a generated one)."""
    check_actor(actor)
    now = now_or(now)
    name = check_username(username)
    desk_name = check_desk_name(desk)
    shown = clean_text(display_name, "display name") or name
    secret = _password(password)
    taken = session.scalar(sa.select(StaffAccount.id).where(StaffAccount.username == name))
    if taken is not None:
        raise Refused(
            f"staff account {name!r} exists already; `fleetsync staff reset-password {name}` "
            "gives it a new password",
            params={"username": name},
            variant="staff_exists",
        )
    session.add(
        StaffAccount(
            username=name,
            display_name=shown[:120],
            desk=desk_name,
            role=role,
            password_hash=_hasher.hash(secret),
            created_at=now,
            password_set_at=now,
            session_epoch=0,
            failed_sign_ins=0,
        )
    )
    record(
        session,
        at=now,
        actor=actor,
        action="staff_added",
        after={"staff": name, "desk": desk_name, "role": role},
    )
    return NewPassword(name, secret)


def list_staff(session: Session, *, desk: str | None = None) -> list[StaffMember]:
    stmt = sa.select(StaffAccount).order_by(StaffAccount.desk, StaffAccount.username)
    if desk is not None:
        stmt = stmt.where(StaffAccount.desk == check_desk_name(desk))
    return [_member(a) for a in session.scalars(stmt)]


def staff_member(session: Session, staff_id: int) -> StaffMember | None:
    account = session.get(StaffAccount, staff_id)
    return None if account is None else _member(account)


def disable_staff(
    session: Session, *, username: str, actor: str, now: datetime | None = None
) -> StaffMember:
    """The account signs in no more; its open sessions end at their next request."""
    check_actor(actor)
    now = now_or(now)
    account = _find(session, username, lock=True)
    if account.disabled_at is None:
        account.disabled_at = now
        account.session_epoch += 1
        record(
            session, at=now, actor=actor, action="staff_disabled", after={"staff": account.username}
        )
    return _member(account)


def reset_staff_password(
    session: Session,
    *,
    username: str,
    actor: str,
    password: str | None = None,
    now: datetime | None = None,
) -> NewPassword:
    """A new password (given or generated), the throttle cleared, a disabled account enabled
    again, every open session ended."""
    check_actor(actor)
    now = now_or(now)
    account = _find(session, username, lock=True)
    secret = _password(password)
    account.password_hash = _hasher.hash(secret)
    account.password_set_at = now
    account.session_epoch += 1
    account.failed_sign_ins = 0
    account.last_failed_sign_in_at = None
    enabled = account.disabled_at is not None
    account.disabled_at = None
    record(
        session,
        at=now,
        actor=actor,
        action="staff_password_reset",
        after={"staff": account.username} | ({"enabled": True} if enabled else {}),
    )
    return NewPassword(account.username, secret)


def sign_in(
    session: Session,
    *,
    username: str,
    password: str,
    throttle: SignInThrottle,
    now: datetime | None = None,
) -> StaffMember:
    """The staff member whose password this is. Raises :class:`SignInRefused` for anything
    else, and counts the failure on the account (the caller commits even then)."""
    now = now_or(now)
    refused = SignInRefused(
        "the username or the password is not right, or the account is disabled; an admin "
        "resets it with `fleetsync staff reset-password`"
    )
    try:
        name = check_username(username)
    except InvalidInput:
        _hasher_verify(_DUMMY_HASH, password)
        raise refused from None
    account = session.scalars(
        sa.select(StaffAccount).where(StaffAccount.username == name).with_for_update()
    ).first()
    if account is None:
        _hasher_verify(_DUMMY_HASH, password)
        raise refused
    if throttle.is_locked(account.failed_sign_ins, account.last_failed_sign_in_at, now):
        until = throttle.locked_until(account.failed_sign_ins, account.last_failed_sign_in_at)
        assert until is not None
        minutes = max(1, int((until - now).total_seconds() + 59) // 60)
        raise SignInRefused(
            f"too many failed sign-ins for this account: try again in {minutes} minutes, or ask "
            "an admin to reset the password",
            throttled=True,
        )
    if not _hasher_verify(account.password_hash, password) or account.disabled_at is not None:
        account.failed_sign_ins += 1
        account.last_failed_sign_in_at = now
        raise refused
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    account.failed_sign_ins = 0
    account.last_failed_sign_in_at = None
    account.last_sign_in_at = now
    return _member(account)


def sign_out(session: Session, *, staff_id: int) -> None:
    """End every session of this staff member (the epoch in their cookies is now old)."""
    account = session.get(StaffAccount, staff_id, with_for_update=True)
    if account is not None:
        account.session_epoch += 1


def _hasher_verify(encoded: str, password: str) -> bool:
    try:
        return _hasher.verify(encoded, password)
    except (VerificationError, InvalidHashError):
        return False
