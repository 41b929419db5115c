"""What every benchmark script shares: timing, peak memory, and a printed table of figures."""

from __future__ import annotations

import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import quote

import sqlalchemy as sa

__all__ = ["Figures", "database", "machine", "measure", "peak_rss_mib"]


def peak_rss_mib() -> float:
    """This process's peak resident memory so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    import os

    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


@dataclass
class Figures:
    """Rows of (what, value, unit), printed as a Markdown table for docs/benchmarks.md."""

    title: str
    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, what: str, value: float | int | str, unit: str = "") -> None:
        text = (
            f"{value:,.1f}"
            if isinstance(value, float)
            else f"{value:,}"
            if isinstance(value, int)
            else value
        )
        self.rows.append((what, text, unit))

    def print(self) -> None:
        out = sys.stdout
        out.write(
            f"\n### {self.title}\n\n_{machine()}_\n\n| what | value | unit |\n|---|---:|---|\n"
        )
        for what, value, unit in self.rows:
            out.write(f"| {what} | {value} | {unit} |\n")
        out.flush()


@contextmanager
def measure() -> Iterator[dict[str, float]]:
    """``with measure() as m: ...`` then ``m["seconds"]``."""
    result: dict[str, float] = {}
    start = time.perf_counter()
    try:
        yield result
    finally:
        result["seconds"] = time.perf_counter() - start


@contextmanager
def database(postgres: str | None) -> Iterator[str]:
    if postgres is None:
        with tempfile.TemporaryDirectory(prefix="fleetsync-bench-") as tmp:
            yield f"sqlite:///{tmp}/ledger.db"
        return
    schema = f"bench_ledger_{os.getpid()}"
    admin = sa.create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'create schema "{schema}"'))
    sep = "&" if "?" in postgres else "?"
    try:
        yield f"{postgres}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'drop schema "{schema}" cascade'))
        admin.dispose()
