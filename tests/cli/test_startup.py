"""Start-up is part of the interface: a command imports what it needs, when it runs.

The budget (docs/benchmarks.md: `fleetsync --help` in at most 0.3 s, `fleetsync device show` in
0.5 s) is guarded by what the commands import, not by timing them: a clock on a shared machine
proves nothing, and an import of Google's client, FastAPI or Alembic where none is needed is the
regression that costs the time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.processes

#: What the help needs is typer and rich; none of these.
HEAVY = {
    "sqlalchemy": "SQLAlchemy",
    "alembic": "Alembic",
    "pydantic": "pydantic (the settings)",
    "structlog": "structlog",
    "googleapiclient": "Google's API client",
    "google.auth": "google-auth",
    "httplib2": "httplib2",
    "fastapi": "FastAPI",
    "starlette": "Starlette",
    "uvicorn": "uvicorn",
    "apscheduler": "APScheduler",
    "cryptography": "cryptography",
    "importlib.metadata": "importlib.metadata (the version lookup)",
}
#: A command that reads the ledger needs SQLAlchemy and the settings, never these (markdown-it
#: renders the loan agreement; `--help` has Typer render Markdown with it).
NOT_FOR_THE_LEDGER = ("alembic", "googleapiclient", "google.auth", "httplib2", "fastapi",
                      "starlette", "uvicorn", "apscheduler", "cryptography",
                      "markdown_it")  # fmt: skip

_PROBE = """
import json, sys
from fleetsync.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print("\\n" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _imports(*args: str, cwd: Path) -> tuple[int, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["code"], set(result["modules"])


def _loaded(modules: set[str], name: str) -> bool:
    return name in modules or any(m.startswith(name + ".") for m in modules)


def test_help_imports_neither_the_ledger_nor_google(tmp_path: Path) -> None:
    code, modules = _imports("--help", cwd=tmp_path)
    assert code == 0
    loaded = [label for name, label in HEAVY.items() if _loaded(modules, name)]
    assert not loaded, f"`fleetsync --help` imports {', '.join(loaded)}"
    assert not any(m.startswith("fleetsync.cli.") and m != "fleetsync.cli._context"
                   for m in modules), "the listing imported a command module"  # fmt: skip


def test_device_show_imports_the_ledger_only(tmp_path: Path) -> None:
    code, _ = _imports("init", str(tmp_path), cwd=tmp_path)
    assert code in (0, None)
    code, modules = _imports("device", "show", "CB-0001", cwd=tmp_path)
    assert code == 4  # an empty ledger: not found, after reading it
    assert _loaded(modules, "sqlalchemy")
    loaded = [HEAVY.get(name, name) for name in NOT_FOR_THE_LEDGER if _loaded(modules, name)]
    assert not loaded, f"`fleetsync device show` imports {', '.join(loaded)}"
