"""Overdue escalation end to end against the sandbox, on both databases: reminders and notices
land once each in the borrower's Workspace mailbox (Gmail's users.messages.send, as the
programme's mailbox) whatever restarts in between; an overdue device is disabled with the
return message resolved on its org unit, re-enabled on return, nothing done twice; the desk
hears each step as a signed webhook event; contact details never reach the logs and are gone
after retention."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook

from fleetsync import services
from fleetsync.daemon.jobs import DaemonContext, escalate_job, installed
from fleetsync.domain.contacts import contact
from fleetsync.domain.overdue import Escalation
from fleetsync.google.gmail import Mailbox
from fleetsync.ledger.models import AuditEvent, Loan, LoanContact, LoanEscalation, SyncJournalEntry
from fleetsync.log import configure_logging
from fleetsync.sandbox.testing import running_sandbox
from fleetsync.services.overdue import take_due_steps
from fleetsync.services.retention import apply_retention
from fleetsync.settings import GMAIL_SEND_SCOPE, GOOGLE_SCOPES
from fleetsync.sync import drain_outbox
from fleetsync.sync.desk_events import notify_desk
from fleetsync.sync.escalate import EscalationReport, escalate
from tests.cli_runner import run_cli
from tests.pinned import PINNED_AT, TODAY, days_from_today
from tests.sync.conftest import ACTOR, Fleet, make_fleet

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SENDER = "leenpunt@example.org"
PHONE = "+32 470 12 34 56"
OWN_EMAIL = "ayse.private@example.net"
LOCKED_OU = "/Chromebooks/On loan/Locked"


class _Desk(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Desk.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def desk_url() -> Iterator[str]:
    _Desk.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Desk)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def programme_fleet(database_url: str, tmp_path: Path, desk_url: str) -> Iterator[Fleet]:
    """The agency's fleet adopted, with every escalation step and a programme mailbox."""
    with running_sandbox(tmp_path / "sandbox", fleet="agency") as sandbox:
        sandbox.directory().users().insert(
            body={
                "primaryEmail": SENDER,
                "name": {"givenName": "Leen", "familyName": "Punt"},
                "password": "a-long-sandbox-password",
            }
        ).execute()
        for fleet in make_fleet(
            sandbox,
            tmp_path,
            database_url,
            messages={"sender": SENDER, "sender_name": "Leenpunt"},
            overdue={"reminder_days_before": 3, "notice_on_first_day": True, "lock_after_days": 14},
            daemon={"overdue_webhook_url": desk_url, "overdue_webhook_secret": SECRET},
        ):
            assert fleet.sync(adopt=True).status == "converged"
            yield fleet


def _lend(fleet: Fleet, serial: str, borrower: str, *, ends_in: int, **given: str) -> str:
    with fleet.ledger.transaction() as session:
        result = services.checkout(
            session,
            device=serial,
            borrower=borrower,
            given_name="Ayşe",
            family_name=f"Öztürk {borrower}",
            region="Antwerpen",
            until=days_from_today(max(ends_in, 0)),
            contact=contact(**given) if given else None,
            programme=fleet.programme,
            actor=ACTOR,
        )
        if ends_in < 0:  # lent long ago: its agreed end has passed
            session.execute(
                sa.update(Loan)
                .where(Loan.id == int(result.loan[2:]))
                .values(agreed_end=days_from_today(ends_in))
            )
    drain_outbox(fleet.ledger, fleet.settings, google=fleet.google, programme=fleet.programme)
    assert result.account_email is not None
    return result.account_email


def _escalate(fleet: Fleet) -> EscalationReport:
    """One run, as the daemon's hourly job makes it: a fresh mailbox connection each time."""
    mailbox = Mailbox(fleet.settings.google, sender=SENDER, sender_name="Leenpunt")
    try:
        return escalate(
            fleet.ledger,
            fleet.settings,
            programme=fleet.programme,
            mailbox=mailbox,
            notify=lambda payload: notify_desk(fleet.settings, payload),
            today=TODAY,
        )
    finally:
        mailbox.close()


def _events() -> list[dict[str, Any]]:
    return [Webhook(SECRET).verify(body, headers) for headers, body in _Desk.received]


def test_reminders_and_notices_land_once_each_whatever_restarts(programme_fleet: Fleet) -> None:
    fleet = programme_fleet
    first, second, third = fleet.serials()[:3]
    crashed = _lend(fleet, third, "B-3", ends_in=-2)
    # A run that died after recording B-3's notice and before sending it.
    with fleet.ledger.transaction() as session:
        take_due_steps(
            session,
            escalation=Escalation(reminder_days_before=3, notice_on_first_day=True, messages=True),
            today=TODAY,
            key=fleet.programme.key,
            now=PINNED_AT,
        )
    soon = _lend(fleet, first, "B-1", ends_in=2)
    late = _lend(fleet, second, "B-2", ends_in=-1, phone=PHONE, language="en")

    report = _escalate(fleet)
    assert sorted(report.sent) == sorted([_loan(fleet, first), _loan(fleet, second)])
    for _restart in range(2):
        assert _escalate(fleet).sent == []

    control = fleet.sandbox.control
    [reminder] = control.messages(to=soon)
    assert reminder["from"] == SENDER
    assert reminder["subject"].startswith("Uw Chromebook moet binnenkort terug")
    assert _loan(fleet, first) in reminder["text"]
    [notice] = control.messages(to=late)
    assert notice["subject"] == "Your Chromebook was due back yesterday"
    assert notice["language"] == "en"
    assert control.messages(to=crashed) == []  # its outcome was lost: never sent again
    with fleet.ledger.read() as session:
        states = dict(
            session.execute(sa.select(LoanEscalation.loan_id, LoanEscalation.state)).all()
        )
        actions = session.scalars(sa.select(AuditEvent.action)).all()
    assert sorted(states.values()) == ["sent", "sent", "unknown"]
    assert actions.count("overdue_reminder") == 2  # recorded, then sent
    assert actions.count("overdue_notice") == 3  # two recorded, one sent

    # The desk heard of each message sent, once.
    events = _events()
    assert sorted((e["type"], e["data"]["loan"], e["data"]["step"]) for e in events) == sorted(
        [
            ("loan.reminder_sent", _loan(fleet, first), "reminder"),
            ("loan.reminder_sent", _loan(fleet, second), "notice"),
        ]
    )

    # The desk's overdue list: the step reached, and how to reach the borrower.
    listed = run_cli("loan", "list", "--overdue", "--json", "--config", str(fleet.config_path))
    assert listed.exit_code == 0, listed.output
    by_loan = {row["loan"]: row for row in json.loads(listed.stdout)}
    assert by_loan[_loan(fleet, second)]["escalation"] == "notice sent"
    assert by_loan[_loan(fleet, second)]["contact"] == {
        "phone": PHONE,
        "email": None,
        "language": "en",
    }
    assert by_loan[_loan(fleet, third)]["escalation"] == "notice unknown"


def _loan(fleet: Fleet, serial: str) -> str:
    with fleet.ledger.read() as session:
        found = session.scalars(
            sa.select(Loan.id)
            .join(Loan.device)
            .where(Loan.device.has(serial=serial))
            .order_by(Loan.id.desc())
        ).first()
    assert found is not None
    return f"L-{found}"


def test_an_overdue_device_is_locked_with_the_return_message_and_unlocked_on_return(
    programme_fleet: Fleet,
) -> None:
    fleet = programme_fleet
    serial, other = fleet.serials()[3:5]
    _lend(fleet, serial, "B-4", ends_in=-14)
    _lend(fleet, other, "B-5", ends_in=-13)  # one day short of the lock
    loan = _loan(fleet, serial)

    _escalate(fleet)
    report = fleet.sync()
    assert report.status == "converged", report.to_json()
    device = fleet.device(serial)
    assert (device["status"], device["orgUnitPath"]) == ("DISABLED", LOCKED_OU)
    assert fleet.device(other)["status"] == "ACTIVE"
    [resolved] = fleet.resolved(LOCKED_OU, "chrome.devices.*")
    assert resolved["value"]["policySchema"] == "chrome.devices.DisabledDeviceReturnInstructions"
    assert resolved["value"]["value"]["deviceDisabledMessage"].startswith("Deze Chromebook is")
    assert report.plan.safety.to_json()["counts"].get("disables") == 1

    _escalate(fleet)  # Google confirmed it: locked, and the desk is told
    assert fleet.sync().plan.actions == ()  # nothing twice
    _escalate(fleet)
    listed = run_cli("loan", "list", "--overdue", "--json", "--config", str(fleet.config_path))
    assert {r["loan"]: r["escalation"] for r in json.loads(listed.stdout)}[loan] == "locked"

    with fleet.ledger.transaction() as session:
        services.return_device(session, device=serial, actor=ACTOR)
    drain_outbox(fleet.ledger, fleet.settings, google=fleet.google, programme=fleet.programme)
    device = fleet.device(serial)
    assert (device["status"], device["orgUnitPath"]) == ("ACTIVE", "/Chromebooks/Refurbishment")
    _escalate(fleet)
    _escalate(fleet)

    assert [(e["type"], e["data"]["loan"]) for e in _events() if e["data"]["step"] == "lock"] == [
        ("loan.device_locked", loan),
        ("loan.device_unlocked", loan),
    ]
    with fleet.ledger.read() as session:
        journal = session.execute(
            sa.select(SyncJournalEntry.kind, SyncJournalEntry.detail)
            .where(
                SyncJournalEntry.kind.in_(["disable_devices", "reenable_devices"]),
                SyncJournalEntry.state == "done",
            )
            .order_by(SyncJournalEntry.id)
        ).all()
        [lock] = session.scalars(
            sa.select(LoanEscalation).where(LoanEscalation.step == "lock")
        ).all()
    kinds = [kind for kind, detail in journal if serial in json.dumps(detail)]
    assert kinds == ["disable_devices", "reenable_devices"]
    assert (lock.step, lock.state, lock.detail) == ("lock", "unlocked", "returned")
    assert len(fleet.commands(serial)) == 1  # the return's powerwash, issued once re-enabled


def test_a_withdrawn_lock_re_enables_the_device_for_good(programme_fleet: Fleet) -> None:
    fleet = programme_fleet
    serial = fleet.serials()[5]
    _lend(fleet, serial, "B-6", ends_in=-20)
    loan = _loan(fleet, serial)
    _escalate(fleet)
    fleet.sync()
    assert fleet.device(serial)["status"] == "DISABLED"
    config = str(fleet.config_path)
    unlocked = run_cli("loan", "unlock", loan, "--reason", "agreed by phone", "--config", config)
    assert unlocked.exit_code == 0, unlocked.output
    again = run_cli("loan", "unlock", loan, "--config", config)
    assert again.exit_code == 3
    shown = run_cli("loan", "show", loan, "--json", "--config", config)
    assert json.loads(shown.stdout)["escalation"] == "unlocking"
    fleet.sync()
    device = fleet.device(serial)
    assert (device["status"], device["orgUnitPath"]) == ("ACTIVE", "/Chromebooks/On loan")
    _escalate(fleet)
    fleet.sync()
    assert fleet.device(serial)["status"] == "ACTIVE"  # never locked again for this loan


def test_messages_are_refused_without_the_gmail_scope(programme_fleet: Fleet) -> None:
    fleet = programme_fleet
    fleet.sandbox.control.delegated_scopes(list(GOOGLE_SCOPES))  # gmail.send not delegated
    check = run_cli("config", "check", "--online", "--json", "--config", str(fleet.config_path))
    assert check.exit_code == 2, check.output
    [gmail] = [c for c in json.loads(check.stdout)["online"] if c["scope"] == GMAIL_SEND_SCOPE]
    assert gmail["ok"] is False
    assert "domain-wide delegation" in gmail["error"]

    address = _lend(fleet, fleet.serials()[6], "B-7", ends_in=-1)
    report = _escalate(fleet)
    assert report.failed == [_loan(fleet, fleet.serials()[6])]
    assert fleet.sandbox.control.messages(to=address) == []
    with fleet.ledger.read() as session:
        [step] = session.scalars(sa.select(LoanEscalation)).all()  # one loan, one step due
    assert (step.step, step.state) == ("notice", "failed")
    assert _escalate(fleet).failed == []  # recorded once: not retried blindly

    fleet.sandbox.control.delegated_scopes([*GOOGLE_SCOPES, GMAIL_SEND_SCOPE])
    check = run_cli("config", "check", "--online", "--config", str(fleet.config_path))
    assert check.exit_code == 0, check.output


def test_contact_details_never_reach_the_logs_and_are_gone_after_retention(
    programme_fleet: Fleet,
) -> None:
    fleet = programme_fleet
    serial = fleet.serials()[7]
    out = io.StringIO()
    configure_logging("debug", "json", stream=out)
    config = str(fleet.config_path)
    lent = run_cli(
        "loan", "checkout", "--serial", serial, "--borrower-id", "B-8", "--given-name", "Ayşe",
        "--region", "Antwerpen", "--until", TODAY.isoformat(), "--phone", PHONE,
        "--email", OWN_EMAIL, "--language", "en", "--hide-password", "--config", config,
    )  # fmt: skip
    assert lent.exit_code == 0, lent.output
    assert PHONE not in lent.output
    with fleet.ledger.transaction() as session:
        session.execute(sa.update(Loan).values(agreed_end=days_from_today(-1)))
    configure_logging("debug", "json", stream=out)  # the CLI logged to its own stderr
    drain_outbox(fleet.ledger, fleet.settings, google=fleet.google, programme=fleet.programme)
    _escalate(fleet)
    listed = run_cli("loan", "list", "--overdue", "--json", "--config", config)
    [row] = json.loads(listed.stdout)
    assert row["contact"]["phone"] == PHONE  # the desk sees it on the overdue list
    logged = out.getvalue() + lent.stderr + listed.stderr
    assert logged
    for secret in (PHONE, OWN_EMAIL):
        assert secret not in logged
    with fleet.ledger.read() as session:
        [sealed] = session.scalars(sa.select(LoanContact.sealed)).all()
        audit = json.dumps([e.after for e in session.scalars(sa.select(AuditEvent))])
    for secret in (PHONE, OWN_EMAIL):
        assert secret not in sealed
        assert secret not in audit

    with fleet.ledger.transaction() as session:
        services.return_device(session, device=serial, actor=ACTOR)
        session.execute(sa.text("UPDATE borrowers SET account_status = 'deleted'"))
    with fleet.ledger.transaction() as session:
        report = apply_retention(
            session,
            pseudonymise_after=timedelta(days=365),
            now=PINNED_AT + timedelta(days=400),
        )
    assert report.pseudonymised == ("B-8",)
    with fleet.ledger.read() as session:
        assert session.scalars(sa.select(LoanContact)).all() == []


def test_the_daemon_s_escalate_job_sends_and_locks_as_configured(programme_fleet: Fleet) -> None:
    fleet = programme_fleet
    serial = fleet.serials()[8]
    address = _lend(fleet, serial, "B-9", ends_in=-15)
    context = DaemonContext(
        settings=fleet.settings,
        ledger=fleet.ledger,
        programme=fleet.programme,
        google=fleet.google,
        stop=threading.Event(),
    )
    with installed(context):
        escalate_job()
        escalate_job()  # the next hour: nothing twice
    [notice] = fleet.sandbox.control.messages(to=address)
    assert notice["subject"].startswith("Uw Chromebook had gisteren terug moeten zijn")
    with fleet.ledger.read() as session:
        steps = dict(session.execute(sa.select(LoanEscalation.step, LoanEscalation.state)).all())
    assert steps == {"notice": "sent", "lock": "locking"}
