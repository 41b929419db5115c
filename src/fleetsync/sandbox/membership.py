"""Which devices (by enrolment order) and users (by address) sit in which org unit, kept sorted.

A page of a 100,000-device subtree starts with a bisect into each org unit's sorted list and merges
them lazily: the cost of a page is the page, not the tenant.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator
from typing import Any, Generic, TypeVar

__all__ = ["OrgUnitMembers"]

K = TypeVar("K", int, str)


def _tail(items: list[Any], start: int) -> Iterator[Any]:
    # Index-based, so starting deep in a long list neither copies nor skips element by element.
    for index in range(start, len(items)):
        yield items[index]


class OrgUnitMembers(Generic[K]):
    def __init__(self) -> None:
        self._lists: dict[str, list[K]] = {}

    def add(self, ou_id: str, key: K) -> None:
        members = self._lists.setdefault(ou_id, [])
        if not members or members[-1] < key:
            members.append(key)  # the usual case: new devices enrol in order
        else:
            insort(members, key)

    def extend_sorted(self, ou_id: str, keys: Iterable[K]) -> None:
        """Bulk load (seeding): ``keys`` ascending and above every key already there."""
        self._lists.setdefault(ou_id, []).extend(keys)

    def remove(self, ou_id: str, key: K) -> None:
        members = self._lists.get(ou_id)
        if not members:
            return
        index = bisect_left(members, key)
        if index < len(members) and members[index] == key:
            del members[index]

    def count(self, ou_ids: Iterable[str]) -> int:
        return sum(len(self._lists.get(ou_id, ())) for ou_id in ou_ids)

    def keys(self, ou_id: str) -> list[K]:
        return list(self._lists.get(ou_id, ()))

    def after(self, ou_ids: Iterable[str], cursor: K | None) -> Iterator[K]:
        """Keys of these org units above ``cursor`` (all of them when None), ascending."""
        tails: list[Iterator[K]] = []
        for ou_id in ou_ids:
            members = self._lists.get(ou_id)
            if not members:
                continue
            start = 0 if cursor is None else bisect_right(members, cursor)
            if start < len(members):
                tails.append(_tail(members, start))
        if len(tails) == 1:
            return tails[0]
        return heapq.merge(*tails)
