"""Erasing a borrower's account address from every table that copied it.

The address (``ayse.ozturk@…``) is derived from the borrower's names: personal data. Besides
``borrowers.account_email`` the ledger copies it into the sync journal (account actions' targets,
the annotations a device was given, Google's error messages), the runs' summaries (findings,
failures), what Google last confirmed on a device (``google_annotated_user``) and first passwords.
The retention erases them all at once, and the audit trail never holds it.

On SQLite the ledger runs with ``secure_delete`` (what is deleted is overwritten in the file),
and :func:`flush_erased` rebuilds the file (``VACUUM``) and empties the write-ahead log, whose
older copies of the pages, and the free space SQLite leaves in pages, would otherwise still
hold it.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fleetsync.ledger.engine import Ledger
from fleetsync.ledger.models import Device, PendingCredential, SyncJournalEntry, SyncRun
from fleetsync.log import get_logger

__all__ = ["erase_address", "erased_address", "flush_erased", "scrubbed"]

log = get_logger(__name__)


def erased_address(desk_id: str) -> str:
    """What stands for a pseudonymised borrower's address where the ledger had copied it."""
    return f"[erased: {desk_id}]"


def scrubbed(value: Any, pattern: re.Pattern[str], replacement: str) -> Any:
    """``value`` (text, or JSON made of dicts, lists and text) with every match replaced."""
    if isinstance(value, str):
        return pattern.sub(replacement, value)
    if isinstance(value, dict):
        return {
            scrubbed(k, pattern, replacement): scrubbed(v, pattern, replacement)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrubbed(v, pattern, replacement) for v in value]
    return value


def erase_address(session: Session, address: str, *, replacement: str) -> int:
    """Replace ``address`` (any case) with ``replacement`` wherever the ledger copied it, and
    delete the first passwords sealed for it. Returns the rows changed."""
    pattern = re.compile(re.escape(address), re.IGNORECASE)
    like = f"%{address}%"
    changed = 0
    texts: list[tuple[Any, tuple[str, ...], tuple[str, ...]]] = [
        (SyncJournalEntry, ("target", "reason", "error"), ("detail",)),
        (SyncRun, ("error",), ("summary",)),
    ]
    for model, text_columns, json_columns in texts:
        columns = [getattr(model, c) for c in text_columns + json_columns]
        matches = [c.ilike(like) for c in columns[: len(text_columns)]]
        matches += [sa.cast(c, sa.Text).ilike(like) for c in columns[len(text_columns) :]]
        rows = session.execute(sa.select(model.id, *columns).where(sa.or_(*matches))).all()
        for row in rows:
            values = {
                name: scrubbed(value, pattern, replacement)
                for name, value in zip(text_columns + json_columns, row[1:], strict=True)
                if value is not None
            }
            session.execute(sa.update(model).where(model.id == row[0]).values(values))
            changed += 1
    result = session.execute(
        sa.update(Device)
        .where(sa.func.lower(Device.google_annotated_user) == address.lower())
        .values(google_annotated_user=None)
    )
    changed += int(getattr(result, "rowcount", 0))
    result = session.execute(
        sa.delete(PendingCredential).where(
            sa.func.lower(PendingCredential.account_email) == address.lower()
        )
    )
    changed += int(getattr(result, "rowcount", 0))
    return changed


def flush_erased(ledger: Ledger) -> bool:
    """After erasing (committed): on SQLite, rebuild the file and empty the write-ahead log, so
    that no copy of erased data stays on disk (``secure_delete`` overwrites what is deleted, but
    not what SQLite left in a page's free space when it rearranged cells). Returns whether it
    ran; a busy database is reported in the log and tried again by the next retention run."""
    try:
        return ledger.vacuum()
    except sqlite3.Error as exc:  # busy (another process holds a transaction), disk full
        log.warning("ledger.vacuum_failed", error=str(exc))
        return False
