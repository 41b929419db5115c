"""Repairs keep a damaged device out of circulation until a technician closes them; a device is
lent only while Google confirms it ACTIVE in one of fleetsync's org units. Against the sandbox,
on both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from fleetsync import services
from fleetsync.domain.errors import InRepair, NotAllowedInState, NotLendable
from fleetsync.domain.inventory import parse_devices_csv
from fleetsync.domain.lifecycle import Condition
from fleetsync.ledger.models import AuditEvent, Device, Repair
from fleetsync.sandbox.testing import running_sandbox
from fleetsync.settings import DEFAULT_REGIONS
from fleetsync.sync import drain_outbox
from tests.cli_runner import run_cli
from tests.conftest import LEND_UNCONFIRMED
from tests.sync.conftest import ACTOR, UNTIL, Fleet, make_fleet


def _state(fleet: Fleet, serial: str) -> str:
    with fleet.ledger.read() as session:
        return session.scalars(sa.select(Device.state).where(Device.serial == serial)).one()


def _lend(fleet: Fleet, serial: str, borrower: str) -> services.CheckoutResult:
    return fleet.checkout(serial, borrower)


def test_a_damaged_return_stays_out_of_circulation_until_repaired(adopted: Fleet) -> None:
    serial = adopted.serials()[0]
    _lend(adopted, serial, "B-1")
    drain_outbox(adopted.ledger, adopted.settings, google=adopted.google)
    with adopted.ledger.transaction() as session:
        change = services.return_device(
            session, device=serial, actor=ACTOR, condition=Condition.DAMAGED, note="hinge cracked"
        )
    assert change.repair == "opened"
    drain_outbox(adopted.ledger, adopted.settings, google=adopted.google)

    # The powerwash executes; the device is NOT made spare by itself.
    adopted.sandbox.control.online([adopted.google_id(serial)])
    adopted.sandbox.control.advance(minutes=10)
    report = adopted.sync()
    assert report.tracked is not None
    assert report.tracked.executed == [serial]
    assert report.tracked.made_ready == []
    assert _state(adopted, serial) == "in_refurbishment"
    assert adopted.device(serial)["orgUnitPath"] == "/Chromebooks/Refurbishment"

    # Nobody can lend it or make it ready meanwhile.
    with pytest.raises(NotAllowedInState), adopted.ledger.transaction() as session:
        _lend(adopted, serial, "B-2")
    with pytest.raises(InRepair) as refused, adopted.ledger.transaction() as session:
        services.mark_ready(session, device=serial, actor=ACTOR, force=True, reason="wiped")
    assert "in repair since" in str(refused.value)
    assert "hinge cracked" in str(refused.value)

    shown = run_cli("device", "show", serial, "--config", str(adopted.config_path))
    assert shown.exit_code == 0, shown.output
    assert "hinge cracked" in shown.stdout
    assert "on hold until repaired" in shown.stdout
    status = run_cli("status", "--config", str(adopted.config_path))
    assert "1 device(s) in repair, oldest since" in status.stdout
    fleet_report = run_cli(
        "report", "fleet", "--format", "json", "--config", str(adopted.config_path)
    )
    assert fleet_report.exit_code == 0, fleet_report.output
    rows = json.loads(fleet_report.stdout)["rows"]
    [total] = [r for r in rows if r["region"] == r["connectivity"] == "all"]
    assert total["in_repair"] == 1

    # The technician closes the repair: the powerwash had executed, so it is spare at once.
    closed = run_cli(
        "device", "repaired", serial, "--note", "hinge replaced",
        "--config", str(adopted.config_path),
    )  # fmt: skip
    assert closed.exit_code == 0, closed.output
    assert "repair repaired" in closed.stdout
    assert _state(adopted, serial) == "spare"
    adopted.sync()
    assert adopted.device(serial)["orgUnitPath"] == "/Chromebooks/Spare"
    with adopted.ledger.read() as session:
        repair = session.scalars(sa.select(Repair)).one()
        assert (repair.note, repair.close_note, repair.outcome) == (
            "hinge cracked",
            "hinge replaced",
            "repaired",
        )
        assert repair.opened_by == ACTOR
        assert (repair.closed_by or "").startswith("cli:")
        actions = list(session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all())
    assert actions[-2:] == ["repaired", "ready"]
    assert "return" in actions
    _lend(adopted, serial, "B-2")  # back in circulation


def test_a_technician_repair_and_its_write_off(adopted: Fleet) -> None:
    serial = adopted.serials()[1]
    opened = run_cli(
        "device", "repair", serial, "--note", "keyboard dead", "--config", str(adopted.config_path)
    )
    assert opened.exit_code == 0, opened.output
    assert "spare → in_refurbishment" in opened.stdout
    assert "powerwash requested" in opened.stdout
    again = run_cli("device", "repair", serial, "--config", str(adopted.config_path))
    assert again.exit_code == 3
    assert "already in repair" in again.stderr

    gone = run_cli(
        "device", "repair", serial, "--write-off", "--note", "no spare keyboards",
        "--config", str(adopted.config_path),
    )  # fmt: skip
    assert gone.exit_code == 0, gone.output
    assert "repair written off" in gone.stdout
    assert _state(adopted, serial) == "retired"
    adopted.sync()
    assert adopted.device(serial)["status"] == "DEPROVISIONED"
    with adopted.ledger.read() as session:
        repair = session.scalars(sa.select(Repair)).one()
        assert (repair.outcome, repair.close_note) == ("written_off", "no spare keyboards")


@pytest.fixture
def strict(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fleet]:
    """The agency's tenant adopted, with the default lending rule (no unconfirmed devices)."""
    monkeypatch.setenv(LEND_UNCONFIRMED, "false")
    with running_sandbox(tmp_path / "sandbox", fleet="agency") as sandbox:
        for fleet in make_fleet(sandbox, tmp_path, database_url):
            assert fleet.sync(adopt=True).status == "converged"
            yield fleet


def test_a_device_google_does_not_have_is_refused_and_listed(strict: Fleet) -> None:
    text = (
        "serial,asset_tag,model,region,connectivity\nNEVER0001,CB-NEW-1,Acer C733,Antwerpen,wifi\n"
    )
    with strict.ledger.transaction() as session:
        services.import_devices(
            session, parse_devices_csv(text, regions=DEFAULT_REGIONS), actor=ACTOR
        )
    with pytest.raises(NotLendable) as refused, strict.ledger.transaction() as session:
        _lend(strict, "NEVER0001", "B-1")
    assert str(refused.value).startswith(
        "device NEVER0001 cannot be lent: no sync has confirmed its status in Google yet"
    )
    assert "lend_unconfirmed" in str(refused.value)
    # A sync does not find it either (never enrolled): still refused, still listed.
    strict.sync()
    config = str(strict.config_path)
    cli = run_cli(
        "loan", "checkout", "--serial", "NEVER0001", "--borrower-id", "B-1",
        "--given-name", "Amira", "--region", "Antwerpen", "--until", UNTIL.isoformat(),
        "--config", config,
    )  # fmt: skip
    assert cli.exit_code == 3, cli.output
    assert "cannot be lent" in cli.stderr

    # An admin deprovisions an adopted device in the Admin console behind fleetsync's back.
    disabled = strict.serials()[0]
    strict.sandbox.directory().customer().devices().chromeos().batchChangeStatus(
        customerId="my_customer",
        body={
            "deviceIds": [strict.google_id(disabled)],
            "changeChromeOsDeviceStatusAction": "CHANGE_CHROME_OS_DEVICE_STATUS_ACTION_DEPROVISION",
            "deprovisionReason": "DEPROVISION_REASON_RETIRING_DEVICE",
        },
    ).execute()
    strict.sync()  # fleetsync reports it and leaves it alone; the ledger keeps what Google said
    with pytest.raises(NotLendable) as refused, strict.ledger.transaction() as session:
        _lend(strict, disabled, "B-2")
    assert "as DEPROVISIONED; a loaned Chromebook must be ACTIVE" in str(refused.value)

    listed = run_cli("device", "list", "--not-in-google", "--json", "--config", config)
    assert listed.exit_code == 0, listed.output
    rows = {row["serial"]: row["not_lendable"] for row in json.loads(listed.stdout)}
    assert set(rows) == {"NEVER0001", disabled}
    status = run_cli("status", "--json", "--config", config)
    attention = {
        a["target"] for a in json.loads(status.stdout)["attention"] if a["kind"] == "not_in_google"
    }
    assert attention == {"NEVER0001", disabled}

    # Its neighbour, confirmed ACTIVE in the spare org unit, is lent.
    _lend(strict, strict.serials()[1], "B-2")
