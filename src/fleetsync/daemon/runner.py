"""``fleetsync daemon``: the API and, on the leading replica, the scheduler, in one process.

- The API (the loan desk's webhooks, status, health, metrics) runs on every replica.
- The scheduler runs only on the leader (``leader.py``). Each time a replica becomes leader it
  starts a fresh APScheduler 3 ``BackgroundScheduler`` whose job store is the ledger's database;
  when it loses leadership, or is told to stop, the jobs' stop signal is set, the action in flight
  finishes and is journaled, and the scheduler shuts down.
- Jobs never overlap: one instance each, missed runs coalesced; every reconcile also holds the
  ledger's reconcile lock.
- SIGTERM / SIGINT: stop taking work, finish the action in flight, write the journal, exit 0.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
from collections.abc import Callable
from datetime import datetime
from types import FrameType
from typing import Any

import sqlalchemy as sa
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from fleetsync import clock, services
from fleetsync.daemon.jobs import JOBS, DaemonContext, installed
from fleetsync.daemon.leader import Leadership
from fleetsync.google import Google
from fleetsync.ledger import Ledger, open_ledger
from fleetsync.ledger.models import STOPPED_PREFIX, DaemonReplica
from fleetsync.log import get_logger
from fleetsync.settings import Settings

__all__ = ["JOB_TABLE", "Daemon", "run_daemon"]

log = get_logger(__name__)

#: APScheduler's job store table, in the ledger's database (made by the migrations).
JOB_TABLE = "apscheduler_jobs"

#: Starts the API and blocks until it stops (``uvicorn.Server.run``); ``None``: no API.
ServeApi = Callable[[], None]


class Daemon:
    def __init__(self, settings: Settings, ledger: Ledger) -> None:
        self.settings = settings
        self.ledger = ledger
        self.stopping = threading.Event()
        self.leadership = Leadership(ledger)  # on SQLite: refuses a second daemon here
        self.google = Google.connect(settings)
        self.programme = services.Programme.from_settings(settings)
        self.replica = f"{socket.gethostname()}:{os.getpid()}"
        self._term: tuple[BackgroundScheduler, threading.Event] | None = None
        self._term_context = contextlib.ExitStack()
        self._elector = threading.Thread(target=self._elect, name="leader-election", daemon=True)

    # ------------------------------------------------------------------ leadership
    def start(self) -> None:
        self._elector.start()

    def _elect(self) -> None:
        poll = self.settings.daemon.leader_poll_seconds
        announced_standby = False
        while not self.stopping.is_set():
            leads = self.leadership.poll()
            if not leads and self._term is None and not announced_standby:
                log.info("daemon.standby", replica=self.replica, poll_seconds=poll)
                announced_standby = True
            if leads and self._term is None:
                announced_standby = False
                self._lead()
            elif not leads and self._term is not None:
                log.warning("daemon.leadership_lost")
                self._step_down()
            self._heartbeat(leads)
            self.stopping.wait(poll)
        self._step_down()

    def _heartbeat(self, leads: bool) -> None:
        """Say this replica is alive (and whether it leads): `fleetsync status` shows it."""
        now = clock.now()
        try:
            with self.ledger.transaction() as session:
                row = session.get(DaemonReplica, self.replica)
                if row is None:
                    session.add(
                        DaemonReplica(
                            replica=self.replica, leader=leads, started_at=now, heartbeat_at=now
                        )
                    )
                else:
                    row.leader, row.heartbeat_at = leads, now
        except sa.exc.DBAPIError:
            log.warning("daemon.heartbeat_failed", exc_info=True)

    def _forget(self) -> None:
        # The row goes; one row says which daemon stopped last and when, so that `fleetsync
        # status` can say since when none runs (its name is never a running replica's host:pid).
        try:
            with self.ledger.transaction() as session:
                row = session.get(DaemonReplica, self.replica)
                session.execute(
                    sa.delete(DaemonReplica).where(
                        (DaemonReplica.replica == self.replica)
                        | DaemonReplica.replica.startswith(STOPPED_PREFIX)
                    )
                )
                now = clock.now()
                session.add(
                    DaemonReplica(
                        replica=STOPPED_PREFIX + self.replica,
                        leader=False,
                        started_at=now if row is None else row.started_at,
                        heartbeat_at=now,
                    )
                )
        except sa.exc.DBAPIError:
            log.warning("daemon.forget_failed", exc_info=True)

    def _lead(self) -> None:
        term_stop = threading.Event()
        context = DaemonContext(
            settings=self.settings,
            ledger=self.ledger,
            programme=self.programme,
            google=self.google,
            stop=term_stop,
        )
        scheduler = _scheduler(self.settings, self.ledger)
        self._term_context.enter_context(installed(context))
        scheduler.start()
        self._term = (scheduler, term_stop)
        log.info(
            "daemon.leader", replica=self.replica, jobs=sorted(JOBS), shared=self.leadership.shared
        )

    def _step_down(self) -> None:
        if self._term is None:
            return
        scheduler, term_stop = self._term
        term_stop.set()  # jobs finish the action in flight and stop
        scheduler.shutdown(wait=True)
        self._term_context.close()
        self._term = None

    # ------------------------------------------------------------------- shutdown
    def stop(self) -> None:
        """Stop: finish the action in flight, write the journal, release leadership."""
        self.stopping.set()
        if self._elector.is_alive():
            self._elector.join()
        else:
            self._step_down()
        self.leadership.release()
        self._forget()
        self.google.close()
        log.info("daemon.stopped")


def _scheduler(settings: Settings, ledger: Ledger) -> BackgroundScheduler:
    daemon = settings.daemon
    hour, minute = (int(part) for part in daemon.daily_at.split(":"))
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=ledger.engine, tablename=JOB_TABLE)},
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )
    now = datetime.now().astimezone()
    schedule: dict[str, tuple[Any, datetime | None]] = {
        "reconcile": (IntervalTrigger(minutes=daemon.reconcile_interval_minutes), now),
        "track": (IntervalTrigger(seconds=daemon.command_tracker_interval_seconds), None),
        "outbox": (IntervalTrigger(seconds=daemon.outbox_interval_seconds), now),
        "overdue": (CronTrigger(hour=hour, minute=minute), None),
        "retention": (CronTrigger(hour=hour, minute=minute, second=30), None),
        # Hourly: reminders go out on their day, locks settle soon after Google confirms them.
        "escalate": (IntervalTrigger(minutes=60), now),
    }
    for job_id, (trigger, first) in schedule.items():
        options: dict[str, Any] = {"next_run_time": first} if first is not None else {}
        scheduler.add_job(
            JOBS[job_id], trigger, id=job_id, name=job_id, replace_existing=True, **options
        )
    return scheduler


def run_daemon(settings: Settings, *, serve_api: Callable[[Ledger], None] | None) -> int:
    """Run until SIGTERM / SIGINT; returns the exit code (0 after a clean stop)."""
    with open_ledger(settings) as ledger:
        daemon = Daemon(settings, ledger)
        stopped = threading.Event()

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("daemon.signal", signal=signal.Signals(signum).name)
            stopped.set()

        # Installed before the API's server, which hands signals back to these when it stops.
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            daemon.start()
            log.info("daemon.started", api=serve_api is not None)
            if serve_api is not None:
                serve_api(ledger)
            stopped.wait()
        finally:
            daemon.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    return 0
