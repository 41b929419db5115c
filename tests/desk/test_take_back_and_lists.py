"""Take back (in good order, or damaged with a note) and the desk's lists with their CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from fleetsync import clock
from fleetsync.ledger import Ledger
from fleetsync.ledger.models import AuditEvent, Device, Loan
from tests.desk.conftest import ANY_DATABASE, Browser
from tests.desk.test_lend import lend
from tests.pinned import days_from_today


def test_take_back_damaged_says_what_happens_next(browser: Browser, ledger: Ledger) -> None:
    browser.sign_in("ann")
    lend(browser)
    browser.get("/desk/return?device=CB-0002")
    without_note = browser.post("/desk/return", {"device": "CB-0002", "condition": "damaged"})
    assert without_note.status_code == 422
    assert "Say what is damaged" in without_note.text

    back = browser.post(
        "/desk/return", {"device": "cb-0002", "condition": "damaged", "note": "hinge cracked"}
    )
    assert back.status_code == 200, back.text
    assert "The borrower's account is suspended in Google." in back.text
    assert "put it aside for a technician" in back.text
    with ledger.read() as session:
        loan = session.scalars(sa.select(Loan)).one()
        device = session.scalars(sa.select(Device).where(Device.serial == "5CD2000AAA")).one()
        actor = session.scalar(sa.select(AuditEvent.actor).where(AuditEvent.action == "return"))
    assert (loan.return_condition, loan.return_note) == ("damaged", "hinge cracked")
    assert device.state == "in_refurbishment"
    assert actor == "desk:antwerpen:ann"

    again = browser.post("/desk/return", {"device": "CB-0002", "condition": "ok"})
    assert again.status_code == 409
    assert "Not taken back:" in again.text


@ANY_DATABASE
def test_another_desk_cannot_take_back_this_desk_s_loan(
    browser: Browser, other_browser: Browser
) -> None:
    browser.sign_in("ann")
    lend(browser)
    other_browser.sign_in("bea")
    other_browser.get("/desk/return")
    refused = other_browser.post("/desk/return", {"device": "CB-0002", "condition": "ok"})
    assert refused.status_code == 404
    assert "B-1017" not in refused.text


def _lend_overdue(ledger: Ledger, monkeypatch: pytest.MonkeyPatch, browser: Browser) -> None:
    """A loan that ended 10 days ago: lent in the past, at the desk."""
    past = clock.now() - timedelta(days=40)
    monkeypatch.setenv(clock.ENV, past.isoformat())
    browser.sign_in("ann")
    lend(
        browser,
        device="CB-0001",
        borrower="B-2000",
        given_name="Jan",
        family_name="Peeters",
        until=(clock.local_date(past) + timedelta(days=30)).isoformat(),
    )
    monkeypatch.undo()


def test_lists_show_overdue_days_and_export_csv_in_both_languages(
    browser: Browser, other_browser: Browser, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    _lend_overdue(ledger, monkeypatch, browser)
    browser.sign_in("ann")
    lend(browser, until=days_from_today(3).isoformat())  # due this week, not overdue

    overdue = browser.get("/desk/loans?show=overdue")
    assert "B-2000" in overdue.text
    assert "B-1017" not in overdue.text
    assert '<strong class="error">10</strong>' in overdue.text
    week = browser.get("/desk/loans?show=week")
    assert "B-1017" in week.text
    assert "B-2000" in week.text  # overdue is due, too

    english = browser.get("/desk/loans.csv?show=overdue")
    assert english.headers["content-type"] == "text/csv; charset=utf-8"
    assert english.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(english.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Loan"
    assert rows[1][3:6] == ["B-2000", "Jan", "Peeters"]
    assert rows[1][-1] == "10"

    browser.get("/desk")
    browser.post("/desk/language", {"language": "nl-BE", "next": "/desk/loans"})
    dutch = browser.get("/desk/loans.csv?show=open").content.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(dutch), delimiter=";"))
    assert table[0][0] == "Uitlening"
    assert len(table) == 3

    spares = browser.get("/desk/spares.csv?connectivity=wifi").content.decode("utf-8-sig")
    serials = [r[0] for r in csv.reader(io.StringIO(spares), delimiter=";")][1:]
    assert serials == ["5CD3000BBB"]  # CB-0002 is lent; 4G's CB-0001 is not Wi-Fi

    other_browser.sign_in("bea")  # another desk: none of these loans
    assert "B-2000" not in other_browser.get("/desk/loans?show=overdue").text
    other_csv = other_browser.get("/desk/loans.csv?show=open").content.decode("utf-8-sig")
    assert "B-1017" not in other_csv


@ANY_DATABASE
def test_extend_and_report_lost_from_the_loan_s_page(browser: Browser, ledger: Ledger) -> None:
    browser.sign_in("ann")
    loan = lend(browser).url.path
    earlier = browser.post(loan + "/extend", {"until": days_from_today(10).isoformat()})
    assert earlier.status_code == 409  # the CLI's rule: later than the current end
    later = browser.post(
        loan + "/extend", {"until": days_from_today(90).isoformat(), "reason": "course runs on"}
    )
    assert later.status_code == 200
    assert "The loan is extended." in later.text

    unconfirmed = browser.post(loan + "/lost", {"reason": "stolen on the bus"})
    assert unconfirmed.status_code == 422
    lost = browser.post(loan + "/lost", {"reason": "stolen on the bus", "confirm": "yes"})
    assert lost.status_code == 200
    assert "The device is reported lost." in lost.text
    with ledger.read() as session:
        found = session.scalars(sa.select(Loan)).one()
        actors = set(
            session.execute(
                sa.select(AuditEvent.action, AuditEvent.actor).where(
                    AuditEvent.action.in_(["extend", "lost", "mark_lost"])
                )
            ).all()
        )
    assert found.agreed_end == days_from_today(90)
    assert found.return_condition == "lost"
    assert {actor for _action, actor in actors} == {"desk:antwerpen:ann"}
    assert len(actors) == 2
