"""``fleetsync sync`` and ``fleetsync plan`` as a technician or a script runs them."""

from __future__ import annotations

import json
from pathlib import Path

from fleetsync import services
from tests.cli_runner import run_cli
from tests.sync.conftest import ACTOR, Fleet


def _cli(fleet: Fleet, *args: str) -> tuple[int, str, str]:
    result = run_cli(*args, "--config", str(fleet.config_path))
    return result.exit_code, result.stdout, result.stderr


def test_plan_shows_what_would_change_and_changes_nothing(fleet: Fleet) -> None:
    code, out, _ = _cli(fleet, "plan", "--adopt")
    assert code == 0
    assert "adopt device" in out
    assert "move devices" in out
    assert "… and" in out  # 1,000 adoptions are summarised, not listed one by one
    assert "dry run: nothing was changed" in out
    assert fleet.sandbox.control.calls("directory.chromeosdevices.moveDevicesToOu") == 0
    assert fleet.serials() == []


def test_sync_json_is_the_whole_report_for_scripts(fleet: Fleet) -> None:
    code, out, _ = _cli(fleet, "sync", "--adopt", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["status"] == "converged"
    assert report["plan"]["summary"]["adopt_device"] == 1000
    assert report["applied"]["done"]["adopt_device"] == 1000
    assert report["applied"]["failed"] == []
    assert report["google_calls"] > 0
    first = report["plan"]["actions"][0]
    assert set(first) >= {"kind", "target", "reason"}

    code, out, _ = _cli(fleet, "sync", "--json")
    assert (code, json.loads(out)["plan"]["actions"]) == (0, [])


def test_sync_says_so_when_google_already_matches(adopted: Fleet) -> None:
    code, out, _ = _cli(adopted, "sync")
    assert code == 0
    assert "Google matches the ledger: no action planned." in out
    assert "full sync converged" in out


def test_work_held_back_by_a_budget_exits_3_and_says_how_to_release_it(adopted: Fleet) -> None:
    for serial in adopted.serials()[:30]:
        with adopted.ledger.transaction() as session:
            services.mark_lost(session, device=serial, actor=ACTOR)
    code, out, _ = _cli(adopted, "sync")
    assert code == 3
    assert "disables: 5 of 30 devices held back (budget 25 per hour, 50 per day" in out
    assert "fleetsync sync --force-budget disables" in out
    assert "applied: 55 done" in out  # 30 moves and 25 disables went ahead
    code, out, _ = _cli(adopted, "plan")  # what is held, device by device
    assert code == 0
    assert "held back" in out
    assert "disable devices │ 5 devices, from" in out

    code, _, _ = _cli(adopted, "sync", "--force-budget", "disables")
    assert code == 0
    code, _, err = _cli(adopted, "sync", "--force-budget", "disable")
    assert code == 2
    assert "'disable' is not one of" in err


def test_failed_actions_exit_1_and_are_listed(adopted: Fleet) -> None:
    [serial] = adopted.serials()[:1]
    adopted.checkout(serial, "B-1")
    adopted.sandbox.control.fail_next(
        "directory.chromeosdevices.moveDevicesToOu", status=400, reason="invalid"
    )
    code, out, _ = _cli(adopted, "sync")
    assert code == 1
    assert "1 failed" in out
    assert "✗ move_devices /Chromebooks/On loan" in out


def test_a_targeted_sync_names_devices_by_serial(adopted: Fleet) -> None:
    first, second = adopted.serials()[:2]
    adopted.checkout(first, "B-1")
    adopted.checkout(second, "B-2")
    code, out, _ = _cli(adopted, "sync", "--device", first.lower(), "--json")
    assert code == 0
    assert json.loads(out)["kind"] == "targeted"
    assert adopted.device(first)["orgUnitPath"] == "/Chromebooks/On loan"
    assert adopted.device(second)["orgUnitPath"] == "/Chromebooks/Spare"


def test_without_a_service_account_the_error_says_what_to_configure(tmp_path: Path) -> None:
    # A ledger, but no Google connection configured.
    result = run_cli("sync", env={"FLEETSYNC_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 2
    assert "no service-account key configured" in result.stderr
    assert "fleetsync sandbox serve --write-config" in result.stderr


def test_device_show_says_what_google_last_confirmed(adopted: Fleet) -> None:
    [serial] = adopted.serials()[:1]
    lent = adopted.checkout(serial, "B-1")
    adopted.sync()
    code, out, _ = _cli(adopted, "device", "show", serial, "--json")
    assert code == 0
    google = json.loads(out)["google"]
    assert (google["org_unit"], google["status"], google["annotated_user"]) == (
        "/Chromebooks/On loan",
        "ACTIVE",
        lent.account_email,
    )
    code, out, _ = _cli(adopted, "device", "show", serial)
    assert "in Google: /Chromebooks/On loan, ACTIVE, annotated for" in " ".join(out.split())
