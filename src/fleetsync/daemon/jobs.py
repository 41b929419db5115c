"""The daemon's jobs. APScheduler keeps them in the ledger's database by reference
(``fleetsync.daemon.jobs:reconcile_job``); what they work with — the ledger, the connection to
Google, the stop signal — is the running daemon's :class:`DaemonContext`.

Every job catches what goes wrong and logs it: a failed run is retried at the next trigger, and
the scheduler itself never dies of a job's error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fleetsync import services
from fleetsync.google import Google
from fleetsync.google.gmail import Mailbox
from fleetsync.ledger import Ledger, forecast, queries
from fleetsync.ledger.erasure import flush_erased
from fleetsync.log import get_logger
from fleetsync.services.retention import apply_retention
from fleetsync.settings import SecretUrl, Settings
from fleetsync.sync import SyncBusy, drain_outbox, reconcile, track_commands
from fleetsync.sync.desk_events import notify_desk
from fleetsync.sync.escalate import escalate
from fleetsync.sync.lock import reconciler_lock

__all__ = [
    "JOBS",
    "DaemonContext",
    "escalate_job",
    "installed",
    "outbox_job",
    "overdue_job",
    "reconcile_job",
    "retention_job",
    "track_job",
]

log = get_logger(__name__)


@dataclass
class DaemonContext:
    settings: Settings
    ledger: Ledger
    programme: services.Programme
    google: Google
    stop: threading.Event


_context: DaemonContext | None = None


@contextmanager
def installed(context: DaemonContext) -> Iterator[DaemonContext]:
    """Make ``context`` the one the jobs use while the daemon runs."""
    global _context
    _context = context
    try:
        yield context
    finally:
        _context = None


def _job(name: str) -> Callable[[Callable[[DaemonContext], None]], Callable[[], None]]:
    def wrap(body: Callable[[DaemonContext], None]) -> Callable[[], None]:
        def run() -> None:
            context = _context
            if context is None or context.stop.is_set():
                return
            try:
                body(context)
            except SyncBusy:
                log.info("daemon.job_skipped", job=name, why="another reconcile holds the lock")
            except Exception:
                log.exception("daemon.job_failed", job=name)

        run.__name__ = run.__qualname__ = f"{name}_job"
        run.__doc__ = body.__doc__
        return run

    return wrap


@_job("reconcile")
def reconcile_job(c: DaemonContext) -> None:
    """The full reconcile (it follows device commands too)."""
    report = reconcile(c.ledger, c.settings, google=c.google, programme=c.programme, stop=c.stop)
    if report.held:
        log.warning("daemon.reconcile_held", why=report.plan.safety.describe())


@_job("track")
def track_job(c: DaemonContext) -> None:
    """Follow open device commands; devices made ready are moved by the outbox drain."""
    with reconciler_lock(c.ledger):
        report = track_commands(c.ledger, c.google, c.settings)
    if report.executed or report.reissued or report.flagged:
        log.info("daemon.commands", **report.to_json())


@_job("outbox")
def outbox_job(c: DaemonContext) -> None:
    """Targeted reconciles for the ledger changes waiting in the outbox."""
    handled = drain_outbox(
        c.ledger, c.settings, google=c.google, programme=c.programme, stop=c.stop
    )
    if handled:
        log.info("daemon.outbox_drained", entries=handled)


@_job("overdue")
def overdue_job(c: DaemonContext) -> None:
    """List the loans past their agreed end and the course periods short of devices, and tell
    the desk when configured."""
    today = services.today()
    with c.ledger.read() as session:
        loans = queries.loan_rows(session, today=today, overdue=True)
        short = [
            {
                "course": row.course,
                "first_day": row.first.isoformat(),
                "region": row.region,
                "connectivity": row.connectivity,
                "reserved": row.reserved,
                "shortfall": row.shortfall,
            }
            for row in forecast.shortfalls(session, today=today)
        ]
    for loan in loans:
        log.warning(
            "daemon.loan_overdue",
            loan=loan["loan"],
            serial=loan["serial"],
            borrower=loan["borrower"],
            agreed_end=loan["agreed_end"],
            days_overdue=loan["days_overdue"],
        )
    for item in short:
        log.warning("daemon.device_shortfall", **item)
    log.info("daemon.overdue", loans=len(loans), shortfalls=len(short))
    url = c.settings.daemon.overdue_webhook_url
    if url:
        _notify(
            url,
            c,
            {
                "type": "loans.overdue",
                "date": today.isoformat(),
                "loans": loans,
                "shortfalls": short,
            },
        )


def _notify(url: SecretUrl, c: DaemonContext, payload: dict[str, Any]) -> None:
    """POST the event to the desk (``fleetsync.sync.desk_events``)."""
    notify_desk(c.settings, payload, logged_as="daemon.overdue")


@_job("escalate")
def escalate_job(c: DaemonContext) -> None:
    """Overdue escalation: reminders, notices and locks due, each once per loan."""
    mailbox = None
    sender = c.settings.messages.sender
    if sender:
        mailbox = Mailbox(
            c.settings.google, sender=sender, sender_name=c.settings.messages.sender_name
        )
    try:
        escalate(
            c.ledger,
            c.settings,
            programme=c.programme,
            mailbox=mailbox,
            notify=lambda payload: notify_desk(c.settings, payload),
        )
    finally:
        if mailbox is not None:
            mailbox.close()


@_job("retention")
def retention_job(c: DaemonContext) -> None:
    """Pseudonymise borrowers after the legal retention; drop expired first passwords.
    (Accounts are deleted by the reconcile, once their retention after the return passed.)"""
    with c.ledger.transaction() as session:
        report = apply_retention(
            session,
            pseudonymise_after=timedelta(days=c.settings.accounts.pseudonymise_after_days),
            deliveries_kept=timedelta(days=c.settings.api.delivery_retention_days),
        )
    if report.pseudonymised:
        flush_erased(c.ledger)
    log.info(
        "daemon.retention",
        pseudonymised=len(report.pseudonymised),
        credentials_purged=report.credentials_purged,
        deliveries_purged=report.deliveries_purged,
    )


#: Job id → the reference APScheduler stores.
JOBS = {
    "reconcile": "fleetsync.daemon.jobs:reconcile_job",
    "track": "fleetsync.daemon.jobs:track_job",
    "outbox": "fleetsync.daemon.jobs:outbox_job",
    "overdue": "fleetsync.daemon.jobs:overdue_job",
    "retention": "fleetsync.daemon.jobs:retention_job",
    "escalate": "fleetsync.daemon.jobs:escalate_job",
}
