"""What technicians do to devices, through the service functions on both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from fleetsync import services
from fleetsync.domain.errors import InvalidInput
from fleetsync.domain.lifecycle import CommandState
from fleetsync.ledger import Ledger, queries
from fleetsync.ledger.models import AuditEvent, Borrower, Device, DeviceCommand, Loan, OutboxEntry
from tests.ledger.conftest import ACTOR, NOW, add_devices, later, lend

SERIAL = "5CD1234XYZ"


@pytest.fixture
def stocked(ledger: Ledger) -> Ledger:
    add_devices(ledger, f"{SERIAL},CB-0001,Acer C733,Antwerpen,4g")
    return ledger


def _device(ledger: Ledger) -> Device:
    with ledger.read() as session:
        return queries.find_device(session, SERIAL)


def _commands(ledger: Ledger) -> list[tuple[str, str]]:
    with ledger.read() as session:
        rows = session.execute(
            sa.select(DeviceCommand.reason, DeviceCommand.state).order_by(DeviceCommand.id)
        )
        return [(reason, state) for reason, state in rows]


def _last_event(ledger: Ledger) -> AuditEvent:
    with ledger.read() as session:
        return session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()


def _powerwash_executes(ledger: Ledger, result: str = "SUCCESS") -> None:
    """What the reconciler records once Google reports the command executed."""
    with ledger.transaction() as session:
        command = session.scalars(
            sa.select(DeviceCommand).order_by(DeviceCommand.id.desc()).limit(1)
        ).one()
        command.state = CommandState.EXECUTED_BY_CLIENT
        command.result = result
        command.google_command_id = "1234567890"
        command.issued_at = command.executed_at = command.updated_at = later(1)


def test_a_device_lost_on_loan_ends_the_loan_and_suspends_the_account(
    stocked: Ledger, programme: services.Programme
) -> None:
    lend(stocked, programme, SERIAL)
    with stocked.transaction() as session:
        change = services.mark_lost(
            session, device="cb-0001", reason="reported stolen", actor=ACTOR, now=later(5)
        )
    assert (change.before, change.after, change.loan, change.account) == (
        "on_loan",
        "lost",
        "L-1",
        "suspended",
    )
    with stocked.read() as session:
        loan = session.scalars(sa.select(Loan)).one()
        assert (loan.returned_at, loan.return_condition) == (later(5), "lost")
        assert session.scalars(sa.select(Borrower.account_status)).one() == "suspended"
        outbox = set(session.execute(sa.select(OutboxEntry.entity_kind, OutboxEntry.reason)))
        assert {("device", "lost"), ("borrower", "lost")} <= {(k, r) for k, r in outbox}
    event = _last_event(stocked)
    assert (event.action, event.reason) == ("lost", "reported stolen")
    assert event.after == {"state": "lost", "condition": "lost", "account": "suspended"}
    # The borrower can get a replacement straight away.
    add_devices(stocked, "5CD0000NEW,CB-0009,Acer C733,Antwerpen,wifi")
    assert lend(stocked, programme, "5CD0000NEW", now=later(6)).account_before == "suspended"


def test_a_found_device_is_wiped_before_anyone_gets_it(stocked: Ledger) -> None:
    with stocked.transaction() as session:
        services.mark_lost(session, device=SERIAL, actor=ACTOR, now=NOW)
    with stocked.transaction() as session:
        change = services.mark_found(session, device=SERIAL, actor=ACTOR, now=later(3))
    assert (change.after, change.powerwash) == ("in_refurbishment", "requested")
    assert _commands(stocked) == [("found", "REQUESTED")]


def test_refurbishment_ends_once_the_powerwash_has_executed(stocked: Ledger) -> None:
    with stocked.transaction() as session:
        services.reprovision(session, device=SERIAL, reason="keyboard check", actor=ACTOR, now=NOW)
    _powerwash_executes(stocked)
    with stocked.transaction() as session:
        change = services.mark_ready(session, device=SERIAL, actor="sync", now=later(2))
    assert (change.before, change.after, change.forced) == ("in_refurbishment", "spare", False)
    assert _device(stocked).state == "spare"
    assert _last_event(stocked).actor == "sync"


def test_a_failed_powerwash_is_asked_for_again(stocked: Ledger) -> None:
    with stocked.transaction() as session:
        services.reprovision(session, device=SERIAL, actor=ACTOR, now=NOW)
    _powerwash_executes(stocked, result="FAILURE")
    with stocked.transaction() as session:
        services.reprovision(session, device=SERIAL, actor=ACTOR, now=later(2))
    assert _commands(stocked) == [
        ("reprovision", "EXECUTED_BY_CLIENT"),
        ("reprovision", "REQUESTED"),
    ]
    assert _device(stocked).state_since == NOW  # still the same stay in refurbishment


def test_forcing_ready_calls_off_the_powerwash_not_yet_issued(stocked: Ledger) -> None:
    with stocked.transaction() as session:
        services.reprovision(session, device=SERIAL, actor=ACTOR, now=NOW)
    with stocked.transaction() as session:
        change = services.mark_ready(
            session, device=SERIAL, force=True, reason="wiped by hand", actor=ACTOR, now=later(1)
        )
    assert (change.after, change.forced, change.powerwash) == ("spare", True, "cancelled")
    assert _commands(stocked) == [("reprovision", "CANCELLED")]
    event = _last_event(stocked)
    assert (event.after, event.reason) == (
        {"state": "spare", "powerwash": "cancelled", "forced": True},
        "wiped by hand",
    )


def test_retiring_needs_a_reason_and_is_for_good(stocked: Ledger) -> None:
    with pytest.raises(InvalidInput, match="needs a reason"), stocked.transaction() as session:
        services.retire(session, device=SERIAL, reason=" ", actor=ACTOR)
    with stocked.transaction() as session:
        services.retire(session, device=SERIAL, reason="screen broken", actor=ACTOR, now=NOW)
    assert _device(stocked).state == "retired"


def test_the_ict_test_pool_and_back(stocked: Ledger) -> None:
    with stocked.transaction() as session:
        services.assign_ict_test(session, device=SERIAL, reason="policy trial", actor=ACTOR)
    assert _device(stocked).state == "ict_test"
    with stocked.transaction() as session:
        services.reprovision(session, device=SERIAL, actor=ACTOR)
    _powerwash_executes(stocked)
    with stocked.transaction() as session:
        services.mark_ready(session, device=SERIAL, actor=ACTOR)
    assert _device(stocked).state == "spare"


def test_moving_a_device_to_another_region(stocked: Ledger, programme: services.Programme) -> None:
    with stocked.transaction() as session:
        change = services.set_region(
            session, device=SERIAL, region="limburg", programme=programme, actor=ACTOR, now=NOW
        )
    assert (change.before, change.after) == ("Antwerpen", "Limburg")
    assert _device(stocked).region == "Limburg"
    assert _last_event(stocked).after == {"region": "Limburg"}
    with (
        pytest.raises(InvalidInput, match="already belongs to region Limburg"),
        stocked.transaction() as session,
    ):
        services.set_region(
            session, device=SERIAL, region="Limburg", programme=programme, actor=ACTOR
        )


def test_the_history_tells_the_device_s_life(
    stocked: Ledger, programme: services.Programme
) -> None:
    lend(stocked, programme, SERIAL)
    with stocked.transaction() as session:
        services.return_device(session, device=SERIAL, actor=ACTOR, now=later(1))
    with stocked.read() as session:
        history = queries.device_history(session, _device(stocked).id)
    assert [(h["action"], h["loan"], h["borrower"]) for h in history] == [
        ("import", None, None),
        ("checkout", "L-1", "B-1017"),
        ("return", "L-1", "B-1017"),
    ]


def test_an_unknown_actor_is_a_programming_error(stocked: Ledger) -> None:
    with pytest.raises(ValueError, match="is not cli:<user>"), stocked.transaction() as session:
        services.reprovision(session, device=SERIAL, actor="ann")
