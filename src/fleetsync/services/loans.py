"""Loans: checkout, return and extension. Each takes an open session (the caller commits) and the
actor, and writes its audit event and outbox entries in that same transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from fleetsync.domain import lifecycle
from fleetsync.domain.actors import desk_of
from fleetsync.domain.borrowers import check_same_person
from fleetsync.domain.contacts import Contact
from fleetsync.domain.errors import AccountBeingDeleted, InvalidInput, LoanNotExtended
from fleetsync.domain.lifecycle import AccountStatus, Condition
from fleetsync.ledger import queries
from fleetsync.ledger.models import Borrower, Loan
from fleetsync.services import courses, reservations
from fleetsync.services._effects import (
    DeviceChange,
    NewLoan,
    apply,
    check_actor,
    clean_text,
    loan_facts,
    local_date,
    lock,
    now_or,
)
from fleetsync.services.accounts import provide_account
from fleetsync.services.agreement import accepted_version
from fleetsync.services.contacts import store_contact
from fleetsync.services.desks import loan_for
from fleetsync.services.programme import Programme

__all__ = ["CheckoutResult", "Extension", "checkout", "extend_loan", "return_device"]

_DESK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")
_MAX_NAME = 120


@dataclass(frozen=True, slots=True)
class CheckoutResult:
    loan: str
    serial: str
    asset_tag: str | None
    borrower: str
    region: str
    connectivity: lifecycle.Connectivity
    needs_data: bool
    agreed_end: date
    account_email: str | None
    #: ``none``/``suspended``/``deleted`` → ``active``, or ``active`` when nothing changed.
    account_before: AccountStatus
    #: A new account: its first password waits, sealed for this loan
    #: (:func:`~fleetsync.services.accounts.collect_first_password`).
    new_account: bool
    #: The desk the loan belongs to (``None``: a technician's loan).
    desk: str | None
    #: The course period the loan is for (``None``: none).
    course: str | None = None
    #: The borrower's reservation for that course period this checkout fulfilled.
    reservation: str | None = None
    #: The loan agreement version the borrower accepted (``None``: none recorded).
    agreement_version: str | None = None


@dataclass(frozen=True, slots=True)
class Extension:
    loan: str
    serial: str
    borrower: str
    previous_end: date
    new_end: date


def _desk_id(value: str) -> str:
    value = value.strip()
    if not _DESK_ID.match(value):
        raise InvalidInput(
            f"borrower id {value!r} is not a loan desk id (letters, digits and . _ : / -, "
            "at most 64, e.g. B-1017)",
            params={"borrower": value[:64]},
            variant="borrower_id",
        )
    return value


def _name(value: str, what: str) -> str:
    value = " ".join(value.split())
    if len(value) > _MAX_NAME:
        raise InvalidInput(
            f"the {what} is longer than {_MAX_NAME} characters",
            params={"max": _MAX_NAME},
            variant="name_too_long",
        )
    if any(not c.isprintable() for c in value):
        raise InvalidInput(f"the {what} contains control characters", variant="name_control")
    return value


def checkout(
    session: Session,
    *,
    device: str,
    borrower: str,
    given_name: str,
    region: str,
    programme: Programme,
    until: date | None = None,
    actor: str,
    family_name: str = "",
    needs_data: bool = False,
    course_period: str | None = None,
    same_person: bool = False,
    contact: Contact | None = None,
    now: datetime | None = None,
    agreement_signed: bool = False,
    agreement_version: str | None = None,
) -> CheckoutResult:
    """Lend ``device`` (serial or asset tag) to a borrower until ``until``, the loan's last day
    (today for a one-day loan). The loan belongs to the actor's desk, if any.

    The loan is for ``course_period`` (a course period's name: an unknown one is refused), or
    else for the course period of the borrower's region that contains today, if any. Without
    ``until`` it runs to that course period's last day plus ``[loans] grace_days``.

    ``agreement_signed``: the borrower accepted the loan agreement (``agreement_version``, or
    the current one); the loan records the version and the moment. Refused when
    ``[agreement] required`` and it was not, or when the version accepted is not the current one.

    A borrower new to the ledger is created; their account is asked for (a new username and a
    first password sealed for this loan) or reactivated. A borrower id the ledger knows with
    other names is refused (:class:`~fleetsync.domain.errors.BorrowerNamesDiffer`) unless
    ``same_person`` confirms it is the same person; their names are then updated.

    ``contact`` (phone, email outside Workspace, language) is sealed for this loan.
    """
    check_actor(actor)
    now = now_or(now)
    desk_id = _desk_id(borrower)
    given = _name(given_name, "given name")
    family = _name(family_name, "family name")
    if not given and not family:
        raise InvalidInput(
            f"borrower {desk_id} needs a given name or a family name",
            params={"borrower": desk_id},
            variant="no_name",
        )
    borrower_region = programme.region(region)
    today = local_date(now)
    course = courses.course_for_checkout(
        session, clean_text(course_period, "course period"), region=borrower_region, day=today
    )
    if until is None:
        until = courses.default_end(course, programme, region=borrower_region, day=today)
    agreement = accepted_version(programme, version=agreement_version, signed=agreement_signed)

    target = lock(session, device, actor=actor)
    record_ = target.device
    person = queries.find_borrower(session, desk_id, lock=True)
    # Before anything else: a different person behind a known id learns nothing of the other.
    confirmed = (
        ()
        if person is None
        else check_same_person(
            desk_id,
            known=(person.given_name, person.family_name),
            given=(given, family),
            same_person=same_person,
        )
    )
    if person is not None and person.account_deleting_since is not None:
        # The reconciler committed this deletion before calling Google, under this same lock:
        # reactivating the account now would lose it (or re-create an address never to be
        # issued again).
        raise AccountBeingDeleted(
            f"borrower {desk_id}'s previous Workspace account is being deleted right now (the "
            "retention period after their last loan has passed); nothing was recorded: check "
            "the device out again in a few minutes (a loan desk sends it as a new event, with a "
            "new webhook-id), and the borrower gets a new account",
            params={"borrower": desk_id},
        )
    their_loan = None if person is None else queries.open_loan_of_borrower(session, person.id)
    transition = lifecycle.checkout(
        target.known,
        borrower=desk_id,
        borrower_region=borrower_region,
        needs_data=needs_data,
        borrower_loan=None
        if their_loan is None
        else loan_facts(their_loan, their_loan.device.serial, actor=actor),
        until=until,
        today=today,
        lendability=programme.lendability,
    )

    if person is None:
        person = Borrower(
            desk_id=desk_id,
            given_name=given,
            family_name=family,
            region=borrower_region,
            account_status=AccountStatus.NONE,
            created_at=now,
        )
        session.add(person)
        session.flush()
    else:
        # The same names (or the desk confirmed the same person): the desk is the authority on
        # how they are written; a returning borrower who was pseudonymised gives them again.
        person.given_name, person.family_name = given, family
        person.region = borrower_region
        person.pseudonymised_at = None
    loan = Loan(
        device_id=record_.id,
        borrower_id=person.id,
        checked_out_at=now,
        agreed_end=until,
        course_period=None if course is None else course.name,
        needs_data=needs_data,
        region=record_.region,
        connectivity=record_.connectivity,
        desk=desk_of(actor),
        agreement_version=agreement,
        agreement_signed_at=None if agreement is None else now,
    )
    session.add(loan)
    session.flush()
    account = provide_account(session, person, loan=loan, programme=programme, now=now)
    if contact is not None:
        store_contact(session, loan_id=loan.id, contact=contact, key=programme.key, now=now)
    started = NewLoan(
        loan,
        before={"account": account.before},
        after={"account": account.after}
        | ({"contact": "given"} if contact is not None else {})
        | ({"course": course.name} if course is not None else {})
        | ({"agreement": agreement} if agreement is not None else {})
        | ({"same_person_confirmed": list(confirmed)} if confirmed else {}),
    )
    apply(session, target, transition, actor=actor, now=now, new_loan=started)
    fulfilled = (
        None
        if course is None
        else reservations.fulfil_reservation(
            session, borrower=desk_id, course=course, loan=loan, actor=actor, now=now
        )
    )
    return CheckoutResult(
        loan=loan.ref,
        serial=record_.serial,
        asset_tag=record_.asset_tag,
        borrower=desk_id,
        region=loan.region,
        connectivity=loan.connectivity,
        needs_data=needs_data,
        agreed_end=until,
        account_email=account.email,
        account_before=account.before,
        new_account=account.new_account,
        desk=loan.desk,
        course=loan.course_period,
        reservation=fulfilled,
        agreement_version=agreement,
    )


def return_device(
    session: Session,
    *,
    device: str,
    actor: str,
    condition: Condition = Condition.OK,
    note: str | None = None,
    now: datetime | None = None,
    all_desks: bool = False,
) -> DeviceChange:
    """The borrower brought the device back: the loan ends, the device goes to refurbishment
    (a powerwash is asked for) and the borrower's account is suspended. A desk takes back its
    own loans' devices (``all_desks``: any desk's, for a desk admin)."""
    check_actor(actor)
    now = now_or(now)
    if condition is Condition.LOST:
        raise InvalidInput(
            "a lost device is not returned; mark it lost: `fleetsync device lost SERIAL`",
            variant="lost_not_returned",
        )
    target = lock(session, device, actor=actor, loan_action=True, all_desks=all_desks)
    transition = lifecycle.return_device(target.known, damaged=condition is Condition.DAMAGED)
    why = clean_text(note, "note")
    return apply(
        session,
        target,
        transition,
        actor=actor,
        now=now,
        condition=condition,
        note=why,
        repair_note=why,
    )


def extend_loan(
    session: Session,
    *,
    until: date,
    actor: str,
    device: str | None = None,
    loan: str | None = None,
    reason: str | None = None,
    now: datetime | None = None,
    all_desks: bool = False,
) -> Extension:
    """Agree a later end date for an open loan, named by its device or its id (``L-88``). The
    new end may be today (the loan's last day), and must be later than the current one. A desk
    extends its own loans (``all_desks``: any desk's, for a desk admin)."""
    check_actor(actor)
    now = now_or(now)
    if (device is None) == (loan is None):
        raise InvalidInput(
            "name the loan by its device (--serial) or by its id (--loan), not both",
            variant="device_or_loan",
        )
    if loan is not None:
        found = loan_for(session, loan, actor=actor, all_desks=all_desks)
        if found.returned_at is not None:
            raise LoanNotExtended(
                f"loan {found.ref} ended on {local_date(found.returned_at).isoformat()} "
                f"({found.return_condition}); only an open loan can be extended",
                params={"loan": found.ref},
                variant="ended",
            )
        device = found.device.serial
    assert device is not None
    target = lock(session, device, actor=actor, loan_action=True, all_desks=all_desks)
    transition = lifecycle.extend_loan(target.known, until=until, today=local_date(now))
    assert target.known.loan is not None  # the lifecycle allowed an extension: the loan is open
    previous = target.known.loan.agreed_end
    why = clean_text(reason, "reason")
    change = apply(session, target, transition, actor=actor, now=now, reason=why, until=until)
    assert change.loan is not None
    assert change.borrower is not None
    return Extension(
        loan=change.loan,
        serial=change.serial,
        borrower=change.borrower,
        previous_end=previous,
        new_end=until,
    )
