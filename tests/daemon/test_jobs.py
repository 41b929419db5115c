"""The daemon's daily jobs, run as the scheduler runs them: the overdue list (told to the desk,
signed the Standard Webhooks way) and the retention rules."""

from __future__ import annotations

import base64
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
from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook

from fleetsync import clock, services
from fleetsync.daemon.jobs import DaemonContext, installed, overdue_job, retention_job
from fleetsync.domain.lifecycle import AccountStatus
from fleetsync.ledger.models import Borrower, Loan, PendingCredential
from fleetsync.log import configure_logging
from fleetsync.sandbox.testing import running_sandbox
from fleetsync.settings import SecretUrl, Settings
from tests.sync.conftest import Fleet, make_fleet

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class _Desk(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []
    paths: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Desk.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        _Desk.paths.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def desk_url() -> Iterator[str]:
    _Desk.received = []
    _Desk.paths = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Desk)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/overdue"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def bare_fleet(database_url: str, tmp_path: Path) -> Iterator[Fleet]:
    """An empty tenant and an empty ledger: the overdue job posts its (empty) list all the same."""
    with running_sandbox(tmp_path / "sandbox") as sandbox:
        yield from make_fleet(sandbox, tmp_path, database_url)


def _with_webhook(settings: Settings, url: str, secret: str | None = None) -> Settings:
    daemon = {
        "overdue_webhook_url": SecretUrl(url),
        "overdue_webhook_secret": None if secret is None else SecretStr(secret),
    }
    return settings.model_copy(update={"daemon": settings.daemon.model_copy(update=daemon)})


def _logged(run: Any) -> str:
    out = io.StringIO()
    configure_logging("info", "json", stream=out)
    run()
    return out.getvalue()


def _event(logged: str, name: str) -> dict[str, Any]:
    [event] = [e for e in map(json.loads, logged.splitlines()) if e["event"] == name]
    return dict(event)


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
    settings = _with_webhook(daemon_fleet.settings, desk_url, SECRET)
    with installed(_context(daemon_fleet, settings)):
        overdue_job()

    [(headers, body)] = _Desk.received
    event = Webhook(SECRET).verify(body, headers)  # raises if the signature is wrong
    assert event["type"] == "loans.overdue"
    assert [(loan["loan"], loan["borrower"], loan["days_overdue"]) for loan in event["loans"]] == [
        (late.loan, "B-1", 10)
    ]
    assert "Amira" not in body.decode()  # no borrower's name leaves the ledger


CAPABILITY = "cap-7f3a9c2e"
PASSWORD = "hunter2-Sekr3t"


def test_the_overdue_webhook_url_is_never_logged_and_its_user_info_is_sent_as_basic_auth(
    bare_fleet: Fleet, desk_url: str
) -> None:
    origin, _, path = desk_url.removeprefix("http://").partition("/")
    url = f"http://desk:{PASSWORD}@{origin}/{path}/{CAPABILITY}"
    settings = _with_webhook(bare_fleet.settings, url)
    with installed(_context(bare_fleet, settings)):
        logged = _logged(overdue_job)

    [(headers, _body)] = _Desk.received
    assert _Desk.paths == [f"/{path}/{CAPABILITY}"]
    assert headers["authorization"] == "Basic " + base64.b64encode(
        f"desk:{PASSWORD}".encode()
    ).decode("ascii")
    assert _event(logged, "daemon.overdue_notified")["to"] == f"http://{origin}/…"
    assert PASSWORD not in logged
    assert CAPABILITY not in logged


def test_a_desk_that_cannot_be_reached_is_logged_by_the_url_s_origin_only(
    bare_fleet: Fleet,
) -> None:
    # Nothing listens on port 1.
    settings = _with_webhook(
        bare_fleet.settings, f"http://desk:{PASSWORD}@127.0.0.1:1/{CAPABILITY}"
    )
    with installed(_context(bare_fleet, settings)):
        logged = _logged(overdue_job)
    assert _event(logged, "daemon.overdue_not_notified")["to"] == "http://127.0.0.1:1/…"
    assert PASSWORD not in logged
    assert CAPABILITY not in logged


def test_the_retention_job_pseudonymises_and_purges(daemon_fleet: Fleet) -> None:
    [serial] = daemon_fleet.serials()[:1]
    daemon_fleet.checkout(serial, "B-1")
    daemon_fleet.return_device(serial)
    with daemon_fleet.ledger.transaction() as session:
        person = session.scalars(sa.select(Borrower).where(Borrower.desk_id == "B-1")).one()
        person.account_status = AccountStatus.DELETED
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


def test_the_daily_notice_names_the_course_periods_short_of_devices(
    bare_fleet: Fleet, desk_url: str
) -> None:
    from fleetsync.domain.inventory import parse_devices_csv
    from fleetsync.services import courses, reservations

    fleet = bare_fleet
    today = clock.today()
    rows = parse_devices_csv(
        "serial,asset_tag,model,region,connectivity\n5CDL1,CB-L1,Acer,Limburg,wifi\n",
        regions=fleet.settings.regions,
    )
    with fleet.ledger.transaction() as session:
        services.import_devices(session, rows, actor="cli:tester")
        courses.add_course(
            session, name="Next", first=today + timedelta(days=10),
            last=today + timedelta(days=70), regions=["Limburg"], programme=fleet.programme,
            actor="cli:tester",
        )  # fmt: skip
        for person, data in (("B-1", False), ("B-2", True)):
            reservations.add_reservation(
                session, borrower=person, given_name="Test", region="Limburg", course="Next",
                needs_data=data, programme=fleet.programme, actor="cli:tester",
            )  # fmt: skip
    settings = _with_webhook(fleet.settings, desk_url, SECRET)
    logged = _logged(lambda: _run_overdue(fleet, settings))
    [(headers, body)] = _Desk.received
    event = Webhook(SECRET).verify(body, headers)
    # One wifi device for one wifi reservation; no 4G device for the 4G one.
    assert event["shortfalls"] == [
        {
            "course": "Next",
            "first_day": (today + timedelta(days=10)).isoformat(),
            "region": "Limburg",
            "connectivity": "4g",
            "reserved": 1,
            "shortfall": 1,
        }
    ]
    warning = _event(logged, "daemon.device_shortfall")
    assert (warning["region"], warning["connectivity"], warning["shortfall"]) == (
        "Limburg",
        "4g",
        1,
    )


def _run_overdue(fleet: Fleet, settings: Settings) -> None:
    with installed(_context(fleet, settings)):
        overdue_job()
