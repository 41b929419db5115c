"""Deleting a borrower's account is irreversible: the intent is committed first, after the ledger
was asked once more, under the borrower's lock, whether the borrower holds a device. A checkout
that meets a deletion in flight is refused (nothing recorded, a 409 saying what to do) and goes
through once the deletion is settled, with a new address; an account is never deleted while its
borrower holds a device, and a deleted address is never issued again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from fleetsync.domain.errors import AccountBeingDeleted
from fleetsync.domain.lifecycle import AccountStatus
from fleetsync.ledger.models import AuditEvent, Borrower, Loan
from fleetsync.sandbox import routes
from fleetsync.services import reconciled
from fleetsync.sync.journal import now
from tests.sync.conftest import Fleet

DELETE = "directory.users.delete"


def _due_for_deletion(fleet: Fleet, serial: str, borrower: str) -> str:
    """The borrower borrowed ``serial`` and returned it; their account's retention has passed.
    Returns the account's address."""
    lent = fleet.checkout(serial, borrower)
    fleet.sync()
    fleet.return_device(serial)
    fleet.sync()
    assert lent.account_email is not None
    assert fleet.account(lent.account_email) is not None
    with fleet.ledger.transaction() as session:
        person = session.scalars(sa.select(Borrower).where(Borrower.desk_id == borrower)).one()
        assert person.account_status_since is not None
        person.account_status_since -= timedelta(days=fleet.settings.accounts.delete_after_days)
    return lent.account_email


def _borrower(fleet: Fleet, desk_id: str) -> Borrower:
    with fleet.ledger.read() as session:
        return session.scalars(sa.select(Borrower).where(Borrower.desk_id == desk_id)).one()


def _open_loans(fleet: Fleet, person: Borrower) -> int:
    with fleet.ledger.read() as session:
        return len(
            session.scalars(
                sa.select(Loan).where(Loan.borrower_id == person.id, Loan.returned_at.is_(None))
            ).all()
        )


def test_a_checkout_that_meets_an_account_deletion_in_flight_is_refused_and_nothing_is_lost(
    adopted: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    returned, spare = adopted.serials()[:2]
    email = _due_for_deletion(adopted, returned, "B-7")
    # The desk lends the borrower another device at the moment Google receives the deletion
    # (the sandbox, standing in for Google, runs the checkout before it deletes).
    met: list[Any] = []
    delete = routes.HANDLERS[DELETE]

    def delete_while_the_desk_checks_out(call: Any) -> Any:
        try:
            met.append(adopted.checkout(spare, "B-7"))
        except AccountBeingDeleted as exc:
            met.append(exc)
        return delete(call)

    monkeypatch.setitem(routes.HANDLERS, DELETE, delete_while_the_desk_checks_out)

    report = adopted.sync()

    assert report.plan.summary() == {"delete_account": 1}
    [refusal] = met
    assert isinstance(refusal, AccountBeingDeleted), f"the checkout went through: {refusal}"
    assert "check the device out again in a few minutes" in str(refusal)
    assert adopted.account(email) is None
    person = _borrower(adopted, "B-7")
    assert (person.account_status, person.account_deleting_since) == ("deleted", None)
    assert person.google_user_id is None
    assert _open_loans(adopted, person) == 0
    with adopted.ledger.read() as session:
        actions = list(
            session.scalars(
                sa.select(AuditEvent.action)
                .where(AuditEvent.borrower_id == person.id)
                .order_by(AuditEvent.id)
            )
        )
    assert actions[-2:] == ["account_deletion_intent", "account_deleted"]

    # Settled: the same checkout goes through, with a new address; the old one stays gone.
    monkeypatch.setitem(routes.HANDLERS, DELETE, delete)
    again = adopted.checkout(spare, "B-7")
    assert again.new_account
    assert again.account_email not in (None, email)
    assert adopted.sync().status == "converged"
    assert adopted.account(again.account_email or "") is not None
    assert adopted.account(email) is None


def test_a_borrower_who_holds_a_device_again_keeps_the_account_the_plan_meant_to_delete(
    adopted: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    returned, spare = adopted.serials()[:2]
    email = _due_for_deletion(adopted, returned, "B-8")
    plan = adopted.sync(dry_run=True).plan
    assert plan.summary() == {"delete_account": 1}
    adopted.checkout(spare, "B-8")  # after the plan was made, before it is carried out

    report = adopted.sync()

    assert "delete_account" not in report.plan.summary()
    assert adopted.account(email) is not None
    assert _borrower(adopted, "B-8").account_status == AccountStatus.ACTIVE.value


@pytest.mark.parametrize("google_deleted_it", [False, True], ids=["not-sent", "answer-lost"])
def test_a_deletion_interrupted_after_its_intent_holds_checkouts_until_a_later_run_settles_it(
    adopted: Fleet, google_deleted_it: bool
) -> None:
    returned, spare = adopted.serials()[:2]
    email = _due_for_deletion(adopted, returned, "B-9")
    # The reconciler committed the intent, then died before (or after) Google deleted it.
    with adopted.ledger.transaction() as session:
        assert reconciled.begin_account_deletion(session, "B-9", email=email, now=now())
    if google_deleted_it:
        adopted.sandbox.directory().users().delete(userKey=email).execute()
    with pytest.raises(AccountBeingDeleted):
        adopted.checkout(spare, "B-9")

    report = adopted.sync()

    kind = "record_account_gone" if google_deleted_it else "delete_account"
    assert report.plan.summary() == {kind: 1}
    assert report.status == "converged"
    assert adopted.account(email) is None
    person = _borrower(adopted, "B-9")
    assert (person.account_status, person.account_deleting_since) == ("deleted", None)
    lent = adopted.checkout(spare, "B-9")
    assert lent.account_email not in (None, email)
