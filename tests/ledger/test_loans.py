"""Checkout, return and extension through the service functions, on both databases: what the
ledger holds afterwards, what the audit trail says, and whom the reconciler is woken for."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from fleetsync import services
from fleetsync.domain.errors import (
    AlreadyCollected,
    InvalidInput,
    LoanNotExtended,
    NotAllowedInState,
    NotFound,
)
from fleetsync.domain.lifecycle import AccountStatus, Condition
from fleetsync.ledger import Ledger, queries
from fleetsync.ledger.credentials import open_password
from fleetsync.ledger.models import (
    AuditEvent,
    Borrower,
    Device,
    DeviceCommand,
    IssuedUsername,
    Loan,
    OutboxEntry,
    PendingCredential,
)
from tests.ledger.conftest import ACTOR, NOW, UNTIL, audit_count, later, lend


def _events(ledger: Ledger, action: str) -> list[AuditEvent]:
    with ledger.read() as session:
        return list(session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def _outbox(ledger: Ledger, reason: str) -> set[tuple[str, str]]:
    with ledger.read() as session:
        rows = session.execute(
            sa.select(OutboxEntry.entity_kind, OutboxEntry.entity_key).where(
                OutboxEntry.reason == reason, OutboxEntry.done_at.is_(None)
            )
        )
        return {(kind, key) for kind, key in rows}


def test_checkout_lends_the_device_and_asks_for_an_account(
    stocked: Ledger, programme: services.Programme
) -> None:
    result = lend(stocked, programme, "cb-0001", given_name="Ayşe", family_name="Öztürk")
    assert (result.loan, result.serial, result.borrower) == ("L-1", "5CD1234XYZ", "B-1017")
    assert result.account_email == "ayse.ozturk@example.org"
    assert result.new_account
    assert result.desk is None  # a technician's loan belongs to no desk
    with stocked.read() as session:
        device = queries.find_device(session, "5CD1234XYZ")
        assert (device.state, device.state_since) == ("on_loan", NOW)
        loan = session.scalars(sa.select(Loan)).one()
        assert (loan.agreed_end, loan.region, loan.connectivity) == (UNTIL, "Antwerpen", "4g")
        borrower = session.scalars(sa.select(Borrower)).one()
        assert (borrower.desk_id, borrower.given_name, borrower.family_name) == (
            "B-1017",
            "Ayşe",
            "Öztürk",
        )
        assert borrower.account_status == "active"
        credential = session.scalars(sa.select(PendingCredential)).one()
        assert credential.account_email == "ayse.ozturk@example.org"
        assert credential.loan_id == loan.id
        assert credential.expires_at == NOW + timedelta(hours=72)
        assert credential.collected_at is None
        password = open_password(programme.key, credential.sealed_password)
        assert len(password) == programme.accounts.password_length
        assert password not in credential.sealed_password
        assert session.scalar(sa.select(sa.func.count()).select_from(IssuedUsername)) == 1
    [event] = _events(stocked, "checkout")
    assert event.actor == ACTOR
    assert event.before == {"state": "spare", "account": "none"}
    assert event.after == {
        "state": "on_loan",
        "loan": "L-1",
        "borrower": "B-1017",
        "agreed_end": "2026-11-30",
        "needs_data": False,
        "account": "active",
    }
    assert _outbox(stocked, "checkout") == {("device", "5CD1234XYZ"), ("borrower", "B-1017")}


def test_the_audit_trail_holds_no_personal_data(
    stocked: Ledger, programme: services.Programme
) -> None:
    lend(stocked, programme, "5CD1234XYZ", given_name="Ayşe", family_name="Öztürk")
    with stocked.transaction() as session:
        services.return_device(session, device="5CD1234XYZ", actor=ACTOR, now=later(30))
    with stocked.read() as session:
        trail = json.dumps(
            [(e.before, e.after, e.reason) for e in session.scalars(sa.select(AuditEvent))],
            ensure_ascii=False,
        ).lower()
    for personal in ("ayşe", "öztürk", "ozturk", "ayse"):
        assert personal not in trail


def test_the_first_password_is_collected_once_by_its_loan(
    stocked: Ledger, programme: services.Programme
) -> None:
    lend(stocked, programme, "5CD1234XYZ")
    with stocked.transaction() as session:
        first = services.collect_first_password(
            session, loan="L-1", programme=programme, actor=ACTOR, now=NOW
        )
    assert (first.loan, first.borrower, first.email) == ("L-1", "B-1017", "jan.peeters@example.org")
    assert len(first.password) == 16
    with stocked.read() as session:
        credential = session.scalars(sa.select(PendingCredential)).one()
        assert (credential.collected_at, credential.collected_by) == (NOW, ACTOR)
        assert open_password(programme.key, credential.sealed_password) == first.password
    with pytest.raises(AlreadyCollected) as refused, stocked.transaction() as session:
        services.collect_first_password(
            session, loan="L-1", programme=programme, actor=ACTOR, now=NOW
        )
    assert f"by {ACTOR}" in str(refused.value)
    [event] = _events(stocked, "first_password_collected")
    assert (event.actor, event.loan_id) == (ACTOR, 1)


def test_an_expired_first_password_is_gone(stocked: Ledger, programme: services.Programme) -> None:
    lend(stocked, programme, "5CD1234XYZ")
    with pytest.raises(NotFound, match="expired uncollected"), stocked.transaction() as session:
        services.collect_first_password(
            session, loan="L-1", programme=programme, actor=ACTOR, now=later(4)
        )
    with stocked.transaction() as session:
        assert services.purge_credentials(session, now=later(4)) == 1
    with stocked.read() as session:
        assert session.scalars(sa.select(PendingCredential)).all() == []


def test_return_ends_the_loan_suspends_the_account_and_asks_for_a_powerwash(
    stocked: Ledger, programme: services.Programme
) -> None:
    lend(stocked, programme, "5CD1234XYZ")
    with stocked.transaction() as session:
        change = services.return_device(
            session,
            device="5cd1234xyz",
            condition=Condition.DAMAGED,
            note="hinge cracked",
            actor=ACTOR,
            now=later(60),
        )
    assert (change.before, change.after, change.loan, change.borrower) == (
        "on_loan",
        "in_refurbishment",
        "L-1",
        "B-1017",
    )
    assert (change.powerwash, change.account) == ("requested", "suspended")
    with stocked.read() as session:
        loan = session.scalars(sa.select(Loan)).one()
        assert (loan.returned_at, loan.return_condition, loan.return_note) == (
            later(60),
            "damaged",
            "hinge cracked",
        )
        borrower = session.scalars(sa.select(Borrower)).one()
        assert (borrower.account_status, borrower.account_status_since) == ("suspended", later(60))
        command = session.scalars(sa.select(DeviceCommand)).one()
        assert (command.kind, command.state, command.reason, command.loan_id) == (
            "REMOTE_POWERWASH",
            "REQUESTED",
            "return",
            loan.id,
        )
    [event] = _events(stocked, "return")
    assert event.after == {
        "state": "in_refurbishment",
        "condition": "damaged",
        "account": "suspended",
        "powerwash": "requested",
        "repair": "opened",
    }
    assert _outbox(stocked, "return") == {("device", "5CD1234XYZ"), ("borrower", "B-1017")}


def test_a_returning_borrower_gets_their_suspended_account_back(
    stocked: Ledger, programme: services.Programme
) -> None:
    lend(stocked, programme, "5CD1234XYZ")
    with stocked.transaction() as session:
        services.return_device(session, device="5CD1234XYZ", actor=ACTOR, now=later(1))
    again = lend(stocked, programme, "5CD5678ABC", now=later(2))
    assert (again.account_before, again.new_account) == ("suspended", False)
    assert again.account_email == "jan.peeters@example.org"
    with stocked.read() as session:
        assert len(session.scalars(sa.select(PendingCredential)).all()) == 1


def test_a_deleted_account_s_address_is_never_issued_again(
    stocked: Ledger, programme: services.Programme
) -> None:
    lend(stocked, programme, "5CD1234XYZ")
    with stocked.transaction() as session:
        services.return_device(session, device="5CD1234XYZ", actor=ACTOR, now=later(1))
        # What the retention job does later: the account is deleted, the person pseudonymised.
        borrower = session.scalars(sa.select(Borrower)).one()
        borrower.account_status = AccountStatus.DELETED
        borrower.account_email = None
        borrower.given_name = borrower.family_name = None
    again = lend(stocked, programme, "5CD5678ABC", now=later(40))
    assert again.new_account
    assert again.account_email == "jan.peeters2@example.org"


def test_namesakes_get_numbered_usernames(stocked: Ledger, programme: services.Programme) -> None:
    first = lend(stocked, programme, "5CD1234XYZ", borrower="B-1")
    second = lend(stocked, programme, "5CD5678ABC", borrower="B-2")
    assert (first.account_email, second.account_email) == (
        "jan.peeters@example.org",
        "jan.peeters2@example.org",
    )


def test_extend_by_device_or_by_loan_keeps_the_history(
    stocked: Ledger, programme: services.Programme
) -> None:
    lend(stocked, programme, "5CD1234XYZ")
    with stocked.transaction() as session:
        services.extend_loan(
            session, device="CB-0001", until=date(2026, 12, 20), actor=ACTOR, now=later(10)
        )
    with stocked.transaction() as session:
        extension = services.extend_loan(
            session,
            loan="l-1",
            until=date(2027, 1, 31),
            reason="course runs longer",
            actor=ACTOR,
            now=later(11),
        )
    assert (extension.previous_end, extension.new_end) == (date(2026, 12, 20), date(2027, 1, 31))
    with stocked.read() as session:
        loan = session.scalars(sa.select(Loan)).one()
        assert loan.agreed_end == date(2027, 1, 31)
        assert [(e["previous_end"], e["new_end"]) for e in queries.loan_extensions(session, 1)] == [
            ("2026-11-30", "2026-12-20"),
            ("2026-12-20", "2027-01-31"),
        ]
    events = _events(stocked, "extend")
    assert [e.after for e in events] == [{"agreed_end": "2026-12-20"}, {"agreed_end": "2027-01-31"}]
    assert events[1].reason == "course runs longer"


def test_a_returned_loan_cannot_be_extended(stocked: Ledger, programme: services.Programme) -> None:
    lend(stocked, programme, "5CD1234XYZ")
    with stocked.transaction() as session:
        services.return_device(session, device="5CD1234XYZ", actor=ACTOR, now=later(1))
    with pytest.raises(LoanNotExtended) as refused, stocked.transaction() as session:
        services.extend_loan(
            session, loan="L-1", until=date(2027, 1, 31), actor=ACTOR, now=later(2)
        )
    assert str(refused.value) == (
        f"loan L-1 ended on {later(1).astimezone().date().isoformat()} (ok); only an open loan "
        "can be extended"
    )


def test_the_loan_keeps_the_region_and_connectivity_it_was_made_in(
    stocked: Ledger, programme: services.Programme
) -> None:
    lend(stocked, programme, "5CD1234XYZ")
    with stocked.transaction() as session:
        services.set_region(
            session, device="5CD1234XYZ", region="Limburg", programme=programme, actor=ACTOR
        )
        session.execute(sa.update(Device).values(connectivity="wifi"))
    with stocked.read() as session:
        loan = session.scalars(sa.select(Loan)).one()
        assert (loan.region, loan.connectivity) == ("Antwerpen", "4g")


def test_a_refused_action_writes_nothing(stocked: Ledger, programme: services.Programme) -> None:
    lend(stocked, programme, "5CD1234XYZ")
    before = audit_count(stocked)
    with pytest.raises(NotAllowedInState), stocked.transaction() as s:
        services.checkout(
            s,
            device="5CD1234XYZ",
            borrower="B-2",
            given_name="Els",
            family_name="Claes",
            region="Antwerpen",
            until=UNTIL,
            programme=programme,
            actor=ACTOR,
            now=later(1),
        )
    assert audit_count(stocked) == before
    with stocked.read() as session:
        assert queries.find_borrower(session, "B-2") is None


@pytest.mark.parametrize(
    ("ref", "error", "message"),
    [
        ("5CD1234", NotFound, "no device has serial or asset tag 5CD1234 (they must match"),
        ("CB-000", NotFound, "find the device with `fleetsync device list`"),
        ("", InvalidInput, "give a device's serial or asset tag"),
    ],
    ids=["serial prefix", "asset tag prefix", "empty"],
)
def test_devices_are_found_by_exact_serial_or_asset_tag_only(
    stocked: Ledger, ref: str, error: type[Exception], message: str
) -> None:
    with stocked.read() as session:
        assert queries.find_device(session, " cb-0002 ").serial == "5CD5678ABC"
        with pytest.raises(error, match=re.escape(message)):
            queries.find_device(session, ref)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("borrower", "B 1017", "is not a loan desk id"),
        ("region", "Gent", "unknown region 'Gent'"),
        ("given_name", "", "needs a given name or a family name"),
    ],
)
def test_checkout_input_is_checked(
    stocked: Ledger, programme: services.Programme, field: str, value: str, message: str
) -> None:
    arguments: dict[str, Any] = {
        "borrower": "B-1",
        "given_name": "Jan",
        "family_name": "Peeters",
        "region": "Antwerpen",
    }
    arguments[field] = value
    if field == "given_name":
        arguments["family_name"] = " "
    with pytest.raises(InvalidInput, match=message), stocked.transaction() as session:
        services.checkout(
            session,
            device="5CD1234XYZ",
            until=UNTIL,
            programme=programme,
            actor=ACTOR,
            now=NOW,
            **arguments,
        )
