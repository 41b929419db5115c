"""A programme running against the sandbox: the agency's tenant, a ledger (SQLite and
PostgreSQL), fleetsync's settings pointing at the sandbox, and Google's state as an admin would
read it (through the Directory and Chrome Policy APIs, over HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from fleetsync import services
from fleetsync.google import Google
from fleetsync.ledger import Ledger, open_ledger
from fleetsync.ledger.models import Device
from fleetsync.sandbox.presence import Command
from fleetsync.sandbox.testing import RunningSandbox, running_sandbox
from fleetsync.settings import Settings, load_settings
from fleetsync.sync import SyncReport, reconcile
from tests.pinned import days_from_today

ACTOR = "cli:tester"
UNTIL = days_from_today(60)

#: The standard policies of the example config: bookmarks and two apps for every student.
POLICIES = [
    {
        "org_unit": "/Students",
        "bookmarks_folder": "Cursus",
        "bookmarks": [
            {"name": "Inburgering", "url": "https://www.integratie-inburgering.be/"},
            {"name": "Hulp", "entries": [{"name": "Chromebook", "url": "https://support.google.com/chromebook/"}]},
        ],
        "apps": [
            {"app_id": "web:https://meet.google.com/", "install_type": "FORCED"},
            {"app_id": "chrome:ghbmnnjooekpmoecnnnilnnbdlolhkhi", "install_type": "FORCED"},
        ],
    }
]  # fmt: skip
#: Quick retries (the sandbox's injected faults are retried in milliseconds, not seconds), and
#: quotas a test never waits for: the throttle is tested on its own (tests/google), and the
#: benchmarks run against Google's real Education quotas.
FAST_GOOGLE = {
    "retry": {"initial_backoff_seconds": 0.005, "max_backoff_seconds": 0.05},
    "quota": {"device_writes_per_minute": 100_000, "policy_writes_per_minute": 100_000},
}


@dataclass
class Fleet:
    sandbox: RunningSandbox
    settings: Settings
    ledger: Ledger
    programme: services.Programme
    google: Google
    config_path: Path

    # ------------------------------------------------------------- fleetsync's side
    def sync(self, **options: Any) -> SyncReport:
        return reconcile(
            self.ledger, self.settings, google=self.google, programme=self.programme, **options
        )

    def serials(self, *, region: str = "Antwerpen", connectivity: str = "wifi") -> list[str]:
        with self.ledger.read() as session:
            return list(
                session.scalars(
                    sa.select(Device.serial)
                    .where(Device.region == region, Device.connectivity == connectivity)
                    .order_by(Device.serial)
                )
            )

    def checkout(self, serial: str, borrower: str, **names: str) -> services.CheckoutResult:
        with self.ledger.transaction() as session:
            return services.checkout(
                session,
                device=serial,
                borrower=borrower,
                given_name=names.get("given_name", "Amira"),
                family_name=names.get("family_name", f"Haddad {borrower}"),
                region="Antwerpen",
                until=UNTIL,
                programme=self.programme,
                actor=ACTOR,
            )

    def return_device(self, serial: str) -> None:
        with self.ledger.transaction() as session:
            services.return_device(session, device=serial, actor=ACTOR)

    def lent_and_returned(self, count: int) -> list[str]:
        """``count`` devices lent (their accounts created in Google), then all returned: each
        waits for its powerwash. Returns their serials."""
        serials = self.serials()[:count]
        for number, serial in enumerate(serials):
            self.checkout(serial, f"B-{number}")
        assert self.sync(force=True).status == "converged"
        for serial in serials:
            self.return_device(serial)
        return serials

    def google_id(self, serial: str) -> str:
        with self.ledger.read() as session:
            device_id = session.scalar(
                sa.select(Device.google_device_id).where(Device.serial == serial)
            )
        assert device_id is not None, f"{serial} is not linked to Google"
        return device_id

    # ------------------------------------------------------- Google's side, as admins see it
    def device(self, serial: str) -> dict[str, Any]:
        directory = self.sandbox.directory()
        page = (
            directory.chromeosdevices()
            .list(customerId="my_customer", query=f"id:{serial}")
            .execute()
        )
        [device] = [d for d in page.get("chromeosdevices", []) if d["serialNumber"] == serial]
        return dict(device)

    def account(self, email: str) -> dict[str, Any] | None:
        try:
            user = self.sandbox.directory().users().get(userKey=email).execute()
        except Exception as exc:
            if getattr(getattr(exc, "resp", None), "status", None) == 404:
                return None
            raise
        return dict(user)

    def commands(self, serial: str) -> list[Command]:
        """Every command Google holds for the device (the API has no list call: the tenant)."""
        return list(self.sandbox.tenant.devices.get(self.google_id(serial)).presence.commands)

    def resolved(self, org_unit: str, schema_filter: str) -> list[dict[str, Any]]:
        unit = (
            self.sandbox.directory()
            .orgunits()
            .get(customerId="my_customer", orgUnitPath=org_unit.lstrip("/"))
            .execute()
        )
        answer = (
            self.sandbox.policy()
            .customers()
            .policies()
            .resolve(
                customer="customers/my_customer",
                body={
                    "policySchemaFilter": schema_filter,
                    "policyTargetKey": {
                        "targetResource": "orgunits/" + unit["orgUnitId"].removeprefix("id:")
                    },
                },
            )
            .execute()
        )
        return list(answer.get("resolvedPolicies", []))


def make_fleet(
    sandbox: RunningSandbox, directory: Path, database_url: str, **overrides: Any
) -> Iterator[Fleet]:
    config = {"database_url": database_url, "policies": POLICIES, "google": FAST_GOOGLE}
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}  # type: ignore[dict-item]
        else:
            config[key] = value
    path = sandbox.write_config(directory / "fleetsync.toml", **config)
    settings = load_settings(path)
    with open_ledger(settings) as ledger, Google.connect(settings) as google:
        yield Fleet(
            sandbox=sandbox,
            settings=settings,
            ledger=ledger,
            programme=services.Programme.from_settings(settings),
            google=google,
            config_path=path,
        )


@pytest.fixture
def fleet(database_url: str, tmp_path: Path) -> Iterator[Fleet]:
    """The agency's tenant, not yet adopted, and an empty ledger."""
    with running_sandbox(tmp_path / "sandbox", fleet="agency") as sandbox:
        yield from make_fleet(sandbox, tmp_path, database_url)


@pytest.fixture
def adopted(fleet: Fleet) -> Fleet:
    """The agency's fleet adopted into the ledger and converged."""
    report = fleet.sync(adopt=True)
    assert report.status == "converged", report.to_json()
    return fleet
