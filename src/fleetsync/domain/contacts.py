"""How to reach a borrower outside their Workspace mailbox, and in which language to write.

Optional, given by the desk at checkout. Personal data: the ledger keeps it sealed and erases it
with the borrower's names (retention); it never appears in logs, URLs or the audit trail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from fleetsync.domain.errors import InvalidInput

__all__ = ["Contact", "Language", "contact"]

_PHONE = re.compile(r"^\+?[0-9][0-9 ./()-]{5,30}$")
# Deliberately plain: an address the desk typed, checked for shape only (one @, a dot after it).
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")
MAX_EMAIL = 254


class Language(StrEnum):
    """The languages fleetsync's messages to borrowers come in (templates per language)."""

    NL = "nl"
    EN = "en"


@dataclass(frozen=True, slots=True)
class Contact:
    phone: str | None = None
    email: str | None = None
    language: Language = Language.NL

    def to_json(self) -> dict[str, str | None]:
        return {"phone": self.phone, "email": self.email, "language": self.language.value}


def contact(
    *, phone: str | None = None, email: str | None = None, language: str | None = None
) -> Contact | None:
    """The contact details as given, checked; ``None`` when none was given."""
    phone = (phone or "").strip() or None
    email = (email or "").strip() or None
    lang = (language or "").strip().lower() or None
    if phone is None and email is None and lang is None:
        return None
    if phone is not None and not _PHONE.match(phone):
        raise InvalidInput(
            "the phone number must be digits (spaces, . / ( ) - allowed), optionally starting "
            "with +, 6 to 31 characters, e.g. +32 470 12 34 56"
        )
    if email is not None and (len(email) > MAX_EMAIL or not _EMAIL.match(email)):
        raise InvalidInput(
            "the email address is not an address (name@domain.tld, at most 254 characters)"
        )
    if lang is not None and lang not in {x.value for x in Language}:
        raise InvalidInput(
            f"unknown language {lang!r}; messages come in {', '.join(x.value for x in Language)}"
        )
    return Contact(phone=phone, email=email, language=Language(lang or Language.NL.value))
