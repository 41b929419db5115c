"""The daemon: one leader runs the jobs, a standby takes over when it dies, SIGTERM stops it
cleanly, and on SQLite a second daemon refuses to start."""

from __future__ import annotations

import itertools
import json
import signal
from datetime import datetime

import httpx
import pytest
import sqlalchemy as sa

from fleetsync.daemon import DaemonAlreadyRunning, Leadership
from fleetsync.ledger.models import SyncRun
from tests.cli_runner import run_cli
from tests.daemon.conftest import Daemons, runs
from tests.waiting import wait_until

# Starts processes (daemons run as subprocesses): not part of .ci/run's clock runs.
pytestmark = pytest.mark.processes


def test_the_daemon_reconciles_serves_the_api_and_stops_cleanly_on_sigterm(
    daemons: Daemons,
) -> None:
    fleet = daemons.fleet
    [serial] = fleet.serials()[:1]
    fleet.checkout(serial, "B-1")
    daemon = daemons.start(api=True)

    wait_until(lambda: daemons.replicas().get(daemon.replica) is True, what="leadership")
    wait_until(lambda: fleet.device(serial)["orgUnitPath"] == "/Chromebooks/On loan",
               what="the checkout reaching Google")  # fmt: skip
    live = httpx.get(f"http://127.0.0.1:{daemon.port}/livez", timeout=5)
    ready = httpx.get(f"http://127.0.0.1:{daemon.port}/readyz", timeout=5)
    assert (live.status_code, ready.status_code) == (200, 200)

    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(timeout=60) == 0, daemon.output()
    assert all(status != "running" for _, _, status, _, _ in runs(fleet.ledger))
    assert daemon.replica not in daemons.replicas()
    assert "daemon.stopped" in daemon.output()

    # `fleetsync status` says no daemon runs, which one stopped and since when; no "next
    # reconcile" that nobody will run.
    config = str(fleet.config_path)
    status = json.loads(run_cli("status", "--json", "--config", config).stdout)
    assert status["daemons"] == []
    assert status["next_reconcile"] is None
    assert status["last_daemon"] == {"replica": daemon.replica, "stopped_cleanly": True}
    assert status["no_daemon_since"] is not None
    text = " ".join(run_cli("status", "--config", config).stdout.split())
    assert f"daemons: none running since {_local(status['no_daemon_since'])}" in text
    assert f"({daemon.replica} stopped then)" in text
    assert "next reconcile: none, no daemon is running" in text


def _local(moment: str) -> str:
    return datetime.fromisoformat(moment).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def test_sigterm_mid_reconcile_finishes_the_action_in_flight_and_journals_the_stop(
    daemons: Daemons,
) -> None:
    fleet = daemons.fleet
    serials = fleet.lent_and_returned(25)
    fleet.sandbox.control.faults(latency_ms=60)  # every call is slow: the run lasts seconds
    daemon = daemons.start()
    wait_until(lambda: any(len(fleet.commands(s)) for s in serials), what="the first powerwash")
    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(timeout=60) == 0, daemon.output()
    fleet.sandbox.control.clear_faults()

    statuses = [status for _, _, status, _, _ in runs(fleet.ledger)]
    assert "running" not in statuses
    assert "stopped" in statuses
    # What was not begun is planned again; nothing was sent twice.
    assert fleet.sync(force=True).status in ("converged", "failed")
    assert all(len(fleet.commands(s)) == 1 for s in serials)


ONLY_POSTGRES = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
ONLY_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@ONLY_POSTGRES
def test_two_daemons_elect_one_leader_and_a_standby_takes_over_when_it_dies(
    daemons: Daemons,
) -> None:
    fleet = daemons.fleet
    serials = fleet.lent_and_returned(25)
    fleet.sandbox.control.faults(latency_ms=40)
    first, second = daemons.start(), daemons.start()
    wait_until(lambda: len(daemons.replicas()) == 2, what="both heartbeats")
    wait_until(lambda: sum(daemons.replicas().values()) == 1, what="one leader")
    leader, standby = (first, second) if daemons.replicas()[first.replica] else (second, first)
    wait_until(lambda: any(status == "running" for _, kind, status, _, _ in runs(fleet.ledger)
                           if kind == "full"), what="a full reconcile")  # fmt: skip

    leader.process.kill()  # SIGKILL, mid-reconcile
    leader.process.wait()
    fleet.sandbox.control.clear_faults()
    wait_until(lambda: daemons.replicas().get(standby.replica) is True, timeout=30,
               what="the standby taking over")  # fmt: skip
    wait_until(lambda: any(status == "converged" and kind == "full" and number > 1
                           for number, (_, kind, status, _, _) in enumerate(runs(fleet.ledger))),
               timeout=120, what="a converged full reconcile by the new leader")  # fmt: skip

    with fleet.ledger.read() as session:
        crashed = session.scalar(sa.select(sa.func.count()).where(SyncRun.status == "crashed"))
    assert crashed == 1
    # No two runs ever overlapped: the reconcile lock and a single leader at a time.
    timeline = sorted((start, end) for _, _, _, start, end in runs(fleet.ledger) if end)
    for (_, end), (start, _) in itertools.pairwise(timeline):
        assert start >= end
    assert all(len(fleet.commands(s)) <= 1 for s in serials)


@ONLY_SQLITE
def test_on_sqlite_a_second_daemon_refuses_to_start(daemons: Daemons) -> None:
    fleet = daemons.fleet
    first = daemons.start()
    wait_until(
        lambda: daemons.replicas().get(first.replica) is True, what="the first daemon leading"
    )
    second = daemons.start()
    assert second.process.wait(timeout=60) == 2
    assert "another fleetsync daemon is running on this ledger" in second.output()
    assert "use PostgreSQL" in second.output()
    with pytest.raises(DaemonAlreadyRunning):
        Leadership(fleet.ledger)
