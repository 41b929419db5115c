"""Course periods: added per region without overlap, their end date moved (audited), and the
course a checkout belongs to, with the agreed end it gets from it. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from fleetsync import services
from fleetsync.domain.errors import CoursesOverlap, InvalidInput, UnknownCourse
from fleetsync.ledger import Ledger
from fleetsync.ledger.models import AuditEvent, Device, Loan
from fleetsync.services import courses
from fleetsync.services.programme import lendability_of
from fleetsync.settings import AccountSettings, LoanSettings, OrgUnitSettings
from tests.ledger.conftest import ACTOR, NOW, add_devices

TODAY = services.local_date(NOW)
KEY = Fernet.generate_key()


def _add(
    ledger: Ledger,
    programme: services.Programme,
    name: str,
    first: date,
    last: date,
    *regions: str,
) -> courses.Course:
    with ledger.transaction() as session:
        return courses.add_course(
            session,
            name=name,
            first=first,
            last=last,
            regions=regions,
            programme=programme,
            actor=ACTOR,
            now=NOW,
        )


def test_a_course_without_regions_runs_in_all_and_regions_do_not_overlap(
    ledger: Ledger, programme: services.Programme
) -> None:
    autumn = _add(ledger, programme, "Sept-Oct", date(2026, 9, 1), date(2026, 10, 31))
    assert autumn.regions == tuple(sorted(programme.regions))
    assert autumn.days == 61
    # Another region's dates may differ, but within a region no two periods share a day.
    with pytest.raises(CoursesOverlap) as refused:
        _add(ledger, programme, "Oct-Nov", date(2026, 10, 31), date(2026, 11, 30), "limburg")
    assert "overlaps Sept-Oct (2026-09-01 to 2026-10-31) in Limburg" in str(refused.value)
    _add(ledger, programme, "Nov-Dec", date(2026, 11, 1), date(2026, 12, 20), "Limburg")
    _add(ledger, programme, "Nov", date(2026, 11, 3), date(2026, 11, 30), "Antwerpen", "Brussel")
    with pytest.raises(InvalidInput, match="there is a course period 'Sept-Oct' already"):
        _add(ledger, programme, "sept-oct", date(2027, 9, 1), date(2027, 10, 31))
    with pytest.raises(InvalidInput, match="ends \\(2027-01-01\\) before it starts"):
        _add(ledger, programme, "Backwards", date(2027, 2, 1), date(2027, 1, 1))
    with pytest.raises(InvalidInput, match="unknown region 'Atlantis'"):
        _add(ledger, programme, "Far", date(2027, 2, 1), date(2027, 3, 1), "Atlantis")
    with ledger.read() as session:
        names = [c.name for c in courses.list_courses(session)]
        limburg = [c.name for c in courses.list_courses(session, region="Limburg")]
    assert names == ["Sept-Oct", "Nov-Dec", "Nov"]
    assert limburg == ["Sept-Oct", "Nov-Dec"]


def test_moving_the_end_date_is_audited_and_still_refuses_an_overlap(
    ledger: Ledger, programme: services.Programme
) -> None:
    _add(ledger, programme, "Sept-Oct", date(2026, 9, 1), date(2026, 10, 31), "Antwerpen")
    _add(ledger, programme, "Nov-Dec", date(2026, 11, 15), date(2026, 12, 20), "Antwerpen")
    with ledger.transaction() as session:
        change = courses.change_end_date(
            session, name="sept-OCT", last=date(2026, 11, 10), reason="exams", actor=ACTOR, now=NOW
        )
    assert (change.previous_last, change.last) == (date(2026, 10, 31), date(2026, 11, 10))
    with pytest.raises(CoursesOverlap), ledger.transaction() as session:
        courses.change_end_date(session, name="Sept-Oct", last=date(2026, 11, 15), actor=ACTOR)
    with pytest.raises(InvalidInput, match="starts on 2026-09-01"), ledger.transaction() as s:
        courses.change_end_date(s, name="Sept-Oct", last=date(2026, 8, 1), actor=ACTOR)
    with ledger.read() as session:
        event = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "course_end_date")
        ).one()
        assert event.before == {"course": "Sept-Oct", "to": "2026-10-31"}
        assert event.after == {"course": "Sept-Oct", "to": "2026-11-10"}
        assert event.reason == "exams"
        assert courses.find_course(session, "Sept-Oct").last_day == date(2026, 11, 10)


def _lend(
    ledger: Ledger,
    programme: services.Programme,
    device: str,
    borrower: str,
    *,
    region: str = "Antwerpen",
    course: str | None = None,
    until: date | None = None,
) -> services.CheckoutResult:
    with ledger.transaction() as session:
        return services.checkout(
            session,
            device=device,
            borrower=borrower,
            given_name="Test",
            region=region,
            until=until,
            course_period=course,
            programme=programme,
            actor=ACTOR,
            now=NOW,
        )


def test_a_checkout_belongs_to_the_course_it_names_or_the_one_containing_its_day(
    ledger: Ledger,
) -> None:
    programme = services.Programme(
        regions=("Antwerpen", "Limburg"),
        accounts=AccountSettings(),
        key=lambda: KEY,
        loans=LoanSettings(grace_days=5),
        # Devices no sync has seen may be lent: this test is about course periods.
        lendability=lendability_of(OrgUnitSettings(), lend_unconfirmed=True),
    )
    add_devices(
        ledger,
        "5CD1,CB-1,Acer,Antwerpen,wifi",
        "5CD2,CB-2,Acer,Antwerpen,wifi",
        "5CD3,CB-3,Acer,Limburg,wifi",
        "5CD4,CB-4,Acer,Limburg,wifi",
    )
    _add(
        ledger,
        programme,
        "Now A",
        TODAY - timedelta(days=3),
        TODAY + timedelta(days=50),
        "Antwerpen",
    )
    _add(
        ledger,
        programme,
        "Next A",
        TODAY + timedelta(days=60),
        TODAY + timedelta(days=90),
        "Antwerpen",
    )

    # None named: the region's course containing today; no --until: its last day + grace.
    first = _lend(ledger, programme, "CB-1", "B-1")
    assert (first.course, first.agreed_end) == ("Now A", TODAY + timedelta(days=55))
    # Named (any case), with an agreed end of its own.
    second = _lend(
        ledger, programme, "CB-2", "B-2", course="next a", until=TODAY + timedelta(days=9)
    )
    assert (second.course, second.agreed_end) == ("Next A", TODAY + timedelta(days=9))
    # An unknown name is refused, listing the known ones; so is a course of another region.
    with pytest.raises(UnknownCourse) as unknown:
        _lend(ledger, programme, "CB-3", "B-3", region="Limburg", course="Autumn")
    assert "there is no course period 'Autumn'; the course periods are 'Now A', 'Next A'" in str(
        unknown.value
    )
    with pytest.raises(InvalidInput, match="does not run in Limburg"):
        _lend(ledger, programme, "CB-3", "B-3", region="Limburg", course="Now A")
    # Limburg has no course today: a loan without one needs its own agreed end.
    with pytest.raises(InvalidInput, match="give the loan's agreed end"):
        _lend(ledger, programme, "CB-3", "B-3", region="Limburg")
    third = _lend(ledger, programme, "CB-3", "B-3", region="Limburg", until=TODAY)
    assert third.course is None
    with ledger.read() as session:
        stored = dict(session.execute(sa.select(Loan.id, Loan.course_period)).all())
        assert stored == {1: "Now A", 2: "Next A", 3: None}
        counts = courses.course_counts(session, "now a")
        assert (counts.loans, counts.open_loans) == (1, 1)


def test_import_records_the_delivery_date(ledger: Ledger) -> None:
    from fleetsync.domain.errors import InvalidRows
    from fleetsync.domain.inventory import parse_devices_csv

    text = (
        "serial;asset_tag;model;region;connectivity;available_from\n"
        "5CD1;CB-1;Acer;Antwerpen;wifi;2020-05-11\n"
        "5CD2;CB-2;Acer;Antwerpen;4g;\n"
    )
    rows = parse_devices_csv(text, regions=("Antwerpen",))
    with ledger.transaction() as session:
        services.import_devices(session, rows, actor=ACTOR, now=NOW)
    with ledger.read() as session:
        delivered = dict(session.execute(sa.select(Device.serial, Device.available_from)).all())
    assert delivered == {"5CD1": date(2020, 5, 11), "5CD2": TODAY}
    # The same file again changes nothing; another delivery date is a change to confirm.
    with ledger.transaction() as session:
        assert services.import_devices(session, rows, actor=ACTOR, now=NOW).unchanged == 2
    moved = parse_devices_csv(text.replace("2020-05-11", "2020-06-03"), regions=("Antwerpen",))
    changed = "available_from '2020-05-11' \\(file: '2020-06-03'\\)"
    with pytest.raises(InvalidRows, match=changed), ledger.transaction() as session:
        services.import_devices(session, moved, actor=ACTOR, now=NOW)
    with ledger.transaction() as session:
        report = services.import_devices(session, moved, actor=ACTOR, update=True, now=NOW)
    assert report.updated == {"5CD1": {"available_from": ["2020-05-11", "2020-06-03"]}}
    # A spreadsheet's export, day first, reads as the same date; a day that does not exist not.
    day_first = parse_devices_csv(text.replace("2020-05-11", "11/05/2020"), regions=("Antwerpen",))
    assert [row.available_from for row in day_first] == [row.available_from for row in rows]
    with pytest.raises(InvalidRows) as bad:
        parse_devices_csv(text.replace("2020-05-11", "31/04/2020"), regions=("Antwerpen",))
    assert bad.value.problems == [
        "line 2: available_from '31/04/2020' is not a date: April 2020 has 30 days"
    ]
