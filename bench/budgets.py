"""What the safety budgets cost: counting the windows (every reconcile plans with it, every
`fleetsync status` and `/metrics` scrape shows it), and spending (one lock, one count and one
insert in the transaction of every destructive action), with years of history in the ledger.

    .venv/bin/python bench/budgets.py                       # SQLite in a temporary directory
    .venv/bin/python bench/budgets.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

On PostgreSQL the run uses a schema of its own (``bench_<pid>``), dropped at the end.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Figures, database, measure
from fleetsync.domain.actions import Budget
from fleetsync.domain.safety import Limit
from fleetsync.ledger import budgets, open_ledger
from fleetsync.ledger.models import BudgetSpend
from fleetsync.settings import SafetySettings, Settings

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
DEFAULTS = SafetySettings()
#: The default budgets, each spent to its daily limit in the last day.
LIMITS = {b: Limit(DEFAULTS.of(b).per_hour, DEFAULTS.of(b).per_day) for b in Budget}
#: Spending never refused while it is measured.
OPEN = {b: Limit(10**9, 10**9) for b in Budget}


def _fill(engine: sa.Engine, history: int) -> int:
    """``history`` rows spread over the two years before the window, and each budget's daily
    limit inside it (a full day: what makes the windows' counts the longest)."""
    table = cast(sa.Table, BudgetSpend.__table__)
    names = list(Budget)
    two_years = timedelta(days=730).total_seconds()
    rows = 0
    with engine.begin() as conn:
        batch = []
        for i in range(history):
            at = NOW - timedelta(days=1, seconds=(i * 7919) % two_years)
            batch.append({"budget": names[i % len(names)], "target": f"5CD{i:07d}", "at": at,
                          "forced": i % 50 == 0, "run_id": None})  # fmt: skip
            if len(batch) == 10_000:
                conn.execute(sa.insert(table), batch)
                rows += len(batch)
                batch = []
        for budget in Budget:
            for i in range(LIMITS[budget].per_day):
                at = NOW - timedelta(seconds=(i * 97) % 86_000 + 1)
                batch.append({"budget": budget, "target": f"W{i:05d}", "at": at,
                              "forced": False, "run_id": None})  # fmt: skip
        conn.execute(sa.insert(table), batch)
        rows += len(batch)
    return rows


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def run(url: str, history: int, repeat: int, figures: Figures) -> None:
    settings = Settings(database_url=url, data_dir=Path(tempfile.mkdtemp(prefix="fleetsync-")))
    with open_ledger(settings) as ledger:
        with measure() as filled:
            rows = _fill(ledger.engine, history)
        if ledger.engine.dialect.name == "postgresql":
            with ledger.engine.begin() as conn:
                conn.execute(sa.text("ANALYZE budget_spend"))
        figures.add(f"ledger rows of spent budget (history + {rows - history:,} in the window)",
                    rows)  # fmt: skip
        figures.add("  written in", filled["seconds"], "s")

        samples = []
        for _ in range(repeat):
            with measure() as one, ledger.read() as session:
                counted = budgets.spent(session, now=NOW)
            samples.append(one["seconds"])
        assert counted[Budget.POWERWASHES].day == LIMITS[Budget.POWERWASHES].per_day
        figures.add("count every budget's windows (what each reconcile plans with)",
                    _median_ms(samples), "ms")  # fmt: skip

        samples = []
        for _ in range(repeat):
            with measure() as one, ledger.read() as session:
                budgets.budget_states(session, LIMITS, now=NOW)
            samples.append(one["seconds"])
        figures.add("budget states (`fleetsync status`, a /metrics scrape)",
                    _median_ms(samples), "ms")  # fmt: skip

        samples = []
        for i in range(repeat):
            with measure() as one, ledger.transaction() as session:
                budgets.spend(session, Budget.DISABLES, [f"S{i:06d}"], limits=OPEN, now=NOW)
            samples.append(one["seconds"])
        figures.add("spend one device (lock, count, insert, commit)", _median_ms(samples), "ms")

        threads, each = 8, max(1, repeat // 8)
        start = threading.Barrier(threads)

        def spender(number: int) -> None:
            start.wait()
            for i in range(each):
                with ledger.transaction() as session:
                    budgets.spend(session, Budget.POWERWASHES, [f"T{number}-{i}"], limits=OPEN,
                                  now=NOW)  # fmt: skip

        workers = [threading.Thread(target=spender, args=(n,)) for n in range(threads)]
        began = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - began
        figures.add(f"spends by {threads} threads at once, one transaction each",
                    threads * each / elapsed, "/s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument(
        "--history",
        type=int,
        default=500_000,
        help="rows of spent budget before the window (default 500,000)",
    )
    parser.add_argument("--repeat", type=int, default=200, help="samples per figure")
    args = parser.parse_args()
    backend = "PostgreSQL" if args.postgres else "SQLite"
    figures = Figures(f"Safety budgets on {backend}, {args.history:,} rows of history")
    with database(args.postgres) as url:
        run(url, args.history, args.repeat, figures)
    figures.print()


if __name__ == "__main__":
    main()
