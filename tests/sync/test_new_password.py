"""A new first password for a borrower who lost theirs: sealed for the loan, collected once like
the checkout's, and set in Google by the next reconcile, once (users.update, through the real
client against the sandbox)."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from fleetsync import clock, services
from fleetsync.domain.errors import AlreadyCollected, LoanEnded, NotFound, Refused
from fleetsync.ledger.models import AuditEvent, PendingCredential, SyncJournalEntry
from fleetsync.ledger.overview import overview
from fleetsync.sync import drain_outbox
from tests.sync.conftest import ACTOR, Fleet

UPDATE = "directory.users.update"


def _google_has(fleet: Fleet, email: str, password: str) -> bool:
    """Whether the sandbox account's password is ``password`` (it keeps a salted hash)."""
    salt, digest = fleet.sandbox.tenant.users.get(email).password_hash.split("$")
    return hashlib.sha256((salt + password).encode()).hexdigest() == digest


def _collect(fleet: Fleet, loan: str, actor: str = ACTOR) -> services.FirstPassword:
    with fleet.ledger.transaction() as session:
        return services.collect_first_password(
            session, loan=loan, programme=fleet.programme, actor=actor
        )


def _issue(fleet: Fleet, loan: str, actor: str = ACTOR) -> services.NewFirstPassword:
    with fleet.ledger.transaction() as session:
        return services.issue_first_password(
            session, loan=loan, programme=fleet.programme, actor=actor
        )


def _waiting_for_google(fleet: Fleet) -> int:
    with fleet.ledger.read() as session:
        return overview(session, today=clock.today()).passwords_for_google


@pytest.fixture
def lent(adopted: Fleet) -> tuple[Fleet, services.CheckoutResult, services.FirstPassword]:
    """A loan whose account Google has, and whose first password was handed over."""
    result = adopted.checkout(adopted.serials()[0], "B-1")
    drain_outbox(adopted.ledger, adopted.settings, google=adopted.google)
    return adopted, result, _collect(adopted, result.loan)


def test_google_gets_the_new_password_once_and_the_slip_shows_it_once(
    lent: tuple[Fleet, services.CheckoutResult, services.FirstPassword],
) -> None:
    fleet, result, first = lent
    calls = fleet.sandbox.control.calls(UPDATE)

    issued = _issue(fleet, result.loan)
    assert issued.email == first.email
    assert _google_has(fleet, first.email, first.password)  # not before the reconcile
    assert _waiting_for_google(fleet) == 1  # what `fleetsync status` shows

    drain_outbox(fleet.ledger, fleet.settings, google=fleet.google)  # the targeted reconcile
    assert _waiting_for_google(fleet) == 0
    new = _collect(fleet, result.loan)
    assert new.password != first.password
    assert _google_has(fleet, first.email, new.password)
    assert fleet.sandbox.control.calls(UPDATE) == calls + 1
    user = fleet.sandbox.tenant.users.get(first.email)
    assert user.data["changePasswordAtNextLogin"] is True  # as for a new account

    assert fleet.sync().plan.actions == ()  # sent once: nothing left to do
    assert fleet.sandbox.control.calls(UPDATE) == calls + 1
    with pytest.raises(AlreadyCollected):
        _collect(fleet, result.loan)
    with fleet.ledger.read() as session:
        actions = session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
        actors = dict(session.execute(sa.select(AuditEvent.action, AuditEvent.actor)).all())
        journal = session.scalars(sa.select(SyncJournalEntry.detail)).all()
        sealed = session.scalars(sa.select(PendingCredential.sealed_password)).all()
    assert actions[-3:] == [
        "first_password_issued",
        "first_password_set",
        "first_password_collected",
    ]
    assert actors["first_password_issued"] == ACTOR
    assert actors["first_password_set"] == "sync"
    assert new.password not in repr(journal)  # the action names the sealed row, never the password
    assert all(new.password not in s for s in sealed)  # sealed at rest


def test_a_lost_answer_is_settled_by_sending_the_same_password_again(
    lent: tuple[Fleet, services.CheckoutResult, services.FirstPassword],
) -> None:
    fleet, result, first = lent
    _issue(fleet, result.loan)
    calls = fleet.sandbox.control.calls(UPDATE)
    # Google sets the password, then the connection drops: the answer is lost. The session's
    # retry sends the same password again, which leaves the account as one send does.
    fleet.sandbox.control.fail_next(UPDATE, status=0)
    drain_outbox(fleet.ledger, fleet.settings, google=fleet.google)
    assert fleet.sandbox.control.calls(UPDATE) == calls + 2  # the lost one, and its retry

    new = _collect(fleet, result.loan)
    assert _google_has(fleet, first.email, new.password)
    assert fleet.sync().plan.actions == ()


def test_a_refused_update_is_sent_again_by_the_next_run(
    lent: tuple[Fleet, services.CheckoutResult, services.FirstPassword],
) -> None:
    fleet, result, first = lent
    _issue(fleet, result.loan)
    fleet.sandbox.control.fail_next(UPDATE, status=400, reason="invalid")
    report = fleet.sync()
    assert report.applied is not None
    assert [f.kind for f in report.applied.failures] == ["set_account_password"]
    assert _google_has(fleet, first.email, first.password)

    again = fleet.sync()
    assert again.status == "converged"
    assert _google_has(fleet, first.email, _collect(fleet, result.loan).password)


def test_another_desk_an_ended_loan_and_an_account_not_in_google_are_refused(
    adopted: Fleet,
) -> None:
    first_serial, second_serial = adopted.serials()[:2]
    technicians = adopted.checkout(second_serial, "B-8")
    with adopted.ledger.transaction() as session:
        desk_loan = services.checkout(
            session,
            device=first_serial,
            borrower="B-7",
            given_name="Amira",
            family_name="Haddad",
            region="Antwerpen",
            until=technicians.agreed_end,
            programme=adopted.programme,
            actor="desk:antwerpen:ann",
        )
    # Not in Google yet: the checkout's password is the one it is created with.
    with pytest.raises(Refused, match="not in Google yet"):
        _issue(adopted, desk_loan.loan, actor="desk:antwerpen:ann")
    drain_outbox(adopted.ledger, adopted.settings, google=adopted.google)

    with pytest.raises(NotFound, match="desk gent has no loan"):
        _issue(adopted, desk_loan.loan, actor="desk:gent:bob")
    issued = _issue(adopted, desk_loan.loan, actor="desk:antwerpen:ann")
    assert issued.borrower == "B-7"

    adopted.return_device(second_serial)
    with pytest.raises(LoanEnded, match="has ended"):
        _issue(adopted, technicians.loan)
    with adopted.ledger.read() as session:
        audited = session.scalars(
            sa.select(AuditEvent.actor).where(AuditEvent.action == "first_password_issued")
        ).all()
    assert audited == ["desk:antwerpen:ann"]


def test_an_account_created_by_a_run_that_stopped_is_never_given_its_password_again(
    adopted: Fleet,
) -> None:
    """The run creating the account stopped before Google's answer was recorded: the next run
    finds the account (carrying the borrower's id) and records it. The password it was created
    with is the slip's; it is not set again over the one the borrower may have chosen since."""
    result = adopted.checkout(adopted.serials()[0], "B-1")
    first = _collect(adopted, result.loan)
    # What the stopped run had sent: the account, created with the sealed first password.
    adopted.sandbox.directory().users().insert(
        body={
            "primaryEmail": first.email,
            "name": {"givenName": "Amira", "familyName": "Haddad B-1"},
            "password": first.password,
            "changePasswordAtNextLogin": True,
            "orgUnitPath": "/Students/Antwerpen",
            "externalIds": [{"type": "custom", "customType": "fleetsync_borrower", "value": "B-1"}],
        }
    ).execute()
    # The borrower signs in and chooses their own password.
    adopted.sandbox.directory().users().update(
        userKey=first.email, body={"password": "chosen-by-the-borrower"}
    ).execute()
    calls = adopted.sandbox.control.calls(UPDATE)

    adopted.sync()
    adopted.sync()

    assert adopted.sandbox.control.calls(UPDATE) == calls
    assert _google_has(adopted, first.email, "chosen-by-the-borrower")
    assert adopted.sync().plan.actions == ()
