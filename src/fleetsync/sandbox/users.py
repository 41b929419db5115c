"""Workspace users: the directory and its indexes (its methods are in ``methods/users.py``).

A user is kept by id, found by primary address, alias or id, and indexed per org unit by address.
The password is kept only as a salted hash. Deleted users are kept apart, to be undeleted within
Google's window (20 days by default).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fleetsync.sandbox.errors import ApiError, not_found
from fleetsync.sandbox.membership import OrgUnitMembers

if TYPE_CHECKING:
    from fleetsync.sandbox.orgunits import OrgUnit

__all__ = ["User", "UserDirectory"]


@dataclass
class User:
    user_id: str
    data: dict[str, Any]
    ou_id: str
    created: float
    password_hash: str = ""
    is_admin: bool = False
    deleted: float | None = None

    @property
    def email(self) -> str:
        return str(self.data["primaryEmail"]).lower()


class UserDirectory:
    def __init__(self) -> None:
        self.by_id: dict[str, User] = {}
        self._by_email: dict[str, str] = {}
        self.deleted: dict[str, User] = {}
        self.members: OrgUnitMembers[str] = OrgUnitMembers()

    def __len__(self) -> int:
        return len(self.by_id)

    def find(self, key: str) -> User | None:
        """By primary address, alias or id (Google's ``userKey``)."""
        user_id = self._by_email.get(key.lower(), key)
        return self.by_id.get(user_id)

    def get(self, key: str) -> User:
        user = self.find(key)
        if user is None:
            raise not_found("userKey")
        return user

    def add(self, user: User) -> None:
        if user.email in self._by_email:
            raise ApiError(409, "duplicate", "Entity already exists.")
        self.by_id[user.user_id] = user
        self._by_email[user.email] = user.user_id
        for alias in user.data.get("aliases", ()):
            self._by_email[str(alias).lower()] = user.user_id
        self.members.add(user.ou_id, user.email)

    def add_many(self, users: Iterable[User]) -> int:
        """Bulk load (seeding): indexes filled in one go, emails sorted per org unit."""
        added: dict[str, list[str]] = {}
        count = 0
        for user in users:
            if user.email in self._by_email:
                raise ApiError(409, "duplicate", f"{user.email} already exists")
            self.by_id[user.user_id] = user
            self._by_email[user.email] = user.user_id
            added.setdefault(user.ou_id, []).append(user.email)
            count += 1
        for ou_id, emails in added.items():
            for email in sorted(emails):
                self.members.add(ou_id, email)
        return count

    def rename(self, user: User, new_email: str) -> None:
        old = user.email
        if (
            new_email.lower() in self._by_email
            and self._by_email[new_email.lower()] != user.user_id
        ):
            raise ApiError(409, "duplicate", "Entity already exists.")
        self.members.remove(user.ou_id, old)
        user.data["primaryEmail"] = new_email
        user.data["aliases"] = [*user.data.get("aliases", ()), old]
        self._by_email[new_email.lower()] = user.user_id
        self.members.add(user.ou_id, user.email)

    def move(self, user: User, ou: OrgUnit) -> None:
        self.members.remove(user.ou_id, user.email)
        user.ou_id = ou.ou_id
        user.data["orgUnitPath"] = ou.path
        self.members.add(ou.ou_id, user.email)

    def delete(self, user: User, now: float) -> None:
        self.members.remove(user.ou_id, user.email)
        for key in [k for k, v in self._by_email.items() if v == user.user_id]:
            del self._by_email[key]
        del self.by_id[user.user_id]
        user.deleted = now
        self.deleted[user.user_id] = user

    def undelete(self, user: User, ou: OrgUnit) -> None:
        del self.deleted[user.user_id]
        user.deleted = None
        user.ou_id = ou.ou_id
        user.data["orgUnitPath"] = ou.path
        self.add(user)

    def refresh_paths(self, ou_ids: Iterable[str], paths: dict[str, str]) -> None:
        for ou_id in ou_ids:
            for email in self.members.keys(ou_id):
                user = self.find(email)
                if user is not None:
                    user.data["orgUnitPath"] = paths[ou_id]

    def iter_after(self, ou_ids: list[str], cursor: str | None) -> Iterator[User]:
        """Users of these org units with an address after ``cursor``, by address."""
        for email in self.members.after(ou_ids, cursor):
            user = self.find(email)
            if user is not None:
                yield user
