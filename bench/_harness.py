"""What every benchmark script shares: timing, peak memory, and a printed table of figures."""

from __future__ import annotations

import platform
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

__all__ = ["Figures", "machine", "measure", "peak_rss_mib", "rss_mib"]


def peak_rss_mib() -> float:
    """This process's peak resident memory so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mib() -> float:
    """This process's resident memory now, in MiB (Linux: from /proc)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


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
