"""Reconcile end to end against the sandbox: adopt the agency's fleet, lend and take back
devices, and check Google's state as an admin would see it, the ledger and the journal."""

from __future__ import annotations

import sqlalchemy as sa

from fleetsync import services
from fleetsync.domain.actions import Budget
from fleetsync.domain.lifecycle import AccountStatus, CommandState
from fleetsync.ledger.models import Borrower, Device, DeviceCommand, PolicyState, SyncJournalEntry
from fleetsync.sync import drain_outbox
from tests.sync.conftest import ACTOR, Fleet


def test_adopting_the_agency_fleet_files_every_device_as_spare(fleet: Fleet) -> None:
    before = fleet.sync(dry_run=True)
    assert {f.kind for f in before.plan.findings} == {"unknown_device"}
    assert len(before.plan.findings) == 1000

    report = fleet.sync(adopt=True)

    assert report.status == "converged"
    assert report.plan.summary()["adopt_device"] == 1000
    assert report.plan.summary()["move_devices"] == 1000
    with fleet.ledger.read() as session:
        states = dict(
            session.execute(sa.select(Device.state, sa.func.count()).group_by(Device.state)).all()
        )
        four_g = session.scalar(sa.select(sa.func.count()).where(Device.connectivity == "4g"))
        linked = session.scalar(
            sa.select(sa.func.count()).where(Device.google_device_id.is_not(None))
        )
    assert states == {"spare": 1000}
    assert four_g == 98
    assert linked == 1000
    spare = fleet.device(fleet.serials()[0])
    assert spare["orgUnitPath"] == "/Chromebooks/Spare"
    assert spare["annotatedLocation"] == "Antwerpen"
    # Moves: 1,000 devices into one org unit are 20 calls of 50.
    assert fleet.sandbox.control.calls("directory.chromeosdevices.moveDevicesToOu") == 20


def test_a_second_sync_plans_nothing(adopted: Fleet) -> None:
    again = adopted.sync()
    assert again.status == "converged"
    assert again.plan.actions == ()
    assert again.plan.findings == ()


def test_the_standard_policies_are_set_once_and_then_left_alone(adopted: Fleet) -> None:
    bookmarks = adopted.resolved("/Students/Brussel", "chrome.users.ManagedBookmarksSetting")
    [value] = [p["value"]["value"]["managedBookmarks"] for p in bookmarks]
    assert value["toplevelName"] == "Cursus"
    assert value["bookmarks"][0] == {
        "link": {"name": "Inburgering", "url": "https://www.integratie-inburgering.be/"}
    }
    apps = adopted.resolved("/Students/Brussel", "chrome.users.apps.*")
    assert {
        p["targetKey"]["additionalTargetKeys"]["app_id"]: p["value"]["value"]["appInstallType"]
        for p in apps
    } == {
        "web:https://meet.google.com/": "FORCED",
        "chrome:ghbmnnjooekpmoecnnnilnnbdlolhkhi": "FORCED",
    }
    with adopted.ledger.read() as session:
        in_place = session.execute(sa.select(PolicyState.namespace, PolicyState.in_place)).all()
    assert sorted(in_place) == [("chrome.users", True), ("chrome.users.apps", True)]
    writes = adopted.sandbox.control.calls("chromepolicy.customers.policies.orgunits.batchModify")
    assert writes == 2  # one per namespace
    adopted.sync()
    assert (
        adopted.sandbox.control.calls("chromepolicy.customers.policies.orgunits.batchModify") == 2
    )


def test_checkout_provisions_the_account_and_files_and_annotates_the_device(adopted: Fleet) -> None:
    serial = adopted.serials()[0]
    lent = adopted.checkout(serial, "B-1017", given_name="Ayşe", family_name="Öztürk")
    assert lent.account_email == "ayse.ozturk@example.org"

    assert drain_outbox(adopted.ledger, adopted.settings, google=adopted.google) == 2

    device = adopted.device(serial)
    assert device["orgUnitPath"] == "/Chromebooks/On loan"
    assert device["annotatedUser"] == "ayse.ozturk@example.org"
    assert device["annotatedAssetId"] == device["annotatedAssetId"].upper()
    assert (
        device["notes"] == f"fleetsync: loan {lent.loan} to borrower B-1017 until {lent.agreed_end}"
    )
    account = adopted.account("ayse.ozturk@example.org")
    assert account is not None
    assert account["orgUnitPath"] == "/Students/Antwerpen"
    assert account["suspended"] is False
    assert account["name"] == {
        "givenName": "Ayşe",
        "familyName": "Öztürk",
        "fullName": "Ayşe Öztürk",
    }
    assert {"type": "custom", "customType": "fleetsync_borrower", "value": "B-1017"} in account[
        "externalIds"
    ]
    with adopted.ledger.read() as session:
        person = session.scalars(sa.select(Borrower).where(Borrower.desk_id == "B-1017")).one()
        assert person.google_user_id == account["id"]
        assert person.google_suspended is False
        row = session.scalars(sa.select(Device).where(Device.serial == serial)).one()
        assert row.google_org_unit == "/Chromebooks/On loan"
        assert row.google_annotated_user == "ayse.ozturk@example.org"
    assert adopted.sync().plan.actions == ()


def test_the_first_password_creates_the_account_and_is_never_journaled(adopted: Fleet) -> None:
    serial = adopted.serials()[1]
    lent = adopted.checkout(serial, "B-2")
    drain_outbox(adopted.ledger, adopted.settings, google=adopted.google)
    with adopted.ledger.transaction() as session:
        handed = services.collect_first_password(
            session, loan=lent.loan, programme=adopted.programme, actor="cli:tester"
        )
    user = adopted.sandbox.tenant.users.get(handed.email)
    assert user.password_hash  # the sandbox keeps a salted hash of what fleetsync sent
    salt, digest = user.password_hash.split("$")
    import hashlib

    assert hashlib.sha256((salt + handed.password).encode()).hexdigest() == digest
    with adopted.ledger.read() as session:
        journal = session.scalars(sa.select(SyncJournalEntry.detail)).all()
    assert handed.password not in repr(journal)


def test_return_suspends_powerwashes_once_and_the_device_comes_back_spare(adopted: Fleet) -> None:
    serial = adopted.serials()[2]
    lent = adopted.checkout(serial, "B-3")
    drain_outbox(adopted.ledger, adopted.settings, google=adopted.google)
    adopted.return_device(serial)

    drain_outbox(adopted.ledger, adopted.settings, google=adopted.google)
    assert adopted.sync().plan.actions == ()  # nothing twice, nothing left

    device = adopted.device(serial)
    assert device["orgUnitPath"] == "/Chromebooks/Refurbishment"
    assert device["annotatedUser"] == ""
    assert device.get("notes", "") == ""
    account = adopted.account(lent.account_email or "")
    assert account is not None
    assert account["suspended"] is True
    [wash] = adopted.commands(serial)
    assert wash.type == "REMOTE_POWERWASH"

    # The device comes online, checks in, executes the powerwash; the tracker sees it.
    adopted.sandbox.control.online([adopted.google_id(serial)])
    adopted.sandbox.control.advance(minutes=10)
    report = adopted.sync()

    assert report.tracked is not None
    assert report.tracked.executed == [serial]
    assert report.tracked.made_ready == [serial]
    assert adopted.device(serial)["orgUnitPath"] == "/Chromebooks/Spare"
    assert len(adopted.commands(serial)) == 1
    with adopted.ledger.read() as session:
        row = session.scalars(sa.select(Device).where(Device.serial == serial)).one()
        assert row.state == "spare"
        command = session.scalars(sa.select(DeviceCommand)).one()
        assert command.state == CommandState.EXECUTED_BY_CLIENT.value
        assert command.result == "SUCCESS"
        assert command.google_command_id == wash.command_id


def test_lost_disables_and_found_reenables_and_powerwashes(adopted: Fleet) -> None:
    serial = adopted.serials()[3]
    with adopted.ledger.transaction() as session:
        services.mark_lost(session, device=serial, actor=ACTOR)
    adopted.sync()
    device = adopted.device(serial)
    assert (device["status"], device["orgUnitPath"]) == ("DISABLED", "/Chromebooks/Lost")
    assert adopted.commands(serial) == []

    with adopted.ledger.transaction() as session:
        services.mark_found(session, device=serial, actor=ACTOR)
    adopted.sync()
    device = adopted.device(serial)
    assert (device["status"], device["orgUnitPath"]) == ("ACTIVE", "/Chromebooks/Refurbishment")
    assert [c.type for c in adopted.commands(serial)] == ["REMOTE_POWERWASH"]


def test_retire_deprovisions_the_device_for_good(adopted: Fleet) -> None:
    serial = adopted.serials()[4]
    with adopted.ledger.transaction() as session:
        services.retire(session, device=serial, actor=ACTOR, reason="screen broken")
    report = adopted.sync()
    assert report.plan.summary() == {"deprovision_devices": 1, "move_devices": 1}
    device = adopted.device(serial)
    assert (device["status"], device["orgUnitPath"]) == ("DEPROVISIONED", "/Chromebooks/Retired")
    assert adopted.sync().plan.actions == ()


def test_accounts_are_deleted_after_the_retention_period(adopted: Fleet) -> None:
    serial = adopted.serials()[5]
    lent = adopted.checkout(serial, "B-6")
    adopted.sync()
    adopted.return_device(serial)
    adopted.sync()
    assert adopted.account(lent.account_email or "") is not None

    # The retention passes: the ledger says when the account was suspended.
    with adopted.ledger.transaction() as session:
        person = session.scalars(sa.select(Borrower).where(Borrower.desk_id == "B-6")).one()
        assert person.account_status_since is not None
        person.account_status_since -= adopted.settings.accounts.delete_after_days * _DAY
    report = adopted.sync()

    assert report.plan.summary() == {"delete_account": 1}
    assert adopted.account(lent.account_email or "") is None
    with adopted.ledger.read() as session:
        person = session.scalars(sa.select(Borrower).where(Borrower.desk_id == "B-6")).one()
        assert person.account_status == AccountStatus.DELETED.value
    assert adopted.sync().plan.actions == ()


def test_a_plan_over_a_safety_budget_holds_back_the_excess_and_does_the_rest(
    adopted: Fleet,
) -> None:
    serials = adopted.serials()[:30]
    for number, serial in enumerate(serials):
        with adopted.ledger.transaction() as session:
            services.mark_lost(session, device=serial, actor=ACTOR, reason=f"box {number} gone")
    report = adopted.sync()
    assert report.status == "converged"
    assert report.held == {Budget.DISABLES: serials[25:]}
    assert [adopted.device(s)["status"] for s in (serials[0], serials[24], serials[25])] == [
        "ACTIVE" if s in serials[25:] else "DISABLED"
        for s in (serials[0], serials[24], serials[25])
    ]
    # The non-destructive part went ahead for all of them: they are in the lost org unit.
    assert adopted.device(serials[29])["orgUnitPath"] == "/Chromebooks/Lost"

    forced = adopted.sync(force_budgets=[Budget.DISABLES])
    assert (forced.status, forced.held) == ("converged", {})
    assert all(adopted.device(s)["status"] == "DISABLED" for s in serials[25:])


def test_a_targeted_sync_touches_only_what_it_is_given(adopted: Fleet) -> None:
    first, second = adopted.serials()[6:8]
    adopted.checkout(first, "B-8")
    adopted.checkout(second, "B-9")
    report = adopted.sync(devices=[first])
    assert report.kind == "targeted"
    assert adopted.device(first)["orgUnitPath"] == "/Chromebooks/On loan"
    assert adopted.device(second)["orgUnitPath"] == "/Chromebooks/Spare"
    # The device's borrower comes with it: their account was created too.
    assert {a.kind for a in report.plan.actions} >= {"create_account", "move_devices"}


_DAY = __import__("datetime").timedelta(days=1)
