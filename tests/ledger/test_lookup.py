"""The desk's lookups (``services.lookup``), on both databases: exact device references, a desk
sees its own borrowers and loans only, the name search ignores case and accents, the lists filter
and page without losing or repeating a loan."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from fleetsync import services
from fleetsync.domain.errors import InvalidInput, NotFound
from fleetsync.domain.lifecycle import AccountStatus, Condition
from fleetsync.ledger import Ledger, migrate, open_ledger
from fleetsync.ledger.engine import create_ledger_engine
from fleetsync.ledger.models import Borrower, BorrowerDeskWord, BorrowerWord, Device, Loan
from fleetsync.services import lookup
from fleetsync.services.lookup import LoanState
from fleetsync.services.retention import apply_retention
from fleetsync.settings import Settings
from tests.ledger.conftest import NOW, add_devices

TODAY = NOW.date()
ANTWERPEN = "webhook:antwerpen"
BRUSSEL = "webhook:brussel"


@pytest.fixture
def fleet(ledger: Ledger) -> Ledger:
    add_devices(
        ledger,
        *(
            f"5CD{i:04d}AA,CB-{i:04d},Acer C733,Antwerpen,{'4g' if i % 2 else 'wifi'}"
            for i in range(12)
        ),
        "5CD0100BB,CB-0100,HP 11 G9,Limburg,wifi",
    )
    return ledger


def _lend(
    ledger: Ledger,
    programme: services.Programme,
    device: str,
    borrower: str,
    given: str,
    family: str,
    *,
    actor: str = ANTWERPEN,
    until: date = TODAY + timedelta(days=30),
    days_ago: int = 0,
    **more: object,
) -> str:
    with ledger.transaction() as session:
        result = services.checkout(
            session,
            device=device,
            borrower=borrower,
            given_name=given,
            family_name=family,
            region="Antwerpen",
            until=until,
            programme=programme,
            actor=actor,
            now=NOW - timedelta(days=days_ago),
            **more,  # type: ignore[arg-type]
        )
    return result.loan


def _return(ledger: Ledger, device: str, actor: str = ANTWERPEN) -> None:
    with ledger.transaction() as session:
        services.return_device(session, device=device, condition=Condition.OK, actor=actor, now=NOW)


def test_a_device_is_found_by_its_exact_serial_or_asset_tag_never_a_prefix(fleet: Ledger) -> None:
    with fleet.read() as session:
        by_serial = lookup.find_device(session, " 5cd0003aa ", desk="antwerpen", today=TODAY)
        by_tag = lookup.find_device(session, "cb-0003", desk="antwerpen", today=TODAY)
        assert by_serial == by_tag
        assert (by_serial.serial, by_serial.state, by_serial.lendable) == (
            "5CD0003AA",
            "spare",
            True,
        )
        for prefix in ("5CD0003", "CB-000", "5CD"):
            with pytest.raises(NotFound, match="exactly"):
                lookup.find_device(session, prefix, desk="antwerpen", today=TODAY)
        with pytest.raises(InvalidInput):
            lookup.find_device(session, "  ", desk=None, today=TODAY)


def test_a_device_shows_its_loan_to_the_desk_that_lent_it_only(
    fleet: Ledger, programme: services.Programme
) -> None:
    loan = _lend(fleet, programme, "CB-0001", "B-1", "Ayşe", "Öztürk")
    with fleet.read() as session:
        mine = lookup.find_device(session, "CB-0001", desk="antwerpen", today=TODAY)
        theirs = lookup.find_device(session, "CB-0001", desk="brussel", today=TODAY)
        everyone = lookup.find_device(session, "CB-0001", desk=None, today=TODAY)
    assert mine.loan is not None
    assert mine.loan.loan == loan
    assert mine.loan.borrower == "B-1"
    assert not mine.on_loan_elsewhere
    assert theirs.loan is None
    assert theirs.on_loan_elsewhere
    assert theirs.state == "on_loan"
    assert everyone.loan == mine.loan


def test_a_desk_finds_its_own_borrowers_and_only_its_own_loans_of_them(
    fleet: Ledger, programme: services.Programme
) -> None:
    first = _lend(fleet, programme, "CB-0001", "B-1", "Ayşe", "Öztürk")
    _return(fleet, "CB-0001")
    elsewhere = _lend(fleet, programme, "CB-0002", "B-1", "Ayşe", "Öztürk", actor=BRUSSEL)
    _lend(fleet, programme, "CB-0003", "B-2", "Jan", "Peeters", actor=BRUSSEL)
    with fleet.read() as session:
        mine = lookup.find_borrower(session, "B-1", desk="antwerpen", today=TODAY)
        assert [line.loan for line in mine.loans] == [first]
        assert mine.open_loan is None
        assert mine.on_loan_elsewhere
        assert (mine.given_name, mine.family_name) == ("Ayşe", "Öztürk")
        theirs = lookup.find_borrower(session, "B-1", desk="brussel", today=TODAY)
        assert theirs.open_loan is not None
        assert theirs.open_loan.loan == elsewhere
        assert not theirs.on_loan_elsewhere
        every = lookup.find_borrower(session, "B-1", desk=None, today=TODAY)
        assert [line.loan for line in every.loans] == [elsewhere, first]
        # Another desk's borrower is answered exactly like one who does not exist.
        with pytest.raises(NotFound) as hidden:
            lookup.find_borrower(session, "B-2", desk="antwerpen", today=TODAY)
        with pytest.raises(NotFound) as missing:
            lookup.find_borrower(session, "B-3", desk="antwerpen", today=TODAY)
    assert str(hidden.value) == str(missing.value).replace("B-3", "B-2")


def test_the_name_search_finds_word_beginnings_whatever_case_and_accents_within_the_desk(
    fleet: Ledger, programme: services.Programme
) -> None:
    _lend(fleet, programme, "CB-0001", "B-1", "Ayşe", "Öztürk")
    _lend(fleet, programme, "CB-0002", "B-2", "Łukasz", "Nowak_100%")
    _lend(fleet, programme, "CB-0003", "B-3", "Ayse", "Ozdemir", actor=BRUSSEL)
    with fleet.read() as session:

        def found(text: str, desk: str | None = "antwerpen") -> list[str]:
            return [m.id for m in lookup.search_borrowers(session, text, desk=desk)]

        assert found("ozturk") == ["B-1"]
        assert found("AYSE  ÖZ") == ["B-1"]
        assert found("lukasz") == ["B-2"]
        assert found("ayse") == ["B-1"]  # Brussel's Ayse is not Antwerpen's to see
        assert found("ayse", desk=None) == ["B-3", "B-1"]  # by family name
        assert found("oz ayse") == ["B-1"]  # any order
        assert found("nowak_1") == ["B-2"]
        assert found("%") == []
        assert found("_") == []
        assert found("zturk") == []  # a word's beginning, not its inside
        assert found("ayse peeters") == []  # every word must match
        assert found("\U0010ffff") == []  # the last character there is: no range beyond it
        match = lookup.search_borrowers(session, "öz", desk="antwerpen")[0]
        assert match.open_loan is not None
        assert match.given_name == "Ayşe"
        with pytest.raises(InvalidInput, match="part of a borrower's name"):
            lookup.search_borrowers(session, "   ", desk="antwerpen")


def test_the_name_search_follows_a_corrected_name(
    fleet: Ledger, programme: services.Programme
) -> None:
    _lend(fleet, programme, "CB-0001", "B-1", "Jan", "Peeters")
    _return(fleet, "CB-0001")
    _lend(fleet, programme, "CB-0002", "B-1", "Jan", "Peeters-Janssens", same_person=True)
    with fleet.read() as session:
        for desk in (None, "antwerpen"):
            found = lookup.search_borrowers(session, "jan janss", desk=desk)
            assert [m.family_name for m in found] == ["Peeters-Janssens"]


def test_loan_lists_filter_by_state_borrower_and_agreed_end_with_days_overdue(
    fleet: Ledger, programme: services.Programme
) -> None:
    ends = [TODAY + timedelta(days=d) for d in (-10, -1, 0, 3, 20)]
    loans = [
        _lend(
            fleet, programme, f"CB-{i:04d}", f"B-{i}", "Jan", f"Peeters {i}", until=end, days_ago=20
        )
        for i, end in enumerate(ends)
    ]
    theirs = _lend(fleet, programme, "CB-0007", "B-7", "Els", "Maes", actor=BRUSSEL)
    _return(fleet, "CB-0004")
    with fleet.read() as session:

        def listed(desk: str | None = "antwerpen", **filters: object) -> list[str]:
            page = lookup.list_loans(session, desk=desk, today=TODAY, **filters)  # type: ignore[arg-type]
            return [line.loan for line in page.items]

        assert listed() == loans[:4]
        assert listed(state="overdue") == loans[:2]
        assert listed(state=LoanState.ALL) == loans[::-1]
        assert listed(due_before=TODAY + timedelta(days=3)) == loans[:3]
        assert listed(state="all", borrower="B-4") == [loans[4]]
        assert listed(borrower="B-7") == []
        assert listed(borrower="B-404") == []
        assert listed(desk=None) == [*loans[:4], theirs]
        overdue = lookup.list_loans(session, desk="antwerpen", today=TODAY, state="overdue")
        assert [(line.days_overdue, line.overdue) for line in overdue.items] == [
            (10, True),
            (1, True),
        ]
        returned = lookup.list_loans(session, desk="antwerpen", today=TODAY, state="all").items[0]
        assert not returned.open
        assert returned.days_overdue == 0
        assert returned.condition == "ok"
        with pytest.raises(InvalidInput, match="state 'late'"):
            listed(state="late")


@pytest.mark.parametrize("state", list(LoanState))
def test_loan_pages_hold_every_loan_once(
    fleet: Ledger, programme: services.Programme, state: LoanState
) -> None:
    for i in range(11):  # several loans share an agreed end: the id breaks the tie
        _lend(
            fleet,
            programme,
            f"CB-{i:04d}",
            f"B-{i}",
            "Jan",
            "Peeters",
            until=TODAY + timedelta(days=i // 3),
        )
    later = TODAY + timedelta(days=10)  # all of them overdue by then
    with fleet.read() as session:
        whole = lookup.list_loans(session, desk="antwerpen", today=later, state=state, limit=500)
        seen: list[str] = []
        cursor = None
        while True:
            page = lookup.list_loans(
                session, desk="antwerpen", today=later, state=state, limit=4, cursor=cursor
            )
            assert len(page.items) <= 4
            seen += [line.loan for line in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
    assert seen == [line.loan for line in whole.items]
    assert len(seen) == 11


def test_spare_devices_by_region_and_connectivity_page_by_serial(
    fleet: Ledger, programme: services.Programme
) -> None:
    _lend(fleet, programme, "CB-0001", "B-1", "Jan", "Peeters")
    with fleet.read() as session:
        seen: list[str] = []
        cursor = None
        while True:
            page = lookup.spare_devices(
                session, region="Antwerpen", connectivity="4G", limit=2, cursor=cursor
            )
            seen += [d.serial for d in page.items]
            if (cursor := page.next_cursor) is None:
                break
        assert seen == ["5CD0003AA", "5CD0005AA", "5CD0007AA", "5CD0009AA", "5CD0011AA"]
        limburg = lookup.spare_devices(session, region="Limburg").items
        assert [d.serial for d in limburg] == ["5CD0100BB"]
        with pytest.raises(InvalidInput, match="connectivity"):
            lookup.spare_devices(session, connectivity="5g")


@pytest.mark.parametrize(
    "cursor", ["x", "", "WyJvIl0", "WyJhIiwtMV0", "WyJzIiwxXQ", "bnVsbA", "WyJvIiwiMjAyNiIsMV0"]
)
def test_a_cursor_that_no_list_gave_is_refused_with_a_message(fleet: Ledger, cursor: str) -> None:
    with fleet.read() as session:
        with pytest.raises(InvalidInput, match="start again"):
            lookup.list_loans(session, desk=None, today=TODAY, cursor=cursor)
        with pytest.raises(InvalidInput, match="start again"):
            lookup.list_loans(session, desk=None, today=TODAY, state="all", cursor=cursor)
        with pytest.raises(InvalidInput, match="start again"):
            lookup.spare_devices(session, cursor=cursor)
        with pytest.raises(InvalidInput, match="1 to 500"):
            lookup.list_loans(session, desk=None, today=TODAY, limit=0)


@pytest.mark.parametrize("typed", ["CB-\x000001", "B-\x01", "\ud800"])
def test_control_characters_are_refused_before_the_database_sees_them(
    fleet: Ledger, typed: str
) -> None:
    with fleet.read() as session:
        with pytest.raises(InvalidInput, match="control character"):
            lookup.find_device(session, typed, desk=None, today=TODAY)
        with pytest.raises(InvalidInput, match="control character"):
            lookup.find_borrower(session, typed, desk=None, today=TODAY)
        with pytest.raises(InvalidInput, match="control character"):
            lookup.search_borrowers(session, typed, desk=None)
        with pytest.raises(InvalidInput, match="control character"):
            lookup.list_loans(session, desk=None, today=TODAY, borrower=typed)
        # What a scanner sends around the label is not part of it.
        assert lookup.find_device(session, "CB-0001\r\n", desk=None, today=TODAY).serial


def test_a_pseudonymised_borrower_is_found_by_no_name(
    fleet: Ledger, programme: services.Programme
) -> None:
    _lend(fleet, programme, "CB-0001", "B-1", "Ayşe", "Öztürk")
    _return(fleet, "CB-0001")
    year = timedelta(days=365)
    with fleet.transaction() as session:
        # The reconciler deleted the account (retention waits for that).
        person = session.scalars(sa.select(Borrower)).one()
        person.account_status = AccountStatus.DELETED
    with fleet.transaction() as session:
        report = apply_retention(session, pseudonymise_after=year, now=NOW + 2 * year)
    assert report.pseudonymised == ("B-1",)
    with fleet.read() as session:
        assert lookup.search_borrowers(session, "ozturk", desk=None) == []
        assert session.scalar(sa.select(Borrower.name_key)) is None
        assert session.scalar(sa.select(sa.func.count()).select_from(BorrowerWord)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(BorrowerDeskWord)) == 0
        erased = lookup.find_borrower(session, "B-1", desk="antwerpen", today=TODAY)
    assert erased.pseudonymised
    assert (erased.given_name, erased.family_name) == (None, None)


def test_the_migration_folds_the_names_of_the_borrowers_already_there(settings: Settings) -> None:
    people = [
        {"id": 1, "desk_id": "B-1", "given_name": "Ayşe", "family_name": "ÖZTÜRK",
         "region": "Antwerpen", "account_status": "active", "created_at": NOW},
        {"id": 2, "desk_id": "B-2", "given_name": None, "family_name": None,
         "region": "Antwerpen", "account_status": "deleted", "created_at": NOW},
    ]  # fmt: skip
    engine = create_ledger_engine(settings.effective_database_url)
    try:
        with engine.begin() as connection:
            config = Config()
            config.set_main_option(
                "script_location", str(Path(migrate.__file__).parent / "migrations")
            )
            config.attributes["connection"] = connection
            command.upgrade(config, "0008")
            connection.execute(sa.insert(Borrower), people)
    finally:
        engine.dispose()
    with open_ledger(settings) as ledger, ledger.read() as session:
        keys = dict(session.execute(sa.select(Borrower.desk_id, Borrower.name_key)).all())
        words = set(session.execute(sa.select(BorrowerWord.word, BorrowerWord.borrower_id)))
        found = lookup.search_borrowers(session, "öztürk", desk=None)
    assert keys == {"B-1": "ayse ozturk", "B-2": None}
    assert words == {("ayse", 1), ("ozturk", 1)}
    assert [m.id for m in found] == ["B-1"]


def test_a_borrower_becomes_findable_by_a_desk_when_that_desk_lends_to_them(
    fleet: Ledger, programme: services.Programme
) -> None:
    _lend(fleet, programme, "CB-0001", "B-1", "Ayşe", "Öztürk")
    _return(fleet, "CB-0001")
    with fleet.read() as session:
        assert lookup.search_borrowers(session, "ays oz", desk="brussel") == []
    brussel_loan = _lend(fleet, programme, "CB-0002", "B-1", "Ayşe", "Öztürk", actor=BRUSSEL)
    with fleet.read() as session:

        def found(text: str, desk: str) -> list[tuple[str, str | None]]:
            return [(m.id, m.open_loan) for m in lookup.search_borrowers(session, text, desk=desk)]

        assert found("ays oz", "brussel") == [("B-1", brussel_loan)]
        assert found("öz", "brussel") == [("B-1", brussel_loan)]
        # Antwerpen still finds them, without Brussel's open loan; Limburg never lent to them.
        assert found("ays oz", "antwerpen") == [("B-1", None)]
        assert found("ays", "limburg") == []


def test_the_migration_indexes_the_words_of_each_desk_that_lent(settings: Settings) -> None:
    engine = create_ledger_engine(settings.effective_database_url)
    try:
        with engine.begin() as connection:
            config = Config()
            config.set_main_option(
                "script_location", str(Path(migrate.__file__).parent / "migrations")
            )
            config.attributes["connection"] = connection
            command.upgrade(config, "0012")
            connection.execute(
                sa.insert(Borrower),
                [
                    {"id": i, "desk_id": f"B-{i}", "given_name": "Ayşe", "family_name": family,
                     "region": "Antwerpen", "account_status": "active", "created_at": NOW}
                    for i, family in ((1, "Öztürk"), (2, "Peeters"))
                ],
            )  # fmt: skip
            connection.execute(
                sa.insert(BorrowerWord),
                [
                    {"word": w, "borrower_id": i}
                    for i, family in ((1, "ozturk"), (2, "peeters"))
                    for w in ("ayse", family)
                ],
            )
            connection.execute(
                sa.insert(Device),
                [
                    {"id": i, "serial": f"5CD{i}", "model": "Acer C733", "region": "Antwerpen",
                     "connectivity": "wifi", "state": "spare", "state_since": NOW,
                     "created_at": NOW}
                    for i in (1, 2, 3)
                ],
            )  # fmt: skip
            connection.execute(
                sa.insert(Loan),
                [
                    {"id": i, "device_id": i, "borrower_id": borrower, "checked_out_at": NOW,
                     "agreed_end": TODAY, "needs_data": False, "region": "Antwerpen",
                     "connectivity": "wifi", "desk": desk, "returned_at": NOW,
                     "return_condition": "ok"}
                    for i, borrower, desk in ((1, 1, "antwerpen"), (2, 1, "brussel"),
                                              (3, 2, None))
                ],
            )  # fmt: skip
    finally:
        engine.dispose()
    with open_ledger(settings) as ledger, ledger.read() as session:
        rows = set(session.execute(sa.select(BorrowerDeskWord.desk, BorrowerDeskWord.word)))
        found = [m.id for m in lookup.search_borrowers(session, "ays", desk="brussel")]
    assert rows == {(d, w) for d in ("antwerpen", "brussel") for w in ("ayse", "ozturk")}
    assert found == ["B-1"]


def test_the_name_search_gives_each_borrower_once_and_at_most_the_limit(
    fleet: Ledger, programme: services.Programme
) -> None:
    # "Peeters-Peeters" begins with "pee" in three of its words.
    for i in range(5):
        _lend(fleet, programme, f"CB-{i:04d}", f"B-{i}", "Piet", "Peeters-Peeters")
    with fleet.read() as session:
        every = lookup.search_borrowers(session, "pee", desk="antwerpen")
        two = lookup.search_borrowers(session, "pee", desk="antwerpen", limit=2)
    assert [m.id for m in every] == [f"B-{i}" for i in range(5)]
    assert len({m.id for m in two}) == 2
