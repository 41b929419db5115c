"""The daemon's daily jobs, run as the scheduler runs them: the overdue list (told to the desk,
signed the Standard Webhooks way) and the retention rules."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook

from fleetsync import clock, services
from fleetsync.daemon.jobs import DaemonContext, installed, overdue_job, retention_job
from fleetsync.ledger.models import Borrower, Loan, PendingCredential
from fleetsync.settings import Settings
from tests.sync.conftest import Fleet

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


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
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/overdue"
    finally:
        server.shutdown()
        server.server_close()


def _context(fleet: Fleet, settings: Settings) -> DaemonContext:
    return DaemonContext(
        settings=settings,
        ledger=fleet.ledger,
        programme=fleet.programme,
        google=fleet.google,
        stop=threading.Event(),
    )


def test_the_overdue_job_tells_the_desk_in_a_signed_call(
    daemon_fleet: Fleet, desk_url: str
) -> None:
    serial, other = daemon_fleet.serials()[:2]
    late = daemon_fleet.checkout(serial, "B-1")
    daemon_fleet.checkout(other, "B-2")
    with daemon_fleet.ledger.transaction() as session:  # the course ended ten days ago
        session.execute(
            sa.update(Loan).where(Loan.id == int(late.loan[2:]))
            .values(agreed_end=services.today() - timedelta(days=10))
        )  # fmt: skip
    settings = daemon_fleet.settings.model_copy(
        update={
            "daemon": daemon_fleet.settings.daemon.model_copy(
                update={
                    "overdue_webhook_url": desk_url,
                    "overdue_webhook_secret": SecretStr(SECRET),
                }
            )
        }
    )
    with installed(_context(daemon_fleet, settings)):
        overdue_job()

    [(headers, body)] = _Desk.received
    event = Webhook(SECRET).verify(body, headers)  # raises if the signature is wrong
    assert event["type"] == "loans.overdue"
    assert [(loan["loan"], loan["borrower"], loan["days_overdue"]) for loan in event["loans"]] == [
        (late.loan, "B-1", 10)
    ]
    assert "Amira" not in body.decode()  # no borrower's name leaves the ledger


def test_the_retention_job_pseudonymises_and_purges(daemon_fleet: Fleet) -> None:
    [serial] = daemon_fleet.serials()[:1]
    daemon_fleet.checkout(serial, "B-1")
    daemon_fleet.return_device(serial)
    with daemon_fleet.ledger.transaction() as session:
        person = session.scalars(sa.select(Borrower).where(Borrower.desk_id == "B-1")).one()
        person.account_status = "deleted"
        session.execute(sa.update(Loan).values(returned_at=clock.now() - timedelta(days=400)))
        session.execute(
            sa.update(PendingCredential).values(expires_at=PendingCredential.created_at)
        )
    with installed(_context(daemon_fleet, daemon_fleet.settings)):
        retention_job()
    with daemon_fleet.ledger.read() as session:
        person = session.scalars(sa.select(Borrower).where(Borrower.desk_id == "B-1")).one()
        credentials = session.scalar(sa.select(sa.func.count()).select_from(PendingCredential))
    assert (person.given_name, person.account_email) == (None, None)
    assert person.pseudonymised_at is not None
    assert credentials == 0
