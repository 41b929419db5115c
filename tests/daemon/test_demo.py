"""The README's main-job command: ``fleetsync demo`` brings the whole system up, the simulated
loan desk lends and takes back devices, and Google converges while it keeps working."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from fleetsync.domain.staff import SignInThrottle
from fleetsync.ledger import create_ledger_engine, open_ledger
from fleetsync.services.staff import SignInRefused, sign_in
from fleetsync.settings import Settings
from tests.daemon.conftest import free_port

# Starts processes (the demo runs as a subprocess): not part of .ci/run's clock runs.
pytestmark = pytest.mark.processes


def test_the_demo_runs_the_programme_and_google_converges(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    result = subprocess.run(
        [
            sys.executable, "-m", "fleetsync", "demo", "--dir", str(directory),
            "--port", str(free_port()), "--sandbox-port", str(free_port()),
            "--pace", "1", "--loan-seconds", "4", "--duration", "20",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["converged"] is True
    assert summary["checkouts"] > 5
    assert summary["returns"] > 0
    assert summary["refused"] == 0
    assert "demo.fleet_adopted" in result.stderr
    assert "daemon.stopped" in result.stderr

    engine = create_ledger_engine(f"sqlite:///{directory / 'fleetsync.db'}")
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT state, count(*) FROM devices GROUP BY state"))
            states: dict[str, int] = dict(rows.all())
            washed = connection.scalar(
                sa.text("SELECT count(*) FROM device_commands WHERE state='EXECUTED_BY_CLIENT'")
            )
    finally:
        engine.dispose()
    assert sum(states.values()) == 1000
    assert states.get("on_loan", 0) > 0
    assert washed > 0  # returned devices were switched on, powerwashed and made spare again


def _demo(directory: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "fleetsync", "demo", "--dir", str(directory),
            "--port", str(free_port()), "--sandbox-port", str(free_port()),
            "--pace", "1", "--loan-seconds", "3", "--duration", "8", *extra,
        ],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip


def _loans(directory: Path) -> set[str]:
    engine = create_ledger_engine(f"sqlite:///{directory / 'fleetsync.db'}")
    try:
        with engine.connect() as connection:
            return {str(i) for i in connection.scalars(sa.text("SELECT id FROM loans"))}
    finally:
        engine.dispose()


def _signs_in(directory: Path, banner: str) -> str:
    """Who the banner's demo sign-in signs in as (``refused`` when it does not)."""
    found = re.search(r"sign in as (\S+) with password (\S+)", banner)
    assert found, banner
    settings = Settings(database_url=f"sqlite:///{directory / 'fleetsync.db'}", data_dir=directory)
    with open_ledger(settings) as ledger, ledger.transaction() as session:
        try:
            return sign_in(
                session,
                username=found[1],
                password=found[2],
                throttle=SignInThrottle(5, timedelta(1)),
            ).actor
        except SignInRefused:
            return "refused"


def test_a_second_run_continues_the_first_and_reset_starts_afresh(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    first = _demo(directory)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "a new run" in first.stdout
    earlier = _loans(directory)
    assert earlier
    assert (directory / "tenant.json").stat().st_mode & 0o077 == 0  # the tenant holds a key

    second = _demo(directory)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "continues the earlier run" in second.stdout
    # The banner names the desk web app and a clerk's sign-in, new each run.
    assert "the loan desk's web app: http://127.0.0.1:" in second.stdout
    assert _signs_in(directory, first.stdout) == "refused"
    assert _signs_in(directory, second.stdout) == "desk:demo-desk:demo"
    assert json.loads(second.stdout.strip().splitlines()[-1])["converged"] is True
    assert earlier < _loans(directory)  # the first run's loans are still there, and more

    (directory / "notes.txt").write_text("from the second run", encoding="utf-8")
    third = _demo(directory, "--reset")
    assert third.returncode == 0, third.stdout[-3000:] + third.stderr[-3000:]
    assert "a new run" in third.stdout
    assert not (directory / "notes.txt").exists()
