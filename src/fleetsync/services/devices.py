"""What technicians do to devices: re-provision, make ready, mark lost or found, retire, repair,
move to the ICT test pool or another region. Each takes an open session (the caller commits)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from fleetsync.domain import lifecycle
from fleetsync.domain.errors import InvalidInput
from fleetsync.domain.lifecycle import Condition, Transition
from fleetsync.services._effects import (
    DeviceChange,
    apply,
    check_actor,
    clean_text,
    lock,
    lock_device,
    now_or,
    write_history,
)
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


def _act(
    session: Session,
    decide: Callable[[lifecycle.Device], Transition],
    *,
    device: str,
    actor: str,
    now: datetime | None,
    reason: str | None = None,
    note: str | None = None,
    loan_action: bool = False,
    all_desks: bool = False,
    condition: Condition | None = None,
    repair_outcome: str = "repaired",
    then: Callable[[lifecycle.Device], Transition | None] | None = None,
) -> DeviceChange:
    """A technician's action: check the actor, lock the device, let the lifecycle ``decide``,
    and apply what it allowed; the ``reason`` (or the repair's ``note``) goes in the audit event
    and on the repair it opens or closes. ``then`` may follow with a second transition
    the same facts allow (a repaired device whose powerwash executed becomes spare)."""
    check_actor(actor)
    now = now_or(now)
    # As the actor may see it: a desk's refusal names nothing of another desk's loan.
    target = lock(session, device, actor=actor, loan_action=loan_action, all_desks=all_desks)
    transition = decide(target.known)
    why = clean_text(reason, "reason") if note is None else clean_text(note, "note")
    change = apply(
        session,
        target,
        transition,
        actor=actor,
        now=now,
        reason=why,
        condition=condition,
        repair_note=why,
        repair_outcome=repair_outcome,
    )
    follow = None if then is None else then(target.known)
    if follow is None:
        return change
    return replace(change, after=apply(session, target, follow, actor=actor, now=now).after)


def reprovision(
    session: Session,
    *,
    device: str,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> DeviceChange:
    """Send the device (back) to refurbishment: it is powerwashed and checked again."""
    return _act(session, lifecycle.reprovision, device=device, actor=actor, reason=reason, now=now)


def mark_ready(
    session: Session,
    *,
    device: str,
    actor: str,
    force: bool = False,
    reason: str | None = None,
    now: datetime | None = None,
    all_desks: bool = False,
) -> DeviceChange:
    """Refurbishment done: the device becomes spare, once its powerwash has executed (or forced,
    with a reason, when it was wiped another way). ``all_desks``: a desk admin's refusal names
    another desk's loan, as a technician's does."""
    return _act(
        session,
        lambda known: lifecycle.mark_ready(known, force=force, reason=clean_text(reason, "reason")),
        device=device,
        actor=actor,
        reason=reason,
        now=now,
        all_desks=all_desks,
    )


def mark_lost(
    session: Session,
    *,
    device: str,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
    all_desks: bool = False,
) -> DeviceChange:
    """The device is missing. A loan it was on ends (condition ``lost``), its overdue lock
    ends and the borrower's account is suspended; a replacement is a new checkout. A desk
    reports lost its own loans' devices (and devices on no loan; ``all_desks``: any desk's, for
    a desk admin)."""
    return _act(
        session,
        lifecycle.mark_lost,
        device=device,
        actor=actor,
        reason=reason,
        now=now,
        loan_action=True,
        all_desks=all_desks,
        condition=Condition.LOST,
    )


def mark_found(
    session: Session,
    *,
    device: str,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> DeviceChange:
    """A lost device turned up: it goes to refurbishment and is powerwashed."""
    return _act(session, lifecycle.mark_found, device=device, actor=actor, reason=reason, now=now)


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
    if clean_text(reason, "reason") is None:
        raise InvalidInput(
            "retiring a device needs a reason (e.g. 'screen broken beyond repair')",
            variant="retire_reason",
        )

    def decide(known: lifecycle.Device) -> Transition:
        transition = lifecycle.retire(known)
        return transition if known.repair is None else replace(transition, closes_repair=True)

    return _act(
        session,
        decide,
        device=device,
        actor=actor,
        reason=reason,
        now=now,
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
    return _act(session, lifecycle.open_repair, device=device, actor=actor, note=note, now=now)


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
    return _act(
        session, lifecycle.repaired, device=device, actor=actor, note=note, now=now, then=_ready
    )


def _ready(known: lifecycle.Device) -> Transition | None:
    """A repaired device whose powerwash has executed is ready at once."""
    if known.powerwash is not None and known.powerwash.executed:
        return lifecycle.mark_ready(replace(known, repair=None))
    return None


def assign_ict_test(
    session: Session,
    *,
    device: str,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> DeviceChange:
    """A spare device joins the ICT service's pool for testing and replacements."""
    return _act(
        session, lifecycle.assign_ict_test, device=device, actor=actor, reason=reason, now=now
    )


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
        raise InvalidInput(
            f"device {found.serial} already belongs to region {target}",
            params={"serial": found.serial, "region": target},
            variant="same_region",
        )
    before = found.region
    found.region = target
    why = clean_text(reason, "reason")
    write_history(
        session,
        found,
        "set_region",
        actor=actor,
        now=now,
        before={"region": before},
        after={"region": target},
        reason=why,
    )
    return RegionChange(found.serial, before, target)
