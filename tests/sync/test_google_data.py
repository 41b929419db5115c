"""Google's data that the ledger cannot take or keep: refused per device by the same rules as an
inventory import, reported (the sync report, `fleetsync status`, the log), and never a reason to
abort a reconcile for the other devices. Annotations are written the way an admin writes them:
through the Directory API of the sandbox."""

from __future__ import annotations

import io
import json
from typing import Any

import sqlalchemy as sa

from fleetsync import services
from fleetsync.domain.inventory import DeviceRow
from fleetsync.domain.lifecycle import Connectivity
from fleetsync.ledger.models import Device
from fleetsync.log import configure_logging
from fleetsync.sync import drain_outbox
from tests.cli_runner import CliResult, run_cli
from tests.sync.conftest import ACTOR, Fleet

STAGING = "/Chromebooks/Staging"


def _cli(fleet: Fleet, *args: str) -> CliResult:
    return run_cli(*args, "--config", str(fleet.config_path))


def _staging(fleet: Fleet) -> list[dict[str, Any]]:
    """The devices in Staging, as an admin lists them."""
    page = (
        fleet.sandbox.directory()
        .chromeosdevices()
        .list(customerId="my_customer", orgUnitPath=STAGING, maxResults=300)
        .execute()
    )
    return sorted(page.get("chromeosdevices", []), key=lambda d: str(d["serialNumber"]))


def _patch(fleet: Fleet, device_id: str, **body: str) -> None:
    fleet.sandbox.directory().chromeosdevices().patch(
        customerId="my_customer", deviceId=device_id, body=body
    ).execute()


def _attention(fleet: Fleet) -> list[dict[str, str]]:
    result = _cli(fleet, "status", "--json")
    assert result.exit_code == 0, result.output
    return list(json.loads(result.stdout)["attention"])


def _in_ledger(fleet: Fleet, serial: str) -> bool:
    with fleet.ledger.read() as session:
        return session.scalar(sa.select(Device.id).where(Device.serial == serial)) is not None


def test_one_overlong_asset_annotation_is_reported_and_every_other_device_adopted(
    fleet: Fleet,
) -> None:
    bad = _staging(fleet)[7]
    _patch(fleet, bad["deviceId"], annotatedAssetId="CB-" + "9" * 77)  # Google takes 200

    result = _cli(fleet, "sync", "--adopt", "--json")

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "converged"
    assert report["applied"]["done"]["adopt_device"] == 999
    [finding] = report["plan"]["findings"]
    assert (finding["kind"], finding["target"]) == ("cannot_adopt", bad["serialNumber"])
    assert "may only hold letters, digits and . _ / - (at most 64)" in finding["message"]
    assert "Admin console" in finding["message"]  # what to do
    assert not _in_ledger(fleet, bad["serialNumber"])
    assert len(fleet.serials(region="Brussel")) > 0
    logged = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert [(e["kind"], e["serial"]) for e in logged if e["event"] == "sync.device_data"] == [
        ("cannot_adopt", bad["serialNumber"])
    ]
    assert [(a["kind"], a["target"]) for a in _attention(fleet)] == [
        ("cannot_adopt", bad["serialNumber"])
    ]


def test_adoption_refuses_an_asset_tag_that_is_another_device_s_serial_as_import_does(
    adopted: Fleet, tmp_path: Any
) -> None:
    [taken] = adopted.serials()[:1]
    assert adopted.sandbox.control.seed_devices(1) == 1
    [newcomer] = _staging(adopted)
    _patch(adopted, newcomer["deviceId"], annotatedAssetId=taken.lower())

    report = adopted.sync(adopt=True)

    assert report.status == "converged"
    [finding] = report.plan.findings
    assert (finding.kind, finding.target) == ("cannot_adopt", newcomer["serialNumber"])
    assert f"asset tag {taken} is the serial of another device" in finding.message
    assert not _in_ledger(adopted, newcomer["serialNumber"])
    # The inventory import refuses the very same device for the very same reason.
    csv = tmp_path / "devices.csv"
    csv.write_text(
        "serial,asset_tag,model,region,connectivity\n"
        f"{newcomer['serialNumber']},{taken},HP Chromebook 14,Antwerpen,wifi\n"
    )
    imported = _cli(adopted, "device", "import", str(csv))
    assert imported.exit_code == 2
    assert f"line 2: asset tag {taken} is the serial of another device" in imported.stderr


def test_an_asset_tag_taken_while_the_sync_ran_fails_that_adoption_alone(fleet: Fleet) -> None:
    wanted = _staging(fleet)[3]
    tag = str(wanted["annotatedAssetId"]).upper()
    imported: list[str] = []

    def technician_imports_meanwhile(what: str, _done: int, _total: int | None) -> None:
        # While the sync reads Google (after it read the ledger), a technician imports another
        # device under the tag Google shows on `wanted`.
        if what == "reading devices" and not imported:
            with fleet.ledger.transaction() as session:
                row = DeviceRow(2, "NEW-1", tag, "HP Chromebook 14", "Antwerpen", Connectivity.WIFI)
                services.import_devices(session, [row], actor=ACTOR)
            imported.append(tag)

    report = fleet.sync(adopt=True, progress=technician_imports_meanwhile)

    assert imported == [tag]
    assert report.status == "failed"
    assert report.applied is not None
    assert report.applied.done["adopt_device"] == 999
    [failure] = report.applied.failures
    assert (failure.kind, failure.target) == ("adopt_device", wanted["serialNumber"])
    assert failure.error.startswith("the ledger refused it: ")
    assert not _in_ledger(fleet, wanted["serialNumber"])
    assert ("failed_adopt_device", wanted["serialNumber"]) in [
        (a["kind"], a["target"]) for a in _attention(fleet)
    ]


def test_one_device_s_bad_data_never_aborts_a_full_reconcile(adopted: Fleet) -> None:
    named, tagged, other = adopted.serials()[:3]
    adopted.checkout(named, "B-1")
    drain_outbox(adopted.ledger, adopted.settings, google=adopted.google)
    adopted.return_device(named)
    drain_outbox(adopted.ledger, adopted.settings, google=adopted.google)  # powerwash sent
    # Meanwhile another device took the returned one's serial as its asset tag (adopted by a
    # fleetsync that did not refuse it yet).
    with adopted.ledger.transaction() as session:
        session.execute(sa.update(Device).where(Device.serial == tagged).values(asset_tag=named))
    adopted.sandbox.control.online([adopted.google_id(named)])
    adopted.sandbox.control.advance(minutes=10)  # ... and the powerwash executes
    with adopted.ledger.transaction() as session:  # other work waiting for the same run
        services.mark_lost(session, device=other, actor=ACTOR)

    out = io.StringIO()
    configure_logging("info", "json", stream=out)
    report = adopted.sync()

    assert report.status == "converged"
    assert report.tracked is not None
    assert (report.tracked.executed, report.tracked.flagged) == ([named], [named])
    assert adopted.device(other)["status"] == "DISABLED"  # the rest of the run went ahead
    assert [(f.kind, f.target) for f in report.plan.findings] == [("ambiguous_device", named)]
    logged = [json.loads(line) for line in out.getvalue().splitlines()]
    [not_ready] = [e for e in logged if e["event"] == "sync.not_made_ready"]
    assert not_ready["serial"] == named
    assert (
        f"{named} is the serial of device {named} and the asset tag of device {tagged}"
        in (not_ready["error"])
    )
    attention = _attention(adopted)
    assert ("ambiguous_device", named) in [(a["kind"], a["target"]) for a in attention]
    [message] = [a["message"] for a in attention if a["kind"] == "ambiguous_device"]
    assert f"give device {tagged} another asset tag" in message


def test_a_device_in_an_org_unit_path_too_long_for_the_ledger_is_reported_and_filed_back(
    adopted: Fleet,
) -> None:
    [serial] = adopted.serials()[:1]
    directory = adopted.sandbox.directory()
    parent = STAGING
    for level in range(5):  # an admin's deep tree: a path of over 255 characters
        name = f"Level {level} " + "x" * 50
        directory.orgunits().insert(
            customerId="my_customer", body={"name": name, "parentOrgUnitPath": parent}
        ).execute()
        parent = f"{parent}/{name}"
    assert len(parent) > 255
    _patch(adopted, adopted.google_id(serial), orgUnitPath=parent)

    report = adopted.sync()

    assert report.status == "converged"
    assert [(f.kind, f.target) for f in report.plan.findings] == [("bad_google_data", serial)]
    assert "its org unit path" in report.plan.findings[0].message
    assert adopted.device(serial)["orgUnitPath"] == "/Chromebooks/Spare"
    assert ("bad_google_data", serial) in [(a["kind"], a["target"]) for a in _attention(adopted)]
