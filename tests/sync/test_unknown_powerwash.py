"""A powerwash whose answer was lost (UNKNOWN) is settled only from evidence that excludes a
command in flight: the device enrolling again, or two check-ins far apart without it. A device
that checks in after a long time off and starts executing the command is never sent a second
one, and the audit trail never says a command "never reached the device" on a guess."""

from __future__ import annotations

import sqlalchemy as sa

from fleetsync.domain.lifecycle import CommandState
from fleetsync.ledger.models import AuditEvent, DeviceCommand
from fleetsync.sync import drain_outbox
from tests.sync.conftest import Fleet

ISSUE = "admin.customer.devices.chromeos.issueCommand"


def _ledger_commands(fleet: Fleet) -> list[tuple[str, str | None]]:
    with fleet.ledger.read() as session:
        return [
            (c.state, c.error)
            for c in session.scalars(sa.select(DeviceCommand).order_by(DeviceCommand.id))
        ]


def _audit_reasons(fleet: Fleet) -> list[str]:
    with fleet.ledger.read() as session:
        return [r or "" for r in session.scalars(sa.select(AuditEvent.reason))]


def _google_states(fleet: Fleet, serial: str) -> list[str]:
    device = fleet.sandbox.control.device(fleet.google_id(serial))
    return [c["state"] for c in device["commands"]]


def test_an_unknown_powerwash_that_a_device_back_after_the_grace_is_executing_is_never_sent_again(
    adopted: Fleet,
) -> None:
    [serial] = adopted.lent_and_returned(1)
    control = adopted.sandbox.control
    control.behaviour(powerwash_execute_delay_seconds=15 * 60)  # a slow powerwash
    # Google issues the command, then the connection drops: fleetsync never learns its id.
    control.fail_next(ISSUE, status=0)
    drain_outbox(adopted.ledger, adopted.settings, google=adopted.google)
    assert [state for state, _ in _ledger_commands(adopted)] == [CommandState.UNKNOWN.value]

    # The device stays switched off much longer than the grace, then comes back: it checks in
    # (well after issued + grace, without having enrolled again) and starts executing.
    grace = adopted.settings.sync.unconfirmed_powerwash_grace_minutes
    control.advance(minutes=3 * grace)
    control.online([adopted.google_id(serial)])
    control.advance(minutes=1)
    assert _google_states(adopted, serial) == ["ACKED_BY_CLIENT"]

    in_flight = adopted.sync()

    assert in_flight.tracked is not None
    assert (in_flight.tracked.reissued, in_flight.tracked.executed) == ([], [])
    assert len(adopted.commands(serial)) == 1, "a second powerwash was sent"
    assert [state for state, _ in _ledger_commands(adopted)] == [CommandState.UNKNOWN.value]

    control.advance(minutes=20)  # it executed and enrolled again
    settled = adopted.sync()

    assert settled.tracked is not None
    assert settled.tracked.executed == [serial]
    assert [c.type for c in adopted.commands(serial)] == ["REMOTE_POWERWASH"]
    assert _google_states(adopted, serial) == ["EXECUTED_BY_CLIENT"]
    assert adopted.device(serial)["orgUnitPath"] == "/Chromebooks/Spare"
    assert _ledger_commands(adopted) == [
        (
            CommandState.EXECUTED_BY_CLIENT.value,
            "confirmed by the device enrolling again (Google's answer was lost)",
        )
    ]
    assert not [r for r in _audit_reasons(adopted) if "never reached" in r]


def test_an_unknown_powerwash_is_asked_for_again_only_after_a_second_check_in_long_after_the_first(
    adopted: Fleet,
) -> None:
    [serial] = adopted.lent_and_returned(1)
    control = adopted.sandbox.control
    # Google fails the call with a 503: fleetsync cannot know whether it was issued (it was
    # not), so it never sends it again blindly.
    control.fail_next(ISSUE, status=503)
    drain_outbox(adopted.ledger, adopted.settings, google=adopted.google)
    assert adopted.commands(serial) == []
    grace = adopted.settings.sync.unconfirmed_powerwash_grace_minutes

    control.online([adopted.google_id(serial)])
    control.advance(minutes=2 * grace)
    first = adopted.sync()  # one check-in after the grace: noted, nothing decided
    assert first.tracked is not None
    assert first.tracked.reissued == []
    control.advance(minutes=grace // 2)
    too_soon = adopted.sync()  # a later check-in, but not long after the first
    assert too_soon.tracked is not None
    assert too_soon.tracked.reissued == []
    assert adopted.commands(serial) == []
    assert [state for state, _ in _ledger_commands(adopted)] == [CommandState.UNKNOWN.value]

    control.advance(minutes=grace)  # up and checking in all along, never enrolled again
    second = adopted.sync()

    assert second.tracked is not None
    assert second.tracked.reissued == [serial]
    assert [c.type for c in adopted.commands(serial)] == ["REMOTE_POWERWASH"]
    [(state, why), (again, _)] = _ledger_commands(adopted)
    assert (state, again) == (CommandState.CANCELLED.value, CommandState.PENDING.value)
    assert why is not None
    assert why.startswith("not executed: Google's answer to it was lost")
    assert "checked in at" in why
    assert "without enrolling again" in why
    assert not [r for r in _audit_reasons(adopted) if "never reached" in r]

    control.advance(minutes=10)
    done = adopted.sync()
    assert done.tracked is not None
    assert done.tracked.made_ready == [serial]
    assert len(adopted.commands(serial)) == 1
