"""The retention job when a whole cohort reaches it: borrowers past the retention period, a sync
journal that copied their addresses many times over, and (SQLite) the file rebuilt afterwards.

    .venv/bin/python bench/retention.py                       # SQLite in a temporary directory
    .venv/bin/python bench/retention.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

The ledger is filled directly (Core inserts): ``--borrowers`` whose last loan ended 400 days ago,
their accounts deleted, and ``--journal`` journal rows, one in ten about one of their addresses
(an account action, or a device annotated with it), the rest about devices.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Figures, database, measure, peak_rss_mib
from fleetsync.ledger import open_ledger
from fleetsync.ledger.erasure import flush_erased
from fleetsync.ledger.models import Borrower, Device, Loan, SyncJournalEntry, SyncRun
from fleetsync.services.retention import apply_retention
from fleetsync.settings import Settings

NOW = datetime(2027, 10, 1, 8, 0, tzinfo=UTC)
ENDED = NOW - timedelta(days=400)
_CHUNK = 5000


def _insert(connection: sa.Connection, model: type, rows: list[dict[str, object]]) -> None:
    for start in range(0, len(rows), _CHUNK):
        connection.execute(sa.insert(model), rows[start : start + _CHUNK])


def fill(engine: sa.Engine, borrowers: int, journal: int) -> list[str]:
    """The ledger as a year of loans leaves it. Returns the borrowers' addresses."""
    emails = [f"amira.haddad{n}@example.org" for n in range(borrowers)]
    with engine.begin() as connection:
        _insert(connection, Device, [
            {"serial": f"5CD{n:07d}", "model": "Acer C733", "region": "Antwerpen",
             "connectivity": "wifi", "state": "spare", "state_since": ENDED, "created_at": ENDED,
             "google_annotated_user": emails[n] if n % 50 == 0 else None}
            for n in range(borrowers)
        ])  # fmt: skip
        _insert(connection, Borrower, [
            {"desk_id": f"B-{n}", "given_name": "Amira", "family_name": f"Haddad {n}",
             "region": "Antwerpen", "account_email": emails[n], "account_status": "deleted",
             "account_status_since": ENDED, "created_at": ENDED - timedelta(days=60)}
            for n in range(borrowers)
        ])  # fmt: skip
        _insert(connection, Loan, [
            {"device_id": n + 1, "borrower_id": n + 1, "checked_out_at": ENDED - timedelta(days=60),
             "agreed_end": date(2026, 8, 1), "needs_data": False, "region": "Antwerpen",
             "connectivity": "wifi", "returned_at": ENDED, "return_condition": "ok",
             "return_note": f"Amira Haddad {n}'s charger kept"}
            for n in range(borrowers)
        ])  # fmt: skip
        run = connection.execute(
            sa.insert(SyncRun).returning(SyncRun.id),
            {"kind": "full", "actor": "sync", "started_at": ENDED, "status": "converged",
             "dry_run": False, "forced": False},
        ).scalar_one()  # fmt: skip
        rows: list[dict[str, object]] = []
        detail: dict[str, object]
        for n in range(journal):
            if n % 10 == 0:
                email = emails[(n // 10) % borrowers]
                if n % 20 == 0:
                    target, kind = email, "suspend_account"
                    detail = {"kind": kind, "target": email, "email": email, "borrower": "B-1"}
                else:
                    target, kind = f"5CD{n % borrowers:07d}", "annotate_device"
                    detail = {"kind": kind, "changes": [["annotatedUser", email]]}
            else:
                target, kind = f"5CD{n % borrowers:07d}", "move_devices"
                detail = {"kind": kind, "org_unit": "/Chromebooks/Spare"}
            rows.append({"run_id": run, "kind": kind, "target": target, "reason": "returned",
                         "detail": detail, "state": "done", "started_at": ENDED})  # fmt: skip
        _insert(connection, SyncJournalEntry, rows)
    return emails


def run(url: str, borrowers: int, journal: int, figures: Figures) -> None:
    settings = Settings(database_url=url, data_dir=Path(tempfile.mkdtemp(prefix="fleetsync-")))
    with open_ledger(settings) as ledger:
        emails = fill(ledger.engine, borrowers, journal)
        with measure() as timed, ledger.transaction() as session:
            report = apply_retention(session, pseudonymise_after=timedelta(days=365), now=NOW)
        assert len(report.pseudonymised) == borrowers
        figures.add(f"retention of {borrowers:,} borrowers, journal of {journal:,} rows",
                    timed["seconds"], "s")  # fmt: skip
        with measure() as flushed:
            ran = flush_erased(ledger)
        if ran:
            figures.add("  then VACUUM + WAL truncate", flushed["seconds"], "s")
            size = Path(ledger.engine.url.database or "").stat().st_size
            figures.add("  database file", size / 2**20, "MiB")
            content = Path(ledger.engine.url.database or "").read_bytes()
            sample = emails[:: max(1, borrowers // 100)]
            left = sum(1 for email in sample if email.encode() in content)
            figures.add("  sampled addresses left in the file", left, "")
        with ledger.read() as session:
            copies = session.scalar(
                sa.select(sa.func.count())
                .select_from(SyncJournalEntry)
                .where(SyncJournalEntry.target.like("%@%"))
            )
        figures.add("  journal rows still naming an address", int(copies or 0), "")
    figures.add("peak memory of this process", peak_rss_mib(), "MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL (default: SQLite in a temp dir)")
    parser.add_argument("--borrowers", type=int, default=2000)
    parser.add_argument("--journal", type=int, default=200_000)
    args = parser.parse_args()
    title = "Retention on " + ("PostgreSQL" if args.postgres else "SQLite (secure_delete, VACUUM)")
    figures = Figures(title)
    with database(args.postgres) as url:
        run(url, args.borrowers, args.journal, figures)
    figures.print()


if __name__ == "__main__":
    main()
