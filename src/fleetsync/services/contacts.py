"""A loan's contact details, sealed at rest (Fernet under the ledger's key, as first passwords
are): written at checkout, read for the desk's overdue list and the borrower's messages, erased
with the borrower's other personal data."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fleetsync.domain.contacts import Contact, Language
from fleetsync.ledger.credentials import open_password, seal_password
from fleetsync.ledger.models import Loan, LoanContact

__all__ = ["erase_contacts", "loan_contacts", "store_contact"]


def store_contact(
    session: Session, *, loan_id: int, contact: Contact, key: bytes, now: datetime
) -> None:
    sealed = seal_password(key, json.dumps(contact.to_json(), sort_keys=True))
    session.add(LoanContact(loan_id=loan_id, sealed=sealed, created_at=now))


def loan_contacts(session: Session, loan_ids: Iterable[int], *, key: bytes) -> dict[int, Contact]:
    """The contact details of these loans (those that have any), opened."""
    wanted = list(loan_ids)
    found: dict[int, Contact] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            sa.select(LoanContact.loan_id, LoanContact.sealed).where(
                LoanContact.loan_id.in_(wanted[start : start + 500])
            )
        )
        for loan_id, sealed in rows:
            data = json.loads(open_password(key, sealed))
            found[loan_id] = Contact(
                phone=data.get("phone"),
                email=data.get("email"),
                language=Language(data.get("language") or Language.NL.value),
            )
    return found


def erase_contacts(session: Session, borrower_ids: list[int]) -> int:
    """Delete the contact details of every loan of these borrowers. Returns the rows deleted."""
    result = session.execute(
        sa.delete(LoanContact).where(
            LoanContact.loan_id.in_(sa.select(Loan.id).where(Loan.borrower_id.in_(borrower_ids)))
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
