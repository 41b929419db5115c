"""A ``fleetsync sync`` killed with SIGKILL in the middle of its powerwashes: the next runs
resume from the journal and Google's state, and every returned device ends up powerwashed
exactly once and spare again — nothing repeated, nothing lost."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa

from fleetsync.ledger.models import Device, SyncRun
from tests.sync.conftest import Fleet
from tests.waiting import wait_until

# Starts processes (a sync runs as a subprocess and is killed): not part of .ci/run's clock runs.
pytestmark = pytest.mark.processes

RETURNS = 30


def _powerwashes_in_google(fleet: Fleet, serials: list[str]) -> int:
    return sum(len(fleet.commands(serial)) for serial in serials)


@pytest.mark.parametrize("kill_after", [1, 15], ids=["first-powerwash", "mid-way"])
def test_a_sync_killed_mid_apply_resumes_without_repeating_or_losing_a_powerwash(
    adopted: Fleet, kill_after: int
) -> None:
    serials = adopted.lent_and_returned(RETURNS)
    # Every call takes a little while, so the kill lands inside the run.
    adopted.sandbox.control.faults(latency_ms=15)

    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fleetsync",
            "sync",
            "--force",
            "--config",
            str(adopted.config_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    def started() -> bool:
        if _powerwashes_in_google(adopted, serials) >= kill_after:
            return True
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        return False

    wait_until(started, what="the sync's first powerwashes", interval=0.01)
    process.kill()
    process.wait()
    if process.stderr is not None:
        process.stderr.close()
    adopted.sandbox.control.clear_faults()
    assert _powerwashes_in_google(adopted, serials) < RETURNS

    resumed = adopted.sync(force=True)
    assert resumed.status in ("converged", "failed")  # a lost answer is reported, not resent
    with adopted.ledger.read() as session:
        statuses = session.scalars(sa.select(SyncRun.status).order_by(SyncRun.id)).all()
    assert "crashed" in statuses

    # The devices come online, execute what they got; what never reached Google is asked for
    # again once the devices have checked in twice, an hour (the grace) apart, without
    # enrolling again.
    adopted.sandbox.control.online([adopted.google_id(s) for s in serials])
    adopted.sandbox.control.advance(hours=2)
    adopted.sync(force=True)
    adopted.sandbox.control.advance(hours=1)
    adopted.sync(force=True)
    adopted.sandbox.control.advance(minutes=10)
    adopted.sync(force=True)

    for serial in serials:
        commands = adopted.commands(serial)
        assert len(commands) == 1, f"{serial}: {len(commands)} powerwashes"
        assert adopted.device(serial)["orgUnitPath"] == "/Chromebooks/Spare"
    with adopted.ledger.read() as session:
        states = set(session.scalars(sa.select(Device.state).where(Device.serial.in_(serials))))
    assert states == {"spare"}
    assert adopted.sync().plan.actions == ()
