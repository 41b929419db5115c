"""The codebase's own rules, checked with every test run: ruff, mypy --strict, import-linter, and
that tests wait with the one helper (tests/waiting.py)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Starts processes (runs ruff, mypy and import-linter): not part of .ci/run's clock runs.
pytestmark = pytest.mark.processes

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)


def _tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; install the dev extras: pip install -e '.[dev]'")
    return found


def test_ruff_is_clean() -> None:
    result = _run(_tool("ruff"), "check", "src", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean() -> None:
    result = _run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_contracts_hold() -> None:
    result = _run(_tool("lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_merge_conflict_markers_are_committed() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    markers = ("<" * 7 + " ", "=" * 7 + "\n", ">" * 7 + " ")
    found = []
    for name in tracked:
        path = ROOT / name
        if path.suffix in {".png", ".ico"} or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        found += [f"{name}:{n}" for n, line in enumerate(text.splitlines(True), 1)
                  if line.startswith(markers)]  # fmt: skip
    assert found == [], f"merge conflict markers: {found}"


def test_tests_wait_with_the_one_helper() -> None:
    # A fixed sleep is either too short on a busy machine or too long everywhere else, and a
    # hand-written polling loop fails without saying what it waited for: tests wait with
    # tests/waiting.py's wait_until, the one place that sleeps.
    found = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if path == ROOT / "tests" / "waiting.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            sleeps = (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "sleep"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in {"time", "asyncio"}
            ) or (
                isinstance(node, ast.ImportFrom)
                and node.module in {"time", "asyncio"}
                and any(alias.name == "sleep" for alias in node.names)
            )
            if sleeps:
                found.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}")
    assert found == [], f"wait with tests.waiting.wait_until instead: {found}"
