"""Random sequences of business actions through the service functions, on both databases, with
the lifecycle's rules checked after every step (hypothesis' stateful testing).

Each example works on its own devices and borrowers (a fresh prefix), so the examples of one run
can share the test's database.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy.orm import Session

from fleetsync import services
from fleetsync.domain.errors import InvalidInput, Refused
from fleetsync.domain.inventory import parse_devices_csv
from fleetsync.domain.lifecycle import CommandState, Condition, DeviceState
from fleetsync.ledger import Ledger
from fleetsync.ledger.models import AuditEvent, Borrower, Device, DeviceCommand, Loan, OutboxEntry
from fleetsync.settings import DEFAULT_REGIONS
from tests.ledger.conftest import ACTOR, NOW

#: (connectivity, region) of the machine's devices: two 4G, two wifi, one in another region.
DEVICES = [("4g", "Antwerpen"), ("wifi", "Antwerpen"), ("4g", "Limburg"), ("wifi", "Antwerpen")]
BORROWERS = 4
device_index = st.integers(0, len(DEVICES) - 1)
borrower_index = st.integers(0, BORROWERS - 1)


class LedgerMachine(RuleBasedStateMachine):
    ledger: ClassVar[Ledger]
    programme: ClassVar[services.Programme]

    def __init__(self) -> None:
        super().__init__()
        prefix = uuid.uuid4().hex[:8].upper()
        self.serials = [f"M{prefix}{i}" for i in range(len(DEVICES))]
        self.borrowers = [f"B-{prefix}-{i}" for i in range(BORROWERS)]
        self.now = NOW
        self.retired: set[str] = set()
        self.trail: list[tuple[int, str, str]] = []
        text = "serial,asset_tag,model,region,connectivity\n" + "".join(
            f"{serial},T{serial},Acer,{region},{connectivity}\n"
            for serial, (connectivity, region) in zip(self.serials, DEVICES, strict=True)
        )
        rows = parse_devices_csv(text, regions=DEFAULT_REGIONS)
        with self.ledger.transaction() as session:
            services.import_devices(session, rows, actor=ACTOR, now=self.now)
        with self.ledger.read() as session:
            self.device_ids = list(
                session.scalars(sa.select(Device.id).where(Device.serial.in_(self.serials)))
            )

    # ------------------------------------------------------------------------------ helpers
    def _snapshot(self) -> tuple[Any, ...]:
        with self.ledger.read() as session:
            devices = session.execute(
                sa.select(Device.serial, Device.state, Device.state_since, Device.region)
                .where(Device.id.in_(self.device_ids))
                .order_by(Device.serial)
            ).all()
            loans = session.execute(
                sa.select(Loan.id, Loan.returned_at, Loan.agreed_end)
                .where(Loan.device_id.in_(self.device_ids))
                .order_by(Loan.id)
            ).all()
            commands = session.execute(
                sa.select(DeviceCommand.id, DeviceCommand.state)
                .where(DeviceCommand.device_id.in_(self.device_ids))
                .order_by(DeviceCommand.id)
            ).all()
            accounts = session.execute(
                sa.select(Borrower.desk_id, Borrower.account_status)
                .where(Borrower.desk_id.in_(self.borrowers))
                .order_by(Borrower.desk_id)
            ).all()
            counts = [
                session.scalar(sa.select(sa.func.count()).select_from(table))
                for table in (AuditEvent, OutboxEntry)
            ]
        return (devices, loans, commands, accounts, counts)

    def _act(self, action: Callable[[Session], object]) -> bool:
        """Run one business action; a refusal must leave the ledger exactly as it was."""
        before = self._snapshot()
        try:
            with self.ledger.transaction() as session:
                action(session)
        except (Refused, InvalidInput):
            assert self._snapshot() == before
            return False
        return True

    def _common(self, device: int) -> dict[str, Any]:
        return {"device": self.serials[device], "actor": ACTOR, "now": self.now}

    def _pick(self, data: st.DataObject, *states: str) -> int:
        """Mostly a device the action suits, so sequences go somewhere; sometimes any device,
        so the refusals are exercised too."""
        with self.ledger.read() as session:
            current = dict(
                session.execute(
                    sa.select(Device.serial, Device.state).where(Device.id.in_(self.device_ids))
                ).all()
            )
        suited = [i for i, serial in enumerate(self.serials) if current[serial] in states]
        if suited and data.draw(st.integers(0, 4), label="suited") > 0:
            return data.draw(st.sampled_from(suited), label="device")
        return data.draw(device_index, label="device")

    # -------------------------------------------------------------------------------- rules
    @rule(
        data=st.data(),
        borrower=borrower_index,
        # Mostly what the desk does; sometimes what the rules refuse.
        needs_data=st.sampled_from([False, False, True]),
        region=st.sampled_from(["Antwerpen", "Antwerpen", "Antwerpen", "Limburg"]),
        days=st.integers(1, 90),
    )
    def checkout(
        self, data: st.DataObject, borrower: int, needs_data: bool, region: str, days: int
    ) -> None:
        device = self._pick(data, "spare")
        self._act(
            lambda s: services.checkout(
                s,
                borrower=self.borrowers[borrower],
                given_name="Jan",
                family_name="Peeters",
                region=region,
                until=self.now.date() + timedelta(days=days),
                needs_data=needs_data,
                programme=self.programme,
                **self._common(device),
            )
        )

    @rule(data=st.data(), condition=st.sampled_from([Condition.OK, Condition.DAMAGED]))
    def return_device(self, data: st.DataObject, condition: Condition) -> None:
        device = self._pick(data, "on_loan")
        self._act(lambda s: services.return_device(s, condition=condition, **self._common(device)))

    @rule(data=st.data(), days=st.integers(-3, 180))
    def extend_loan(self, data: st.DataObject, days: int) -> None:
        device = self._pick(data, "on_loan")
        until = self.now.date() + timedelta(days=days)
        self._act(lambda s: services.extend_loan(s, until=until, **self._common(device)))

    @rule(data=st.data())
    def mark_lost(self, data: st.DataObject) -> None:
        device = self._pick(data, "on_loan", "in_refurbishment")
        self._act(lambda s: services.mark_lost(s, **self._common(device)))

    @rule(data=st.data())
    def mark_found(self, data: st.DataObject) -> None:
        device = self._pick(data, "lost")
        self._act(lambda s: services.mark_found(s, **self._common(device)))

    @rule(data=st.data())
    def reprovision(self, data: st.DataObject) -> None:
        device = self._pick(data, "spare", "ict_test", "in_refurbishment")
        self._act(lambda s: services.reprovision(s, **self._common(device)))

    @rule(data=st.data(), force=st.booleans())
    def mark_ready(self, data: st.DataObject, force: bool) -> None:
        device = self._pick(data, "in_refurbishment")
        reason = "wiped by hand" if force else None
        ready = self._act(
            lambda s: services.mark_ready(s, force=force, reason=reason, **self._common(device))
        )
        if ready and not force:
            with self.ledger.read() as session:
                latest = session.scalars(
                    sa.select(DeviceCommand)
                    .where(DeviceCommand.device_id == self._id(device))
                    .order_by(DeviceCommand.id.desc())
                    .limit(1)
                ).one()
                assert (latest.state, latest.result) == ("EXECUTED_BY_CLIENT", "SUCCESS")

    # Only two of the four devices can be retired: a retired device ends an example's story.
    @rule(device=st.sampled_from([2, 3]))
    def retire(self, device: int) -> None:
        if self._act(lambda s: services.retire(s, reason="broken", **self._common(device))):
            self.retired.add(self.serials[device])

    @rule(data=st.data())
    def assign_ict_test(self, data: st.DataObject) -> None:
        device = self._pick(data, "spare")
        self._act(lambda s: services.assign_ict_test(s, **self._common(device)))

    @rule(
        data=st.data(),
        state=st.sampled_from(
            [CommandState.PENDING, CommandState.EXECUTED_BY_CLIENT, CommandState.EXPIRED]
        ),
    )
    def google_reports(self, data: st.DataObject, state: CommandState) -> None:
        """What the reconciler records: the latest command was issued, executed or expired."""
        device = self._pick(data, "in_refurbishment")
        with self.ledger.transaction() as session:
            command = session.scalars(
                sa.select(DeviceCommand)
                .where(DeviceCommand.device_id == self._id(device))
                .where(DeviceCommand.state.in_(["REQUESTED", "PENDING"]))
                .order_by(DeviceCommand.id.desc())
                .limit(1)
            ).first()
            if command is None:
                return
            command.state = state
            command.result = "SUCCESS" if state == "EXECUTED_BY_CLIENT" else None
            command.updated_at = self.now

    @rule(days=st.integers(0, 40))
    def time_passes(self, days: int) -> None:
        self.now += timedelta(days=days)

    def _id(self, device: int) -> int:
        with self.ledger.read() as session:
            return session.scalars(
                sa.select(Device.id).where(Device.serial == self.serials[device])
            ).one()

    # --------------------------------------------------------------------------- invariants
    @invariant()
    def the_lifecycle_rules_hold(self) -> None:
        with self.ledger.read() as session:
            devices = {
                d.id: d
                for d in session.scalars(sa.select(Device).where(Device.id.in_(self.device_ids)))
            }
            open_loans = session.scalars(
                sa.select(Loan).where(
                    Loan.device_id.in_(self.device_ids), Loan.returned_at.is_(None)
                )
            ).all()
            by_device = [loan.device_id for loan in open_loans]
            by_borrower = [loan.borrower_id for loan in open_loans]
            # At most one open loan per device and per borrower.
            assert len(by_device) == len(set(by_device))
            assert len(by_borrower) == len(set(by_borrower))
            for device in devices.values():
                # On loan exactly when there is an open loan.
                assert (device.state == "on_loan") == (device.id in by_device), device.serial
                # No powerwash waits to be issued for a device outside refurbishment.
                waiting = session.scalar(
                    sa.select(sa.func.count())
                    .select_from(DeviceCommand)
                    .where(DeviceCommand.device_id == device.id, DeviceCommand.state == "REQUESTED")
                )
                if device.state != "in_refurbishment":
                    assert waiting == 0, device.serial
            for loan in open_loans:
                device = devices[loan.device_id]
                # A borrower who needs data has a 4G device; the loan keeps its region.
                if loan.needs_data:
                    assert loan.connectivity == device.connectivity == "4g"
                assert loan.region == device.region == loan.borrower.region
                assert loan.borrower.account_status == "active"
            for borrower in session.scalars(
                sa.select(Borrower).where(Borrower.desk_id.in_(self.borrowers))
            ):
                if borrower.id not in by_borrower:
                    assert borrower.account_status == "suspended"
            # Retired devices stay retired.
            for device in devices.values():
                if device.serial in self.retired:
                    assert device.state == "retired"

    @invariant()
    def the_audit_trail_only_grows(self) -> None:
        with self.ledger.read() as session:
            trail = [
                (event.id, event.action, event.actor)
                for event in session.scalars(
                    sa.select(AuditEvent)
                    .where(AuditEvent.device_id.in_(self.device_ids))
                    .order_by(AuditEvent.id)
                )
            ]
        assert trail[: len(self.trail)] == self.trail
        self.trail = trail


def test_random_sequences_of_actions_keep_the_rules(
    ledger: Ledger, programme: services.Programme, database_url: str
) -> None:
    machine = type("LedgerMachineRun", (LedgerMachine,), {"ledger": ledger, "programme": programme})
    # PostgreSQL round trips cost more: fewer examples keep the suite fast on 2 cores.
    postgres = database_url.startswith("postgresql")
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=15 if postgres else 40,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def test_the_machine_sees_a_broken_rule(ledger: Ledger, programme: services.Programme) -> None:
    """The invariants are not vacuous: a ledger with two open loans on one device fails them."""
    machine = type("Broken", (LedgerMachine,), {"ledger": ledger, "programme": programme})()
    with ledger.transaction() as session:
        device = session.scalars(sa.select(Device).where(Device.serial == machine.serials[0])).one()
        device.state = DeviceState.ON_LOAN  # without a loan: the ledger's first rule is broken
    with pytest.raises(AssertionError):
        machine.the_lifecycle_rules_hold()
