"""The units' ``MemoryDenyWriteExecute=yes``: fleetsync works without writable executable memory.

systemd enforces it with a seccomp filter; since Linux 6.3 the kernel offers the same rule as
``prctl(PR_SET_MDWE)``, kept across ``execve``. The child processes here set it and then exec
fleetsync, so a dependency that needs W+X memory (a JIT, a libffi closure) fails here first.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from fleetsync.sandbox.testing import RunningSandbox

# Starts processes (fleetsync under systemd's memory protection): not in the clock runs.
pytestmark = pytest.mark.processes

#: Sets PR_SET_MDWE (65) with PR_MDWE_REFUSE_EXEC_GAIN (1), then execs argv[1:]. Exit 77: the
#: kernel does not know the rule.
WRAPPER = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:
    sys.exit(77)
os.execv(sys.argv[1], sys.argv[1:])
"""
FLEETSYNC = str(Path(sys.executable).parent / "fleetsync")


def run_protected(
    *command: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-c", WRAPPER, *command],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    if result.returncode == 77:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux 6.3+): cannot emulate the rule here")
    return result


def test_the_protection_is_in_force() -> None:
    probe = (
        "import mmap\n"
        "try:\n"
        "    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
        "except PermissionError:\n"
        "    print('refused')\n"
    )
    result = run_protected(sys.executable, "-c", probe)
    assert result.stdout == "refused\n", result.stderr


def test_a_full_sync_runs_under_it(agency_sandbox: RunningSandbox, tmp_path: Path) -> None:
    # Token exchange (JWT signed by cryptography), httplib2, HTTP batches, SQLAlchemy, Alembic.
    config = agency_sandbox.write_config(tmp_path / "fleetsync.toml")
    result = run_protected(FLEETSYNC, "sync", "--adopt", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "converged" in result.stdout


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_the_postgresql_ledger_opens_under_it(database_url: str) -> None:
    # psycopg's binary build carries its own libpq.
    result = run_protected(FLEETSYNC, "db", "upgrade", env={"FLEETSYNC_DATABASE_URL": database_url})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "migrated from (empty)" in result.stdout


SERVER = """
import sys, threading, time, urllib.request
import uvicorn
from fastapi import FastAPI
from prometheus_client import generate_latest

app = FastAPI()

@app.get("/livez")
def livez() -> dict[str, str]:
    return {"status": "ok"}

config = uvicorn.Config(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=False)
server = uvicorn.Server(config)
thread = threading.Thread(target=server.run)
thread.start()
try:
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    url = f"http://127.0.0.1:{sys.argv[1]}/livez"
    print(urllib.request.urlopen(url, timeout=5).read().decode())
    print(b"process_cpu_seconds_total" in generate_latest())
finally:
    server.should_exit = True
    thread.join()
"""


def test_the_web_stack_serves_under_it() -> None:
    # What `fleetsync daemon` and `serve` are built on: uvicorn, FastAPI (pydantic-core), the
    # Prometheus client.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_protected(sys.executable, "-c", SERVER, str(port))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ['{"status":"ok"}', "True"]
