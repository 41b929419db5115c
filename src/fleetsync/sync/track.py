"""The command tracker: follow every open device command until the device has executed it.

- PENDING → SENT_TO_CLIENT → ACKED_BY_CLIENT → EXECUTED_BY_CLIENT, as ``commands.get`` reports
  (read in HTTP batches). An executed powerwash with result SUCCESS makes the device ready: it
  becomes spare (``auto_ready_after_powerwash``), or waits for ``fleetsync device ready``.
- EXPIRED, CANCELLED, or executed with FAILURE / IGNORED: the powerwash is asked for again
  (``on_powerwash_failure = "reissue"``) or left for a technician to decide (``"flag"``).
- UNKNOWN (the answer to ``issueCommand`` was lost; Google may hold the command, and the
  Directory API lists no device's commands, it only gets one by its id): settled from evidence
  that excludes a command in flight, never from one check-in. A device that enrolled again after
  the attempt executed it (a powerwash forces re-enrolment). A check-in after the grace is only
  noted (``checkin_seen_at``): the device may be executing the command right then
  (SENT_TO_CLIENT, ACKED_BY_CLIENT). A second check-in at least the grace after the noted one,
  still without enrolling again, shows the device has been up and running all that time without
  powerwashing: the command is not on it, and the powerwash is asked for again. Until then
  nothing is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from fleetsync import services
from fleetsync.domain.errors import FleetsyncError, Refused
from fleetsync.domain.lifecycle import CommandState
from fleetsync.domain.observed import ObservedCommand, ObservedDevice
from fleetsync.google import Google
from fleetsync.google.errors import GoogleNotFound
from fleetsync.ledger import Ledger
from fleetsync.ledger.models import DeviceCommand
from fleetsync.log import get_logger
from fleetsync.services import reconciled
from fleetsync.settings import Settings
from fleetsync.sync.journal import now

__all__ = ["TrackReport", "track_commands"]

log = get_logger(__name__)

_FINISHED_BADLY = {CommandState.EXPIRED, CommandState.CANCELLED}


@dataclass
class TrackReport:
    checked: int = 0
    executed: list[str] = field(default_factory=list)
    made_ready: list[str] = field(default_factory=list)
    reissued: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "executed": self.executed,
            "made_ready": self.made_ready,
            "reissued": self.reissued,
            "flagged": self.flagged,
        }


@dataclass(frozen=True, slots=True)
class _Open:
    command: int
    serial: str
    device_id: str | None
    google_command_id: str | None
    state: CommandState
    issued_at: datetime | None
    checkin_seen_at: datetime | None = None


def track_commands(ledger: Ledger, google: Google, settings: Settings) -> TrackReport:
    report = TrackReport()
    with ledger.read() as session:
        open_commands = [
            _Open(
                command=command.id,
                serial=device.serial,
                device_id=device.google_device_id,
                google_command_id=command.google_command_id,
                state=command.state,
                issued_at=command.issued_at,
                checkin_seen_at=command.checkin_seen_at,
            )
            for command, device in reconciled.open_commands(session)
        ]
    report.checked = len(open_commands)
    if not open_commands:
        return report
    known = [c for c in open_commands if c.google_command_id and c.device_id]
    answers = google.directory.get_commands(
        [(c.device_id or "", c.google_command_id or "") for c in known]
    )
    unknown = [c for c in open_commands if c.state is CommandState.UNKNOWN and c.device_id]
    devices = google.directory.get_devices([c.device_id or "" for c in unknown]) if unknown else {}
    tracker = _Tracker(ledger, settings, report)
    for item in known:
        key = (item.device_id or "", item.google_command_id or "")
        if key in answers.results:
            tracker.observed(item, answers.results[key])
        elif isinstance(answers.errors.get(key), GoogleNotFound):
            tracker.finished(item, CommandState.CANCELLED, None, "Google no longer knows it")
    grace = timedelta(minutes=settings.sync.unconfirmed_powerwash_grace_minutes)
    for item in unknown:
        seen = devices.get(item.device_id or "")
        if seen is not None:
            tracker.unconfirmed(item, seen, grace)
    return report


def _update(
    session: Session,
    item: _Open,
    state: CommandState,
    *,
    result: str | None = None,
    executed_at: datetime | None = None,
    error: str | None = None,
) -> DeviceCommand:
    command = session.get(DeviceCommand, item.command)
    assert command is not None  # the tracker read it a moment ago; commands are never deleted
    reconciled.command_update(
        session, command, state=state, result=result, executed_at=executed_at, error=error,
        now=now(),
    )  # fmt: skip
    return command


class _Tracker:
    def __init__(self, ledger: Ledger, settings: Settings, report: TrackReport) -> None:
        self.ledger = ledger
        self.settings = settings
        self.report = report

    def observed(self, item: _Open, seen: ObservedCommand) -> None:
        try:
            state = CommandState(seen.state)
        except ValueError:
            log.warning("sync.command_state_unknown", state=seen.state, serial=item.serial)
            return
        if state is CommandState.EXECUTED_BY_CLIENT and seen.result == "SUCCESS":
            self.executed(item, seen.executed, None)
        elif state is CommandState.EXECUTED_BY_CLIENT or state in _FINISHED_BADLY:
            error = seen.error_message or (
                f"the device reported {seen.result}" if seen.result else state.lower()
            )
            self.finished(item, state, seen.result, error, executed=seen.executed)
        elif state is not item.state:
            with self.ledger.transaction() as session:
                _update(session, item, state)

    def unconfirmed(self, item: _Open, seen: ObservedDevice, grace: timedelta) -> None:
        """Settle a powerwash whose answer was lost, from the device alone (see the module)."""
        issued = item.issued_at
        if issued is None:
            return
        if seen.last_enrollment is not None and seen.last_enrollment > issued:
            self.executed(
                item,
                seen.last_enrollment,
                "confirmed by the device enrolling again (Google's answer was lost)",
            )
            return
        checked_in = seen.last_sync
        if checked_in is None or checked_in <= issued + grace:
            return  # not back yet: the command, if Google has it, waits for the device
        first = item.checkin_seen_at
        if first is None or checked_in < first:
            # Back, but maybe executing it right now: note the check-in, decide on a later one.
            with self.ledger.transaction() as session:
                command = session.get(DeviceCommand, item.command)
                assert command is not None
                command.checkin_seen_at = checked_in
            log.info("sync.powerwash_unconfirmed", serial=item.serial, checked_in=checked_in)
            return
        if checked_in - first < grace:
            return
        minutes = int((checked_in - first).total_seconds() // 60)
        self.finished(
            item,
            CommandState.CANCELLED,
            None,
            "not executed: Google's answer to it was lost, and the device checked in at "
            f"{first.isoformat(timespec='minutes')} and again {minutes} minutes later without "
            "enrolling again, as a powerwashed device does",
        )

    def executed(self, item: _Open, at: datetime | None, note: str | None) -> None:
        with self.ledger.transaction() as session:
            _update(
                session,
                item,
                CommandState.EXECUTED_BY_CLIENT,
                result="SUCCESS",
                executed_at=at or now(),
                error=note,
            )
        self.report.executed.append(item.serial)
        if not self.settings.sync.auto_ready_after_powerwash:
            return
        try:
            with self.ledger.transaction() as session:
                services.mark_ready(session, device=item.serial, actor=reconciled.SYNC)
        except Refused:
            return  # not in refurbishment any more, or a newer powerwash is awaited
        except FleetsyncError as exc:
            # This device's data (e.g. its serial is another device's asset tag): it waits for
            # a person, the other devices' commands are followed all the same.
            self.report.flagged.append(item.serial)
            log.warning("sync.not_made_ready", serial=item.serial, error=str(exc))
            return
        self.report.made_ready.append(item.serial)

    def finished(
        self,
        item: _Open,
        state: CommandState,
        result: str | None,
        error: str,
        *,
        executed: datetime | None = None,
    ) -> None:
        with self.ledger.transaction() as session:
            command = _update(
                session, item, state, result=result, executed_at=executed, error=error
            )
            if self.settings.sync.on_powerwash_failure == "reissue":
                if reconciled.request_powerwash_again(
                    session, command, now=now(), why=f"the last one did not execute: {error}"
                ):
                    self.report.reissued.append(item.serial)
                return
        self.report.flagged.append(item.serial)
        log.warning("sync.powerwash_flagged", serial=item.serial, error=error)
