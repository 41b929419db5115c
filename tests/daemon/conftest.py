"""``fleetsync daemon`` as the ICT service runs it: real processes against the sandbox and a real
database, with timings short enough for a test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from fleetsync.domain.actions import Budget
from fleetsync.ledger import Ledger
from fleetsync.ledger.models import STOPPED_PREFIX, DaemonReplica, SyncRun
from fleetsync.sandbox.testing import running_sandbox
from tests.sync.conftest import Fleet, make_fleet

#: Every job often: a test sees a leader, a reconcile and a takeover within seconds.
FAST_DAEMON = {
    "leader_poll_seconds": 1,
    "reconcile_interval_minutes": 1,
    "command_tracker_interval_seconds": 5,
    "outbox_interval_seconds": 1,
}


#: A test returns 25 of 25 devices at once: far over the production limits, on purpose.
GENEROUS_LIMITS = {budget.value: {"per_hour": 10_000, "per_day": 10_000} for budget in Budget}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class DaemonProcess:
    process: subprocess.Popen[bytes]
    port: int | None
    log: Path

    @property
    def replica(self) -> str:
        return f"{socket.gethostname()}:{self.process.pid}"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@dataclass
class Daemons:
    fleet: Fleet
    directory: Path
    started: list[DaemonProcess] = field(default_factory=list)

    def start(self, *, api: bool = False) -> DaemonProcess:
        port = free_port() if api else None
        log = self.directory / f"daemon-{len(self.started)}.log"
        args = [
            sys.executable,
            "-m",
            "fleetsync",
            "daemon",
            "--config",
            str(self.fleet.config_path),
        ]
        args += ["--port", str(port)] if port else ["--no-api"]
        with log.open("wb") as out:
            process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        started = DaemonProcess(process, port, log)
        self.started.append(started)
        return started

    def replicas(self) -> dict[str, bool]:
        """The replicas with a row (a running one's; not the row of the one that stopped last)."""
        with self.fleet.ledger.read() as session:
            return dict(
                session.execute(
                    sa.select(DaemonReplica.replica, DaemonReplica.leader).where(
                        ~DaemonReplica.replica.startswith(STOPPED_PREFIX)
                    )
                ).all()
            )

    def stop_all(self) -> None:
        for daemon in self.started:
            if daemon.process.poll() is None:
                daemon.process.send_signal(signal.SIGTERM)
        for daemon in self.started:
            try:
                daemon.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                daemon.process.kill()
                daemon.process.wait()


def runs(ledger: Ledger) -> list[tuple[int, str, str, datetime, datetime | None]]:
    with ledger.read() as session:
        return [
            (r.id, r.kind, r.status, r.started_at, r.finished_at)
            for r in session.scalars(sa.select(SyncRun).order_by(SyncRun.id))
        ]


@pytest.fixture
def daemon_fleet(database_url: str, tmp_path: Path) -> Iterator[Fleet]:
    """The agency's fleet adopted, with the daemon's timings made short."""
    with running_sandbox(tmp_path / "sandbox", fleet="agency") as sandbox:
        for fleet in make_fleet(
            sandbox, tmp_path, database_url, daemon=FAST_DAEMON, safety=GENEROUS_LIMITS
        ):
            assert fleet.sync(adopt=True).status == "converged"
            yield fleet


@pytest.fixture
def daemons(daemon_fleet: Fleet, tmp_path: Path) -> Iterator[Daemons]:
    running = Daemons(daemon_fleet, tmp_path)
    try:
        yield running
    finally:
        running.stop_all()
        for daemon in running.started:
            if os.environ.get("FLEETSYNC_TEST_SHOW_DAEMON_LOGS"):
                print(daemon.output())
