"""The ``query`` of ``users.list``, as Google's "Search for users" describes it.

``field=value`` is an exact match, ``field:value`` a word-prefix match (``field:val*`` likewise);
values with spaces are quoted. ``orgUnitPath='/Students'`` matches that org unit *and every org
unit below it*, and takes only ``=``. Terms separated by spaces must all match.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fleetsync.sandbox.errors import ApiError

__all__ = ["UserQuery", "parse_user_query"]

Predicate = Callable[[dict[str, Any]], bool]
_TERM = re.compile(r"^(?P<field>[A-Za-z][A-Za-z0-9_.]*)(?P<op>[=:])(?P<value>.*)$", re.S)


@dataclass
class UserQuery:
    #: The org unit path of an ``orgUnitPath=`` term (the subtree is meant).
    org_unit_path: str | None = None
    predicates: list[Predicate] = field(default_factory=list)

    def matches(self, data: dict[str, Any]) -> bool:
        return all(predicate(data) for predicate in self.predicates)


def _words_start(text: str, prefix: str) -> bool:
    text, prefix = text.lower(), prefix.lower()
    return text.startswith(prefix) or any(w.startswith(prefix) for w in re.split(r"[\s@.]", text))


def _text(getter: Callable[[dict[str, Any]], str], op: str, value: str) -> Predicate:
    if op == "=" and not value.endswith("*"):
        return lambda data: getter(data).lower() == value.lower()
    prefix = value.rstrip("*")
    return lambda data: _words_start(getter(data), prefix)


def _boolean(key: str, op: str, value: str) -> Predicate:
    if op != "=" or value.lower() not in {"true", "false"}:
        raise ApiError(400, "invalid", f"Invalid Input: {key} takes =true or =false")
    wanted = value.lower() == "true"
    return lambda data: bool(data.get(key)) == wanted


def _given(data: dict[str, Any]) -> str:
    return str((data.get("name") or {}).get("givenName", ""))


def _family(data: dict[str, Any]) -> str:
    return str((data.get("name") or {}).get("familyName", ""))


def _external_ids(data: dict[str, Any]) -> list[str]:
    ids = data.get("externalIds") or []
    return [str(item.get("value", "")) for item in ids if isinstance(item, dict)]


def _external_id(value: str) -> Predicate:
    return lambda data: value in _external_ids(data)


def _any_word(word: str) -> Predicate:
    return lambda data: any(
        _words_start(part, word)
        for part in (str(data.get("primaryEmail", "")), _given(data), _family(data))
    )


def parse_user_query(text: str | None) -> UserQuery:
    query = UserQuery()
    if not text or not text.strip():
        return query
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace_split = True
    lexer.quotes = "'\""
    try:
        terms = list(lexer)
    except ValueError:
        raise ApiError(
            400, "invalid", f"Invalid Input: unbalanced quotes in query {text!r}"
        ) from None
    for term in terms:
        found = _TERM.match(term)
        if found is None:
            query.predicates.append(_any_word(term.rstrip("*")))
            continue
        key, op, value = found.group("field"), found.group("op"), found.group("value")
        if key == "orgUnitPath":
            if op != "=":
                raise ApiError(400, "invalid", "Invalid Input: orgUnitPath only supports '='")
            query.org_unit_path = value
        elif key == "email":
            query.predicates.append(_text(lambda d: str(d.get("primaryEmail", "")), op, value))
        elif key == "givenName":
            query.predicates.append(_text(_given, op, value))
        elif key == "familyName":
            query.predicates.append(_text(_family, op, value))
        elif key == "name":
            query.predicates.append(_text(lambda d: f"{_given(d)} {_family(d)}", op, value))
        elif key in {"isSuspended", "isAdmin", "isArchived"}:
            stored = {"isSuspended": "suspended", "isArchived": "archived"}.get(key, key)
            query.predicates.append(_boolean(stored, op, value))
        elif key == "externalId":
            query.predicates.append(_external_id(value))
        else:
            raise ApiError(
                400,
                "invalid",
                f"Invalid Input: the sandbox does not search users by {key!r} (it knows email, "
                "givenName, familyName, name, orgUnitPath, isSuspended, isAdmin, externalId)",
            )
    return query
