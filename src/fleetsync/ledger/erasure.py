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
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fleetsync.ledger.engine import Ledger
from fleetsync.ledger.models import Device, PendingCredential, SyncJournalEntry, SyncRun
from fleetsync.log import get_logger

__all__ = ["erase_addresses", "erased_address", "flush_erased", "scrubbed"]

log = get_logger(__name__)


def erased_address(desk_id: str) -> str:
    """What stands for a pseudonymised borrower's address where the ledger had copied it."""
    return f"[erased: {desk_id}]"


def scrubbed(value: Any, pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str]) -> Any:
    """``value`` (text, or JSON made of dicts, lists and text) with every match replaced."""
    if isinstance(value, str):
        return pattern.sub(replace, value)
    if isinstance(value, dict):
        return {
            scrubbed(k, pattern, replace): scrubbed(v, pattern, replace) for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrubbed(v, pattern, replace) for v in value]
    return value


#: Up to this many addresses, the database looks for each (``ILIKE``); beyond, for any address
#: (``@``) in one pass, and Python picks out the ones erased.
_LOOK_FOR_EACH = 10
_IN_CHUNK = 1000
_TEXTS: tuple[tuple[Any, tuple[str, ...], tuple[str, ...]], ...] = (
    (SyncJournalEntry, ("target", "reason", "error"), ("detail",)),
    (SyncRun, ("error",), ("summary",)),
)


def erase_addresses(session: Session, replacements: Mapping[str, str]) -> int:
    """Replace each address (any case) with its replacement wherever the ledger copied it, and
    delete the first passwords sealed for it. One pass over each table, however many addresses.
    Returns the rows changed."""
    if not replacements:
        return 0
    wanted = {address.lower(): replacement for address, replacement in replacements.items()}
    addresses = sorted(wanted, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(a) for a in addresses), re.IGNORECASE)

    def replace(match: re.Match[str]) -> str:
        return wanted[match.group(0).lower()]

    likes = [f"%{a}%" for a in addresses] if len(addresses) <= _LOOK_FOR_EACH else ["%@%"]
    changed = 0
    for model, text_columns, json_columns in _TEXTS:
        names = text_columns + json_columns
        columns = [getattr(model, name) for name in names]
        searched = [*columns[: len(text_columns)]]
        searched += [sa.cast(c, sa.Text) for c in columns[len(text_columns) :]]
        where = sa.or_(*(c.ilike(like) for c in searched for like in likes))
        rows = session.execute(sa.select(model.id, *columns).where(where)).all()
        # Core, one executemany per set of changed columns: no objects loaded or synchronised.
        updates: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            values = {}
            for name, value in zip(names, row[1:], strict=True):
                new = scrubbed(value, pattern, replace)
                if new != value:
                    values[f"new_{name}"] = new
            if values:
                values["row_id"] = row[0]
                updates[tuple(sorted(k for k in values if k != "row_id"))].append(values)
        table = cast(sa.Table, model.__table__)
        for keys, batch in updates.items():
            session.connection().execute(
                table.update()
                .where(table.c.id == sa.bindparam("row_id"))
                .values({k.removeprefix("new_"): sa.bindparam(k) for k in keys}),
                batch,
            )
            changed += len(batch)
    for start in range(0, len(addresses), _IN_CHUNK):
        chunk = addresses[start : start + _IN_CHUNK]
        result = session.execute(
            sa.update(Device)
            .where(sa.func.lower(Device.google_annotated_user).in_(chunk))
            .values(google_annotated_user=None)
        )
        changed += int(getattr(result, "rowcount", 0))
        result = session.execute(
            sa.delete(PendingCredential).where(
                sa.func.lower(PendingCredential.account_email).in_(chunk)
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
