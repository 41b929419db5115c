"""Reconcile when Google misbehaves: 5xx errors, quota refusals, dropped connections (before and
after the call took effect). Repeated syncs converge to exactly the desired state, and no
powerwash is ever issued twice for one return."""

from __future__ import annotations

import sqlalchemy as sa

from fleetsync.domain.lifecycle import CommandState
from fleetsync.ledger.models import DeviceCommand, SyncJournalEntry
from fleetsync.sync import drain_outbox
from tests.sync.conftest import Fleet


def _journaled(fleet: Fleet, kind: str) -> list[str]:
    with fleet.ledger.read() as session:
        return list(
            session.scalars(
                sa.select(SyncJournalEntry.state)
                .where(SyncJournalEntry.kind == kind)
                .order_by(SyncJournalEntry.id)
            )
        )


def _converge(fleet: Fleet, rounds: int = 12) -> int:
    """Sync until a run plans nothing; returns how many runs it took."""
    for number in range(1, rounds + 1):
        report = fleet.sync(force=True, adopt=True)
        if not report.plan.actions and report.status == "converged":
            return number
    raise AssertionError(f"no convergence in {rounds} runs: {report.to_json()['plan']['summary']}")


def test_repeated_syncs_converge_under_errors_and_dropped_connections(adopted: Fleet) -> None:
    serials = adopted.serials()[:12]
    assert adopted.lent_and_returned(8) == serials[:8]
    emails = [
        adopted.checkout(serial, f"B-new-{n}").account_email for n, serial in enumerate(serials[8:])
    ]
    # One call in five fails with a 5xx; one in twenty loses its connection after Google did
    # the work (the caller cannot know whether it happened).
    adopted.sandbox.control.faults(
        error_rate=0.2, drop_rate=0.05, drop_after_processing=True, seed=4
    )

    runs = _converge(adopted)

    adopted.sandbox.control.clear_faults()
    assert runs >= 1
    assert adopted.sync().plan.actions == ()
    for serial in serials[:8]:
        device = adopted.device(serial)
        assert (device["orgUnitPath"], device["annotatedUser"]) == (
            "/Chromebooks/Refurbishment",
            "",
        )
        assert len(adopted.commands(serial)) <= 1, f"{serial} got more than one powerwash"
    for serial, email in zip(serials[8:], emails, strict=True):
        assert adopted.device(serial)["orgUnitPath"] == "/Chromebooks/On loan"
        account = adopted.account(email or "")
        assert account is not None
        assert account["suspended"] is False
    with adopted.ledger.read() as session:
        states = session.scalars(sa.select(DeviceCommand.state)).all()
    # Every return's powerwash was sent, or its answer was lost and it is being watched.
    assert set(states) <= {CommandState.PENDING.value, CommandState.UNKNOWN.value}
    assert len(states) == 8


def test_a_powerwash_whose_answer_was_lost_is_settled_by_the_devices_reenrolment(
    adopted: Fleet,
) -> None:
    [serial] = adopted.lent_and_returned(1)
    # Google issues the command, then the connection drops: fleetsync never learns its id.
    method = "admin.customer.devices.chromeos.issueCommand"
    adopted.sandbox.control.fail_next(method, status=0)
    drain_outbox(adopted.ledger, adopted.settings, google=adopted.google)

    assert _journaled(adopted, "issue_powerwash") == ["unknown"]
    assert len(adopted.commands(serial)) == 1
    assert adopted.sync().plan.actions == ()  # not sent again
    assert len(adopted.commands(serial)) == 1

    adopted.sandbox.control.online([adopted.google_id(serial)])
    adopted.sandbox.control.advance(minutes=10)
    tracked = adopted.sync().tracked
    assert tracked is not None
    assert tracked.executed == [serial]
    assert adopted.device(serial)["orgUnitPath"] == "/Chromebooks/Spare"
    assert len(adopted.commands(serial)) == 1


def test_quota_refusals_are_waited_out_and_nothing_fails(adopted: Fleet) -> None:
    serials = adopted.serials()[:3]
    for number, serial in enumerate(serials):
        adopted.checkout(serial, f"B-{number}")
    control = adopted.sandbox.control
    control.fail_next("directory.chromeosdevices.moveDevicesToOu", status=403,
                      reason="userRateLimitExceeded", count=2)  # fmt: skip
    control.fail_next("directory.users.insert", status=429, reason="rateLimitExceeded", count=1)

    report = adopted.sync()

    assert report.status == "converged"
    assert report.applied is not None
    assert report.applied.failures == []
    assert all(adopted.device(s)["orgUnitPath"] == "/Chromebooks/On loan" for s in serials)
    with adopted.ledger.read() as session:
        failed = session.scalar(sa.select(sa.func.count()).where(SyncJournalEntry.state != "done"))
    assert failed == 0


def test_a_refusal_google_will_not_change_its_mind_about_is_reported_and_retried_next_run(
    adopted: Fleet,
) -> None:
    [serial] = adopted.serials()[:1]
    adopted.checkout(serial, "B-1")
    adopted.sandbox.control.fail_next("directory.chromeosdevices.moveDevicesToOu", status=400,
                                      reason="invalid", count=1)  # fmt: skip
    failed = adopted.sync()
    assert failed.status == "failed"
    assert failed.applied is not None
    assert [f.kind for f in failed.applied.failures] == ["move_devices"]
    assert adopted.device(serial)["orgUnitPath"] == "/Chromebooks/Spare"

    again = adopted.sync()
    assert again.status == "converged"
    assert adopted.device(serial)["orgUnitPath"] == "/Chromebooks/On loan"


def test_an_org_unit_whose_creation_answer_was_lost_is_found_not_failed(fleet: Fleet) -> None:
    """The insert happens and its answer is lost; the retry gets Google's "Invalid Ou Id" (the
    org unit exists), which fleetsync reads as done once it has seen the org unit."""
    fleet.sandbox.control.fail_next("directory.orgunits.insert", status=0)

    report = fleet.sync(force=True, adopt=True)

    assert "failed" not in _journaled(fleet, "create_org_unit")
    refused = fleet.sandbox.control.counters()["statuses"]
    assert refused.get("directory.orgunits.insert 400") == 1, "the retry met the org unit"
    assert report.status == "converged"
    assert fleet.sync().plan.actions == ()


def test_an_org_unit_google_refuses_fails_its_action(fleet: Fleet) -> None:
    """Google's "Invalid Ou Id" for an org unit that then is not there is a failure."""
    fleet.sandbox.control.fail_next(
        "directory.orgunits.insert", status=400, reason="invalid", message="Invalid Ou Id", count=99
    )

    fleet.sync(force=True, adopt=True)

    assert set(_journaled(fleet, "create_org_unit")) == {"failed"}
