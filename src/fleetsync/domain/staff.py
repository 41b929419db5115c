"""The desk web app's staff: their roles, what each role may do, and when sign-in is throttled.

=============  ==========================================================================
role           may
=============  ==========================================================================
``clerk``      look up, lend, take back, extend, report lost, hand over first passwords
``technician`` a clerk's work, and mark ready, re-provision, found, retire (repairs)
``admin``      a technician's work, and staff accounts; sees the loans of every desk
=============  ==========================================================================

Every member of staff belongs to one desk; the audit trail names them ``desk:<desk>:<person>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from fleetsync.domain.actors import ADMIN, DESK_NAME
from fleetsync.domain.errors import InvalidInput

__all__ = [
    "MAX_USERNAME",
    "Permission",
    "SignInThrottle",
    "StaffRole",
    "check_desk_name",
    "check_username",
    "desk_actor",
    "may",
]

MAX_USERNAME = 32
_USERNAME = re.compile(rf"[a-z0-9][a-z0-9._-]{{0,{MAX_USERNAME - 1}}}")


class StaffRole(StrEnum):
    CLERK = "clerk"
    TECHNICIAN = "technician"
    ADMIN = "admin"


class Permission(StrEnum):
    LOOK_UP = "look_up"
    LEND = "lend"
    TAKE_BACK = "take_back"
    FIRST_PASSWORD = "first_password"  # noqa: S105 - a permission's name, not a password
    DEVICE_WORK = "device_work"
    STAFF = "staff"
    ALL_DESKS = "all_desks"


_CLERK = frozenset(
    {Permission.LOOK_UP, Permission.LEND, Permission.TAKE_BACK, Permission.FIRST_PASSWORD}
)
_ALLOWED: dict[StaffRole, frozenset[Permission]] = {
    StaffRole.CLERK: _CLERK,
    StaffRole.TECHNICIAN: _CLERK | {Permission.DEVICE_WORK},
    StaffRole.ADMIN: _CLERK | {Permission.DEVICE_WORK, Permission.STAFF, Permission.ALL_DESKS},
}


def may(role: StaffRole, permission: Permission) -> bool:
    return permission in _ALLOWED[role]


def check_username(value: str) -> str:
    """A staff username: lower case letters, digits and . _ - (it appears in the audit trail)."""
    name = value.strip().lower()
    if not _USERNAME.fullmatch(name):
        raise InvalidInput(
            f"staff username {value!r} must be 1 to {MAX_USERNAME} lower-case letters, digits, "
            "'.', '_' or '-', starting with a letter or digit (e.g. ann.peeters)",
            params={"max": MAX_USERNAME},
            variant="username",
        )
    return name


def check_desk_name(value: str) -> str:
    name = value.strip()
    if not DESK_NAME.fullmatch(name) or name == ADMIN:
        raise InvalidInput(
            f"desk {value!r} is not a desk name: lower-case letters, digits and . _ -, at most "
            f"64, not {ADMIN!r} (the name of its [api.desks.<desk>] table, e.g. antwerpen)",
            params={"desk": name[:64], "admin": ADMIN},
            variant="desk_name",
        )
    return name


def desk_actor(desk: str, username: str) -> str:
    """How the audit trail names what this member of staff does."""
    return f"desk:{desk}:{username}"


@dataclass(frozen=True, slots=True)
class SignInThrottle:
    """After ``attempts`` failed sign-ins in a row, an account refuses every sign-in (the right
    password too) until ``lockout`` has passed since the last failure."""

    attempts: int
    lockout: timedelta

    def locked_until(self, failures: int, last_failure: datetime | None) -> datetime | None:
        if failures < self.attempts or last_failure is None:
            return None
        return last_failure + self.lockout

    def is_locked(self, failures: int, last_failure: datetime | None, now: datetime) -> bool:
        until = self.locked_until(failures, last_failure)
        return until is not None and now < until
