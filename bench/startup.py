"""Start-up of the command line, as a technician pays it: `fleetsync --help` and `fleetsync
device show SERIAL` (on a ledger of 1,000 devices), each run as a new process, median of N runs.

    .venv/bin/python bench/startup.py            # 15 runs each
    .venv/bin/python bench/startup.py --runs 31

Goals (issue 16 §2): `--help` at most 0.3 s, `device show` at most 0.5 s. Also prints the
modules each imports (what `python -X importtime` attributes the time to) and the largest.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Figures

FLEETSYNC = [sys.executable, "-m", "fleetsync"]


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _run(args: list[str], cwd: Path) -> tuple[float, float]:
    """Wall time, and the CPU time (user + system) the process used: on a shared machine the
    second says what the command costs, the first what one waited."""
    cpu, started = _cpu(), time.perf_counter()
    subprocess.run(args, cwd=cwd, capture_output=True, check=False, timeout=60)
    return time.perf_counter() - started, _cpu() - cpu


def _median(args: list[str], cwd: Path, runs: int) -> tuple[float, float, float]:
    """Median wall time, fastest wall time, median CPU time."""
    _run(args, cwd)  # warm the page cache and the .pyc files
    walls, cpus = zip(*(_run(args, cwd) for _ in range(runs)), strict=True)
    return statistics.median(walls), min(walls), statistics.median(cpus)


def _largest_imports(args: list[str], cwd: Path, top: int = 5) -> list[tuple[str, float]]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "fleetsync", *args[3:]],
        cwd=cwd, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    top_level: list[tuple[str, float]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _self, cumulative, name = line.removeprefix("import time:").split("|")
        if not name.startswith(" ") or name.startswith("  "):
            continue  # only the modules the command itself imported (not what they import)
        if cumulative.strip().isdigit():
            top_level.append((name.strip(), int(cumulative) / 1e6))
    return sorted(top_level, key=lambda item: -item[1])[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        subprocess.run([*FLEETSYNC, "init", str(work)], check=True, capture_output=True)
        stock = work / "devices.csv"
        stock.write_text(
            "serial,asset_tag,model,region,connectivity\n"
            + "".join(f"5CD{n:07d},CB-{n:05d},Acer C733,Antwerpen,wifi\n" for n in range(1000)),
            encoding="utf-8",
        )
        subprocess.run([*FLEETSYNC, "device", "import", str(stock)], cwd=work, check=True,
                       capture_output=True)  # fmt: skip
        figures = Figures(f"Start-up (median of {options.runs} runs, a new process each)")
        commands = {
            "`fleetsync --help`": [*FLEETSYNC, "--help"],
            "`fleetsync device show 5CD0000500`": [*FLEETSYNC, "device", "show", "5CD0000500"],
            "`python -c pass` (the interpreter alone)": [sys.executable, "-c", "pass"],
        }
        env_note = os.environ.get("FLEETSYNC_CONFIG")
        if env_note:
            print(f"note: FLEETSYNC_CONFIG={env_note} is ignored: the run uses its own ledger")
        largest: dict[str, list[tuple[str, float]]] = {}
        for label, args in commands.items():
            median, fastest, cpu = _median(args, work, options.runs)
            figures.add(label, round(median * 1000), "ms")
            figures.add("  its CPU time (user + system), median", round(cpu * 1000), "ms")
            figures.add(f"  fastest of the {options.runs}", round(fastest * 1000), "ms")
            if args[:3] == FLEETSYNC:
                largest[label] = _largest_imports(args, work)
        figures.print()
        for label, modules in largest.items():
            shown = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in modules)
            print(f"\n{label} imports, largest first (-X importtime, cumulative): {shown}")


if __name__ == "__main__":
    main()
