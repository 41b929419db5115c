"""Desks, through the service functions on both databases: a loan belongs to the desk that lent
it, only that desk changes it or collects its first password, and a borrower id known with other
names is another person until a desk confirms otherwise. (The webhook's side: tests/api.)"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.orm import Session

from fleetsync import services
from fleetsync.domain.errors import BorrowerNamesDiffer, NotFound
from fleetsync.ledger import Ledger, create_ledger_engine, migrate, open_ledger
from fleetsync.ledger.models import AuditEvent, Borrower, Device, Loan, PendingCredential
from fleetsync.settings import Settings
from tests.ledger.conftest import NOW, UNTIL, audit_count, later

ANTWERPEN = "desk:antwerpen:ann"
BRUSSEL = "desk:brussel:bram"


def _lend(
    ledger: Ledger,
    programme: services.Programme,
    actor: str,
    device: str = "5CD1234XYZ",
    **names: Any,
) -> services.CheckoutResult:
    with ledger.transaction() as session:
        return services.checkout(
            session,
            device=device,
            borrower="B-9",
            given_name=names.pop("given_name", "John"),
            family_name=names.pop("family_name", "Smith"),
            region="Antwerpen",
            until=UNTIL,
            programme=programme,
            actor=actor,
            now=NOW,
            **names,
        )


@pytest.mark.parametrize(
    ("actor", "desk"),
    [("webhook:antwerpen", "antwerpen"), (ANTWERPEN, "antwerpen"), ("cli:ann", None)],
)
def test_a_loan_belongs_to_the_desk_of_the_actor_that_lent_it(
    stocked: Ledger, programme: services.Programme, actor: str, desk: str | None
) -> None:
    lent = _lend(stocked, programme, actor)
    assert lent.desk == desk
    with stocked.read() as session:
        assert session.scalars(sa.select(Loan.desk)).one() == desk


ACTIONS: dict[str, Callable[[Session, str, services.Programme], object]] = {
    "extend by loan": lambda s, actor, _p: services.extend_loan(
        s, loan="L-1", until=UNTIL + timedelta(days=9), actor=actor, now=later(1)
    ),
    "extend by device": lambda s, actor, _p: services.extend_loan(
        s, device="CB-0001", until=UNTIL + timedelta(days=9), actor=actor, now=later(1)
    ),
    "return": lambda s, actor, _p: services.return_device(
        s, device="5CD1234XYZ", actor=actor, now=later(1)
    ),
    "lost": lambda s, actor, _p: services.mark_lost(
        s, device="5CD1234XYZ", actor=actor, now=later(1)
    ),
    "collect the first password": lambda s, actor, p: services.collect_first_password(
        s, loan="L-1", programme=p, actor=actor, now=later(1)
    ),
}


@pytest.mark.parametrize("action", list(ACTIONS))
def test_only_the_loans_desk_changes_it_or_collects_its_first_password(
    stocked: Ledger, programme: services.Programme, action: str
) -> None:
    _lend(stocked, programme, ANTWERPEN)
    before = audit_count(stocked)
    with pytest.raises(NotFound) as hidden, stocked.transaction() as session:
        ACTIONS[action](session, BRUSSEL, programme)
    message = str(hidden.value)
    assert message.startswith("desk brussel has no loan")
    # Nothing of the other desk's loan: its borrower, their names, its dates (nor its id, when
    # the desk did not give it).
    for secret in ("B-9", "John", "Smith", "2026-", *(["L-1"] if "device" in action else [])):
        assert secret not in message
    assert audit_count(stocked) == before
    # The same person at the desk that lent it (the web app's actor), or a technician, may.
    for allowed in (ANTWERPEN, "cli:tech"):
        with stocked.transaction() as session:
            ACTIONS[action](session, allowed, programme)
            session.rollback()


def test_another_desks_loan_is_hidden_exactly_like_one_that_does_not_exist(
    stocked: Ledger, programme: services.Programme
) -> None:
    _lend(stocked, programme, ANTWERPEN)
    answers = []
    for loan in ("L-1", "L-2"):
        with pytest.raises(NotFound) as hidden, stocked.read() as session:
            services.loan_for(session, loan, actor=BRUSSEL)
        answers.append(str(hidden.value).replace(loan, "L-?"))
    assert answers[0] == answers[1]


def test_the_same_person_confirmed_takes_the_new_names_and_the_audit_trail_says_so(
    stocked: Ledger, programme: services.Programme
) -> None:
    _lend(stocked, programme, ANTWERPEN)
    with stocked.transaction() as session:
        services.return_device(session, device="5CD1234XYZ", actor=ANTWERPEN, now=later(1))
    with pytest.raises(BorrowerNamesDiffer):
        _lend(stocked, programme, BRUSSEL, "5CD5678ABC", family_name="Smith-Jones")
    again = _lend(
        stocked, programme, BRUSSEL, "5CD5678ABC", family_name="Smith-Jones", same_person=True
    )
    assert (again.account_before, again.new_account) == ("suspended", False)
    with stocked.read() as session:
        person = session.scalars(sa.select(Borrower)).one()
        assert (person.given_name, person.family_name) == ("John", "Smith-Jones")
        event = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "checkout").order_by(AuditEvent.id)
        ).all()[-1]
    assert event.actor == BRUSSEL
    assert event.after is not None
    assert event.after["same_person_confirmed"] == ["family name"]
    assert "Smith" not in str(event.after)


def test_a_pseudonymised_borrower_gives_their_names_again(
    stocked: Ledger, programme: services.Programme
) -> None:
    _lend(stocked, programme, ANTWERPEN)
    with stocked.transaction() as session:
        services.return_device(session, device="5CD1234XYZ", actor=ANTWERPEN, now=later(1))
        # What the retention job leaves of a person: the id, no names.
        session.execute(sa.update(Borrower).values(given_name=None, family_name=None))
    again = _lend(stocked, programme, BRUSSEL, "5CD5678ABC", given_name="Johnny")
    assert again.borrower == "B-9"


def test_an_extension_may_end_today(stocked: Ledger, programme: services.Programme) -> None:
    # An overdue loan (its last day was yesterday) is extended to today, its new last day.
    with stocked.transaction() as session:
        services.checkout(
            session,
            device="5CD1234XYZ",
            borrower="B-9",
            given_name="John",
            region="Antwerpen",
            until=later(-1).astimezone().date(),
            programme=programme,
            actor=ANTWERPEN,
            now=later(-3),
        )
    with stocked.transaction() as session:
        extension = services.extend_loan(
            session, loan="L-1", until=NOW.astimezone().date(), actor=ANTWERPEN, now=NOW
        )
    assert extension.new_end == NOW.astimezone().date()


# ------------------------------------------------------------------------------- migration
def _alembic(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrate.__file__).parent / "migrations"))
    config.attributes["connection"] = connection
    return config


def test_the_migration_gives_old_loans_their_desk_and_old_passwords_their_loan(
    settings: Settings,
) -> None:
    at = [NOW + timedelta(days=d) for d in range(4)]

    def device(i: int) -> dict[str, Any]:
        return {"id": i, "serial": f"S{i}", "model": "Acer", "region": "Antwerpen",
                "connectivity": "wifi", "state": "on_loan", "state_since": at[0],
                "created_at": at[0]}  # fmt: skip

    def person(i: int) -> dict[str, Any]:
        return {"id": i, "desk_id": f"B-{i}", "region": "Antwerpen", "account_status": "active",
                "account_status_since": at[0], "created_at": at[0]}  # fmt: skip

    def loan(i: int, device: int, borrower: int, day: int, ended: bool = False) -> dict[str, Any]:
        return {"id": i, "device_id": device, "borrower_id": borrower, "checked_out_at": at[day],
                "agreed_end": UNTIL, "needs_data": False, "region": "Antwerpen",
                "connectivity": "wifi", "returned_at": at[day + 1] if ended else None,
                "return_condition": "ok" if ended else None}  # fmt: skip

    def event(day: int, actor: str, action: str, loan: int) -> dict[str, Any]:
        return {"at": at[day], "actor": actor, "action": action, "loan_id": loan}

    def password(i: int, borrower: int, day: int) -> dict[str, Any]:
        return {"id": i, "borrower_id": borrower, "account_email": f"b{borrower}@example.org",
                "sealed_password": "x", "created_at": at[day], "expires_at": at[3]}  # fmt: skip

    # The ledger as version 0004 left it, in the columns it had.
    rows: list[tuple[Any, list[dict[str, Any]]]] = [
        (Device, [device(1), device(2)]),
        (Borrower, [person(1), person(2)]),
        (Loan, [loan(1, 1, 1, 0, ended=True), loan(2, 2, 2, 1), loan(3, 1, 1, 2)]),
        (AuditEvent, [
            event(0, "webhook:antwerpen", "checkout", 1),
            event(1, "webhook:brussel", "return", 1),
            event(1, "cli:ann", "checkout", 2),
            event(2, "webhook:brussel", "checkout", 3),
        ]),
        # Each checkout's own password, and one sealed later in loan 3 (its account created
        # again by the reconciler).
        (PendingCredential, [password(1, 1, 0), password(2, 2, 1), password(3, 1, 2),
                             password(4, 1, 3)]),
    ]  # fmt: skip
    engine = create_ledger_engine(settings.effective_database_url)
    try:
        with engine.begin() as connection:
            command.upgrade(_alembic(connection), "0004")
            for model, values in rows:
                connection.execute(sa.insert(model.__table__), values)
    finally:
        engine.dispose()
    with open_ledger(settings) as ledger, ledger.read() as session:
        desks = dict(session.execute(sa.select(Loan.id, Loan.desk)).all())
        owners = dict(
            session.execute(sa.select(PendingCredential.id, PendingCredential.loan_id)).all()
        )
    assert desks == {1: "antwerpen", 2: None, 3: "brussel"}
    assert owners == {1: 1, 2: 2, 3: 3, 4: 3}
