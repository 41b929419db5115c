"""Devices in the field: whether they are online, when they check in, what a command does to them.

Nothing ticks. A device's state is brought up to the simulated clock when it is read or changed
(``settle``): the check-ins that happened since, the commands they delivered, and the commands
that executed or expired. A command waits PENDING until the device checks in, is SENT_TO_CLIENT
at that check-in, ACKED_BY_CLIENT ``ack_delay`` later and EXECUTED_BY_CLIENT ``execute_delay``
after delivery; one never delivered before its expiry time is EXPIRED.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from fleetsync.sandbox.clock import rfc3339

__all__ = ["Behaviour", "Command", "Presence", "settle"]

DAY = 86400.0


@dataclass
class Behaviour:
    """How the simulated tenant behaves; the control surface changes it."""

    checkin_interval_seconds: float = 300.0
    ack_delay_seconds: float = 2.0
    execute_delay_seconds: float = 10.0
    powerwash_execute_delay_seconds: float = 60.0
    #: A command other than a powerwash expires this long after it was issued.
    command_expiry_seconds: float = 3 * DAY
    #: A REMOTE_POWERWASH stays valid on the device side for years.
    powerwash_expiry_seconds: float = 5 * 365 * DAY
    #: Right after users.insert, changes to the user fail with "User creation is not complete".
    user_propagation_seconds: float = 0.0
    #: How long a deleted user can be undeleted.
    undelete_window_seconds: float = 20 * DAY
    #: Chrome upgrade licences left for REENABLE (None: never short of one).
    licences_available: int | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def update(self, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            if key not in self.__dataclass_fields__:
                raise ValueError(
                    f"unknown behaviour setting {key!r}; known: {sorted(self.__dataclass_fields__)}"
                )
            setattr(self, key, value)

    def execute_delay(self, command_type: str) -> float:
        if command_type == "REMOTE_POWERWASH":
            return self.powerwash_execute_delay_seconds
        return self.execute_delay_seconds

    def expiry(self, command_type: str) -> float:
        if command_type == "REMOTE_POWERWASH":
            return self.powerwash_expiry_seconds
        return self.command_expiry_seconds


@dataclass
class Command:
    command_id: str
    type: str
    issue_time: float
    expire_time: float
    payload: str | None = None
    delivered: float | None = None
    #: What the device reports when it executes: SUCCESS, FAILURE or IGNORED.
    outcome: str = "SUCCESS"
    #: EXPIRED or CANCELLED once it is final without having been delivered.
    final_state: str | None = None
    #: Whether its effect (a powerwash wiping the device) has been applied.
    applied: bool = False

    def view(self, now: float, behaviour: Behaviour) -> dict[str, Any]:
        """``customer.devices.chromeos.commands.get`` as of ``now`` (the device is settled)."""
        body: dict[str, Any] = {
            "commandId": self.command_id,
            "type": self.type,
            "issueTime": rfc3339(self.issue_time),
            "commandExpireTime": rfc3339(self.expire_time),
        }
        if self.payload is not None:
            body["payload"] = self.payload
        if self.final_state is not None:
            body["state"] = self.final_state
        elif self.delivered is None:
            body["state"] = "PENDING"
        elif now < self.delivered + behaviour.ack_delay_seconds:
            body["state"] = "SENT_TO_CLIENT"
        elif now < self.delivered + behaviour.execute_delay(self.type):
            body["state"] = "ACKED_BY_CLIENT"
        else:
            body["state"] = "EXECUTED_BY_CLIENT"
            result: dict[str, Any] = {
                "result": self.outcome,
                "executeTime": rfc3339(self.delivered + behaviour.execute_delay(self.type)),
            }
            if self.outcome != "SUCCESS":
                result["errorMessage"] = (
                    "The device ignored the command."
                    if self.outcome == "IGNORED"
                    else "The device failed to execute the command."
                )
            body["commandResult"] = result
        return body


@dataclass
class Presence:
    """A device's life outside the Admin console."""

    online: bool = False
    checkin_interval: float = 300.0
    last_checkin: float = 0.0
    #: With forced re-enrollment (Google's default) a powerwashed device enrols itself again.
    forced_reenrollment: bool = True
    #: What the device reports for the commands it executes.
    command_outcome: str = "SUCCESS"
    commands: list[Command] = field(default_factory=list)


def _apply_effect(
    command: Command, data: dict[str, Any], presence: Presence, executed: float
) -> None:
    if command.outcome != "SUCCESS":
        return
    if command.type in {"REMOTE_POWERWASH", "WIPE_USERS"}:
        data["recentUsers"] = []
        data.pop("activeTimeRanges", None)
    if command.type == "REMOTE_POWERWASH":
        if presence.forced_reenrollment:
            # The wiped device enrols itself again and fetches policy: both times move.
            stamp = rfc3339(executed)
            data["lastEnrollmentTime"] = stamp
            data["lastSync"] = stamp
            presence.last_checkin = max(presence.last_checkin, executed)
        else:
            presence.online = False  # wiped and unenrolled: it never reports again


def _deliver_pending(presence: Presence, at: float) -> None:
    for command in presence.commands:
        if command.delivered is None and command.final_state is None:
            if command.issue_time <= at < command.expire_time:
                command.delivered = at
            elif at >= command.expire_time:
                command.final_state = "EXPIRED"


def check_in(presence: Presence, data: dict[str, Any], now: float, behaviour: Behaviour) -> None:
    """The device contacts Google right now (coming online, or a forced check-in)."""
    settle(presence, data, now, behaviour)
    presence.last_checkin = now
    data["lastSync"] = rfc3339(now)
    _deliver_pending(presence, now)
    settle(presence, data, now, behaviour)


def settle(presence: Presence, data: dict[str, Any], now: float, behaviour: Behaviour) -> None:
    """Bring the device and its commands up to ``now``."""
    if presence.online:
        interval = presence.checkin_interval
        last = presence.last_checkin
        for command in presence.commands:
            if command.delivered is not None or command.final_state is not None:
                continue
            steps = max(1, math.ceil((command.issue_time - last) / interval))
            delivery = last + steps * interval
            if delivery <= now and delivery < command.expire_time:
                command.delivered = delivery
            elif now >= command.expire_time:
                command.final_state = "EXPIRED"
        if now >= last + interval:
            presence.last_checkin = last + math.floor((now - last) / interval) * interval
            data["lastSync"] = rfc3339(presence.last_checkin)
    elif presence.commands:
        for command in presence.commands:
            pending = command.delivered is None and command.final_state is None
            if pending and now >= command.expire_time:
                command.final_state = "EXPIRED"
    for command in presence.commands:
        if command.delivered is not None and not command.applied:
            executed = command.delivered + behaviour.execute_delay(command.type)
            if now >= executed:
                command.applied = True
                _apply_effect(command, data, presence, executed)
