"""What technicians do to devices: re-provision, make ready, mark lost or found, retire, move to
the ICT test pool or another region. Each takes an open session (the caller commits)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from fleetsync.domain import lifecycle
from fleetsync.domain.errors import InvalidInput
from fleetsync.domain.lifecycle import Condition
from fleetsync.ledger import queries
from fleetsync.ledger.audit import record, wake
from fleetsync.services._effects import (
    DeviceChange,
    apply,
    check_actor,
    clean_text,
    facts,
    lock_device,
    now_or,
)
from fleetsync.services.desks import check_device_loan
from fleetsync.services.overdue import lift_lock
from fleetsync.services.programme import Programme

__all__ = [
    "RegionChange",
    "assign_ict_test",
    "mark_found",
    "mark_lost",
    "mark_ready",
    "open_repair",
    "repaired",
    "reprovision",
    "retire",
    "set_region",
]


def reprovision(
    session: Session,
    *,
    device: str,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> DeviceChange:
    """Send the device (back) to refurbishment: it is powerwashed and checked again."""
    check_actor(actor)
    found = lock_device(session, device)
    transition = lifecycle.reprovision(facts(session, found))
    why = clean_text(reason, "reason")
    return apply(session, found, transition, actor=actor, now=now_or(now), reason=why)


def mark_ready(
    session: Session,
    *,
    device: str,
    actor: str,
    force: bool = False,
    reason: str | None = None,
    now: datetime | None = None,
) -> DeviceChange:
    """Refurbishment done: the device becomes spare, once its powerwash has executed (or forced,
    with a reason, when it was wiped another way)."""
    check_actor(actor)
    found = lock_device(session, device)
    why = clean_text(reason, "reason")
    transition = lifecycle.mark_ready(facts(session, found), force=force, reason=why)
    return apply(session, found, transition, actor=actor, now=now_or(now), reason=why)


def mark_lost(
    session: Session,
    *,
    device: str,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
    all_desks: bool = False,
) -> DeviceChange:
    """The device is missing. A loan it was on ends (condition ``lost``) and the borrower's
    account is suspended; a replacement is a new checkout. A desk reports lost its own loans'
    devices (and devices on no loan; ``all_desks``: any desk's, for a desk admin)."""
    check_actor(actor)
    found = lock_device(session, device)
    check_device_loan(session, found, actor=actor, all_desks=all_desks)
    transition = lifecycle.mark_lost(facts(session, found, actor=None if all_desks else actor))
    why = clean_text(reason, "reason")
    now = now_or(now)
    ending = queries.open_loan(session, found.id)
    change = apply(
        session,
        found,
        transition,
        actor=actor,
        now=now,
        reason=why,
        condition=Condition.LOST,
    )
    if ending is not None:
        lift_lock(session, ending, why="lost", actor=actor, now=now, lost=True)
    return change


def mark_found(
    session: Session,
    *,
    device: str,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> DeviceChange:
    """A lost device turned up: it goes to refurbishment and is powerwashed."""
    check_actor(actor)
    found = lock_device(session, device)
    transition = lifecycle.mark_found(facts(session, found))
    why = clean_text(reason, "reason")
    return apply(session, found, transition, actor=actor, now=now_or(now), reason=why)


def retire(
    session: Session,
    *,
    device: str,
    actor: str,
    reason: str,
    now: datetime | None = None,
) -> DeviceChange:
    """The device leaves the programme for good; Google deprovisions it. Needs a reason. An
    open repair is closed as written off."""
    check_actor(actor)
    why = clean_text(reason, "reason")
    if why is None:
        raise InvalidInput("retiring a device needs a reason (e.g. 'screen broken beyond repair')")
    found = lock_device(session, device)
    known = facts(session, found)
    transition = lifecycle.retire(known)
    if known.repair is not None:
        transition = replace(transition, closes_repair=True)
    return apply(
        session,
        found,
        transition,
        actor=actor,
        now=now_or(now),
        reason=why,
        repair_note=why,
        repair_outcome=WRITTEN_OFF,
    )


WRITTEN_OFF = "written_off"


def open_repair(
    session: Session,
    *,
    device: str,
    actor: str,
    note: str | None = None,
    now: datetime | None = None,
) -> DeviceChange:
    """A technician takes the device out of circulation for a repair: it stays in
    refurbishment, on hold, until :func:`repaired` (a spare or ICT device is powerwashed on its
    way there)."""
    check_actor(actor)
    found = lock_device(session, device)
    transition = lifecycle.open_repair(facts(session, found))
    why = clean_text(note, "note")
    return apply(
        session, found, transition, actor=actor, now=now_or(now), reason=why, repair_note=why
    )


def repaired(
    session: Session,
    *,
    device: str,
    actor: str,
    note: str | None = None,
    now: datetime | None = None,
) -> DeviceChange:
    """Close the device's repair. It becomes spare like any device in refurbishment: at once
    when its powerwash has already executed, otherwise once it has."""
    check_actor(actor)
    now = now_or(now)
    found = lock_device(session, device)
    known = facts(session, found)
    transition = lifecycle.repaired(known)
    why = clean_text(note, "note")
    change = apply(session, found, transition, actor=actor, now=now, reason=why, repair_note=why)
    if known.powerwash is not None and known.powerwash.executed:
        ready = lifecycle.mark_ready(replace(known, repair=None))
        made = apply(session, found, ready, actor=actor, now=now)
        return replace(change, after=made.after)
    return change


def assign_ict_test(
    session: Session,
    *,
    device: str,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> DeviceChange:
    """A spare device joins the ICT service's pool for testing and replacements."""
    check_actor(actor)
    found = lock_device(session, device)
    transition = lifecycle.assign_ict_test(facts(session, found))
    why = clean_text(reason, "reason")
    return apply(session, found, transition, actor=actor, now=now_or(now), reason=why)


@dataclass(frozen=True, slots=True)
class RegionChange:
    serial: str
    before: str
    after: str


def set_region(
    session: Session,
    *,
    device: str,
    region: str,
    programme: Programme,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> RegionChange:
    """Move a device to another region's stock. A loan keeps the region it was made in."""
    check_actor(actor)
    now = now_or(now)
    target = programme.region(region)
    found = lock_device(session, device)
    if found.region == target:
        raise InvalidInput(f"device {found.serial} already belongs to region {target}")
    before = found.region
    found.region = target
    record(
        session,
        at=now,
        actor=actor,
        action="set_region",
        device_id=found.id,
        before={"region": before},
        after={"region": target},
        reason=clean_text(reason, "reason"),
    )
    wake(session, "device", found.serial, "set_region", at=now)
    return RegionChange(found.serial, before, target)
