"""The API on a fresh ledger (SQLite and PostgreSQL), two loan desks that sign their events with the
``standardwebhooks`` library exactly as a desk's software would, and an outbox drain that does
real ledger work (it marks the pending entries done, as the reconciler does once it is through)."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from standardwebhooks import Webhook

from fleetsync import clock, services
from fleetsync.api import create_app
from fleetsync.domain.inventory import parse_devices_csv
from fleetsync.ledger import Ledger, open_ledger
from fleetsync.ledger.models import AuditEvent, Loan, OutboxEntry, WebhookDelivery
from fleetsync.log import configure_logging
from fleetsync.settings import ApiSettings, DaemonSettings, DeskSettings, Settings
from tests.pinned import days_from_today
from tests.waiting import wait_until

WEBHOOK = "/webhooks/loan-desk"
#: For what is decided before the ledger is touched (signatures, limits, validation, tokens):
#: one database is enough.
ANY_DATABASE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
#: The devices every API test starts with: serial, asset tag, model, region, connectivity.
DEVICES = (
    "5CD1234XYZ,CB-0001,Acer Chromebook 314,Antwerpen,4g",
    "5CD2000AAA,CB-0002,Acer Chromebook 314,Antwerpen,wifi",
    "5CD3000BBB,CB-0003,Acer Chromebook 314,Brussel,wifi",
)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass
class Desk:
    """A loan desk: its name, its signing secrets (newest last) and its API token."""

    name: str
    secrets: list[str]
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def sign(
        self,
        body: bytes,
        *,
        webhook_id: str | None = None,
        at: datetime | None = None,
        secret: str | None = None,
    ) -> dict[str, str]:
        """The Standard Webhooks headers for ``body``, as the desk's software sends them."""
        webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
        at = at or datetime.now(UTC)
        signature = Webhook(secret or self.secrets[-1]).sign(webhook_id, at, body.decode())
        return {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature,
            "content-type": "application/json",
        }

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def event(kind: str, **data: Any) -> bytes:
    return json.dumps({"type": kind, "data": data}).encode()


def checkout_event(
    serial: str = "5CD1234XYZ", borrower_id: str = "B-1017", **changes: Any
) -> bytes:
    data: dict[str, Any] = {
        "device": {"serial": serial},
        "borrower": {
            "id": borrower_id,
            "given_name": "Ayşe",
            "family_name": "Öztürk",
            "region": "Antwerpen",
        },
        "agreed_end": days_from_today(60).isoformat(),
        "needs_data": False,
    }
    data.update(changes)
    return event("loan.checked_out", **data)


@pytest.fixture(autouse=True)
def _logging_as_served() -> None:
    # As `fleetsync serve` logs (secrets redacted, JSON lines), to the current stderr: a CLI test
    # may have left structlog on a closed stream, and structlog's own default renders a traceback
    # with every local variable of the ASGI stack (seconds per logged error).
    configure_logging("info", "json")


@pytest.fixture
def antwerpen() -> Desk:
    return Desk("antwerpen", [new_secret()])


@pytest.fixture
def brussel() -> Desk:
    return Desk("brussel", [new_secret()])


@pytest.fixture
def admin_token() -> str:
    return secrets.token_urlsafe(32)


def api_settings(database_url: str, data_dir: Path, desks: list[Desk], admin: str) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        api=ApiSettings(
            desks={
                d.name: DeskSettings(
                    secrets=tuple(SecretStr(s) for s in d.secrets), token=SecretStr(d.token)
                )
                for d in desks
            },
            admin_tokens=(SecretStr(admin),),
        ),
        daemon=DaemonSettings(outbox_interval_seconds=1),
    )


@pytest.fixture
def settings(
    database_url: str, tmp_path: Path, antwerpen: Desk, brussel: Desk, admin_token: str
) -> Settings:
    return api_settings(database_url, tmp_path / "data", [antwerpen, brussel], admin_token)


@pytest.fixture
def ledger(settings: Settings) -> Iterator[Ledger]:
    with open_ledger(settings) as opened:
        add_devices(opened, *DEVICES)
        yield opened


def add_devices(ledger: Ledger, *lines: str) -> None:
    text = "serial,asset_tag,model,region,connectivity\n" + "\n".join(lines) + "\n"
    rows = parse_devices_csv(text, regions=("Antwerpen", "Brussel"))
    with ledger.transaction() as session:
        services.import_devices(session, rows, actor="cli:tester")


def mark_outbox_done(ledger: Ledger) -> Callable[[threading.Event], int]:
    """A real drain: what the reconciler does last, marking the pending entries done."""

    def drain(_stopping: threading.Event) -> int:
        with ledger.transaction() as session:
            result = session.execute(
                sa.update(OutboxEntry)
                .where(OutboxEntry.done_at.is_(None))
                .values(done_at=clock.now())
            )
            return int(getattr(result, "rowcount", 0))

    return drain


@pytest.fixture
def app(settings: Settings, ledger: Ledger) -> FastAPI:
    return create_app(settings, ledger, drain=mark_outbox_done(ledger))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as running:
        yield running


def deliver(
    client: TestClient | httpx.Client, desk: Desk, body: bytes, **sign: Any
) -> httpx.Response:
    return client.post(WEBHOOK, content=body, headers=desk.sign(body, **sign))


# --------------------------------------------------------------------------- ledger reads
def count(ledger: Ledger, model: type[Any], *where: Any) -> int:
    with ledger.read() as session:
        stmt = sa.select(sa.func.count()).select_from(model).where(*where)
        return session.scalar(stmt) or 0


def pending_outbox(ledger: Ledger) -> int:
    return count(ledger, OutboxEntry, OutboxEntry.done_at.is_(None))


def deliveries(ledger: Ledger) -> list[WebhookDelivery]:
    with ledger.read() as session:
        return list(session.scalars(sa.select(WebhookDelivery).order_by(WebhookDelivery.id)))


def loans(ledger: Ledger) -> list[Loan]:
    with ledger.read() as session:
        return list(session.scalars(sa.select(Loan).order_by(Loan.id)))


def audit_actions(ledger: Ledger) -> list[tuple[str, str]]:
    """(actor, action) of every audit event after the devices' import."""
    with ledger.read() as session:
        stmt = sa.select(AuditEvent.actor, AuditEvent.action).order_by(AuditEvent.id)
        return [(a, b) for a, b in session.execute(stmt) if b != "import"]


# --------------------------------------------------------------------------- a real server
@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """``app`` under uvicorn on a free loopback port, in a thread; yields its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(
            lambda: server.started or not thread.is_alive(),
            what="uvicorn to start",
            timeout=5,
            interval=0.01,
        )
        assert server.started, "uvicorn did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
