"""End to end against the sandbox: a desk's signed events, and nothing else, bring Google where the
ledger wants it. The API runs with the real outbox drain (``fleetsync.sync.drain_outbox``, the
targeted reconcile); the sandbox speaks Google's APIs over HTTP; Google's state is read back
through Google's own client library.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleetsync.api import create_app
from fleetsync.domain.inventory import parse_devices_csv
from fleetsync.google import Google
from fleetsync.ledger import Ledger, open_ledger
from fleetsync.sandbox.testing import RunningSandbox
from fleetsync.services import import_devices
from fleetsync.settings import Settings, load_settings
from fleetsync.sync import SyncBusy, drain_outbox, reconcile, track_commands
from fleetsync.sync.lock import reconciler_lock
from tests.api.conftest import Desk, checkout_event, deliver, event, new_secret
from tests.waiting import wait_until


@pytest.fixture
def desk() -> Desk:
    return Desk("antwerpen", [new_secret()])


@pytest.fixture
def settings(sandbox: RunningSandbox, tmp_path: Path, desk: Desk) -> Settings:
    config = sandbox.write_config(
        tmp_path / "fleetsync.toml",
        api={"desks": {desk.name: {"secrets": desk.secrets, "token": desk.token}}},
        daemon={"outbox_interval_seconds": 1},
    )
    return load_settings(config)


@pytest.fixture
def device(sandbox: RunningSandbox, settings: Settings) -> dict[str, Any]:
    """One Chromebook Google knows (enrolled into the staging org unit), in the ledger as spare."""
    sandbox.control.seed_devices(1)
    listed = sandbox.directory().chromeosdevices().list(customerId="my_customer").execute()
    [found] = listed["chromeosdevices"]
    text = "serial,asset_tag,model,region,connectivity\n"
    text += f"{found['serialNumber']},CB-0001,Acer,Antwerpen,wifi\n"
    with open_ledger(settings) as ledger, ledger.transaction() as session:
        import_devices(session, parse_devices_csv(text, regions=settings.regions), actor="cli:t")
    return dict(found)


@pytest.fixture
def ledger(settings: Settings) -> Iterator[Ledger]:
    with open_ledger(settings) as opened:
        yield opened


@pytest.fixture
def client(settings: Settings, ledger: Ledger) -> Iterator[TestClient]:
    app = create_app(
        settings, ledger, drain=lambda stopping: drain_outbox(ledger, settings, stop=stopping)
    )
    with TestClient(app) as running:
        yield running


def _progress(client: TestClient, desk: Desk, loan: str) -> dict[str, Any]:
    response = client.get(f"/v1/loans/{loan}", headers=desk.auth)
    assert response.status_code == 200, response.text
    progress: dict[str, Any] = response.json()["progress"]
    return progress


def test_a_signed_checkout_alone_brings_google_to_the_loan(
    client: TestClient,
    desk: Desk,
    device: dict[str, Any],
    sandbox: RunningSandbox,
    settings: Settings,
) -> None:
    accepted = deliver(client, desk, checkout_event(device["serialNumber"]))
    assert accepted.status_code == 202, accepted.text
    loan = accepted.json()["loan"]

    wait_until(lambda: _progress(client, desk, loan)["complete"], what="the checkout in Google")

    directory = sandbox.directory()
    user = directory.users().get(userKey="ayse.ozturk@example.org").execute()
    assert user["suspended"] is False
    assert user["orgUnitPath"] == settings.org_units.students.replace("{region}", "Antwerpen")
    google = (
        directory.chromeosdevices()
        .get(customerId="my_customer", deviceId=device["deviceId"])
        .execute()
    )
    assert google["orgUnitPath"] == settings.org_units.on_loan
    assert google["annotatedUser"] == "ayse.ozturk@example.org"
    assert google["annotatedAssetId"] == "CB-0001"
    password = client.post(f"/v1/loans/{loan}/credentials", headers=desk.auth)
    assert password.status_code == 200


def test_a_signed_return_suspends_powerwashes_and_makes_the_device_spare(
    client: TestClient,
    desk: Desk,
    device: dict[str, Any],
    sandbox: RunningSandbox,
    settings: Settings,
    ledger: Ledger,
) -> None:
    checkout = checkout_event(device={"asset_tag": "CB-0001"})
    loan = deliver(client, desk, checkout).json()["loan"]
    wait_until(lambda: _progress(client, desk, loan)["complete"], what="the checkout in Google")

    assert (
        deliver(client, desk, event("loan.returned", device={"asset_tag": "CB-0001"})).status_code
        == 202
    )

    def steps() -> dict[str, str]:
        return {s["step"]: s["state"] for s in _progress(client, desk, loan)["steps"]}

    wait_until(
        lambda: steps()["account_suspended"] == "done" and steps()["powerwash_issued"] == "done",
        what="the account suspended and the powerwash issued",
    )
    user = sandbox.directory().users().get(userKey="ayse.ozturk@example.org").execute()
    assert user["suspended"] is True

    sandbox.control.online([device["deviceId"]])

    def time_passes() -> None:
        # The device checks in and executes its powerwash in the sandbox's time; the command
        # tracker (the daemon runs it every minute) sees it, makes the device ready, and the
        # outbox drain moves it to spare.
        sandbox.control.advance(minutes=5)
        sandbox.control.check_in([device["deviceId"]])
        # Busy while the drain runs: next round, as the daemon's job does.
        with (
            Google.connect(settings) as google,
            contextlib.suppress(SyncBusy),
            reconciler_lock(ledger),
        ):
            track_commands(ledger, google, settings)

    wait_until(
        lambda: _progress(client, desk, loan)["complete"],
        what="the returned device spare in Google",
        between=time_passes,
    )
    google = (
        sandbox.directory()
        .chromeosdevices()
        .get(customerId="my_customer", deviceId=device["deviceId"])
        .execute()
    )
    assert google["orgUnitPath"] == settings.org_units.spare
    commands = sandbox.control.device(device["deviceId"])["commands"]
    assert [(c["type"], c["state"]) for c in commands] == [
        ("REMOTE_POWERWASH", "EXECUTED_BY_CLIENT")
    ]


def test_the_status_says_a_password_waits_when_google_s_account_is_created_again(
    client: TestClient, desk: Desk, sandbox: RunningSandbox, settings: Settings, ledger: Ledger
) -> None:
    sandbox.control.seed_devices(2)
    listed = sandbox.directory().chromeosdevices().list(customerId="my_customer").execute()
    text = "serial,asset_tag,model,region,connectivity\n" + "".join(
        f"{found['serialNumber']},CB-000{i},Acer,Antwerpen,wifi\n"
        for i, found in enumerate(listed["chromeosdevices"], start=1)
    )
    with ledger.transaction() as session:
        import_devices(session, parse_devices_csv(text, regions=settings.regions), actor="cli:t")

    def status(loan: str) -> dict[str, Any]:
        response = client.get(f"/v1/loans/{loan}", headers=desk.auth)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def account_active(loan: str) -> bool:
        steps: dict[str, str] = {s["step"]: s["state"] for s in status(loan)["progress"]["steps"]}
        return steps["account_created"] == "done"

    first = deliver(client, desk, checkout_event(device={"asset_tag": "CB-0001"})).json()["loan"]
    wait_until(lambda: account_active(first), what="the first loan's account in Google")
    assert client.post(f"/v1/loans/{first}/credentials", headers=desk.auth).status_code == 200
    returned = event("loan.returned", device={"asset_tag": "CB-0001"})
    assert deliver(client, desk, returned).status_code == 202
    # The borrower comes back for another device: their suspended account is reactivated, and
    # no first password comes with it.
    again = deliver(client, desk, checkout_event(device={"asset_tag": "CB-0002"}))
    assert again.status_code == 202, again.text
    second = again.json()["loan"]
    wait_until(lambda: account_active(second), what="the second loan's account in Google")
    assert status(second)["first_password"] == "none"

    # An administrator deletes the account in Google; the next full reconcile creates it again,
    # with a new first password sealed for the open loan.
    sandbox.directory().users().delete(userKey="ayse.ozturk@example.org").execute()

    def full_reconcile() -> bool:
        # Busy while the outbox drain runs: next round, as the daemon's schedule does.
        try:
            return reconcile(ledger, settings).status == "converged"
        except SyncBusy:
            return False

    wait_until(full_reconcile, what="a converged full reconcile")
    assert status(second)["first_password"] == "waiting"
    handed = client.post(f"/v1/loans/{second}/credentials", headers=desk.auth)
    assert handed.status_code == 200, handed.text
    salt, digest = sandbox.tenant.users.get("ayse.ozturk@example.org").password_hash.split("$")
    assert hashlib.sha256((salt + handed.json()["password"]).encode()).hexdigest() == digest
    assert status(second)["first_password"] == "collected"
