"""An admin sees and acts on every desk's loans and borrowers; a clerk (or a technician) stays
with their own desk's, whatever the address asks for."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa

from fleetsync.ledger import Ledger
from fleetsync.ledger.models import AuditEvent, Loan
from tests.desk.conftest import ANY_DATABASE, Browser
from tests.desk.test_lend import lend
from tests.pinned import days_from_today


def test_an_admin_sees_another_desk_s_loan_and_a_clerk_still_does_not(
    browser: Browser, other_browser: Browser, admin: str, third_browser: Browser
) -> None:
    browser.sign_in("ann")  # a clerk of Antwerpen lends
    loan_path = lend(browser).url.path
    other_browser.sign_in(admin)  # an admin of Brussel

    loan = other_browser.get(loan_path)
    assert loan.status_code == 200
    assert "B-1017" in loan.text
    assert "<dt>Desk</dt><dd>antwerpen</dd>" in loan.text
    assert other_browser.get(loan_path + "/progress").status_code == 200
    borrower = other_browser.get("/desk/borrowers/B-1017")
    assert borrower.status_code == 200
    assert "<td>antwerpen</td>" in borrower.text
    assert other_browser.get("/desk/find?q=B-1017").url.path == "/desk/borrowers/B-1017"
    by_name = other_browser.get("/desk/find?q=ozturk")
    assert by_name.status_code == 200
    assert "B-1017" in by_name.text
    assert "<td>antwerpen</td>" in by_name.text  # which desk the borrower is with
    device = other_browser.get("/desk/devices/CB-0002")
    assert loan_path.rsplit("/", 1)[1] in device.text
    assert "on loan at another desk" not in device.text

    # A clerk of the admin's own desk still sees none of it.
    clerk = third_browser
    clerk.sign_in("bea")
    assert clerk.get(loan_path).status_code == 404
    assert clerk.get("/desk/borrowers/B-1017").status_code == 404
    assert clerk.get("/desk/find?q=ozturk").status_code == 404
    assert "B-1017" not in clerk.get("/desk/devices/CB-0002").text


@ANY_DATABASE
def test_the_lists_show_the_admin_s_desk_then_any_desk_or_all(
    browser: Browser, other_browser: Browser, admin: str, third_browser: Browser
) -> None:
    browser.sign_in("ann")
    lend(browser, until=days_from_today(3).isoformat())
    other_browser.sign_in(admin)

    own = other_browser.get("/desk/loans")  # by default: her own desk (Brussel), no loans
    assert "B-1017" not in own.text
    assert '<select id="desk" name="desk">' in own.text
    assert '<option value="brussel" selected>' in own.text
    every = other_browser.get("/desk/loans?show=week&desk=all")
    assert "B-1017" in every.text
    assert "<td>antwerpen</td>" in every.text
    assert "show=overdue&amp;desk=all" in every.text  # the filters keep the desk chosen
    assert "B-1017" in other_browser.get("/desk/loans?desk=antwerpen").text
    assert "B-1017" not in other_browser.get("/desk/loans?desk=gent").text
    assert "B-1017" not in other_browser.get("/desk/loans?desk=%0Abad").text  # her own desk

    rows = list(
        csv.reader(
            io.StringIO(
                other_browser.get("/desk/loans.csv?show=open&desk=all").content.decode("utf-8-sig")
            )
        )
    )
    assert rows[0][:2] == ["Desk", "Loan"]
    assert rows[1][0] == "antwerpen"
    assert rows[1][4] == "B-1017"

    # A clerk asking for another desk, or every desk, gets their own desk's list.
    clerk = third_browser
    clerk.sign_in("bea")
    for query in ("desk=all", "desk=antwerpen"):
        page = clerk.get(f"/desk/loans?{query}")
        assert page.status_code == 200
        assert "B-1017" not in page.text
        assert '<select id="desk"' not in page.text
        assert "B-1017" not in clerk.get(f"/desk/loans.csv?{query}").text


@ANY_DATABASE
def test_an_admin_acts_on_another_desk_s_loan_in_her_own_name(
    browser: Browser, other_browser: Browser, admin: str, ledger: Ledger
) -> None:
    browser.sign_in("ann")
    loan_path = lend(browser).url.path
    other_browser.sign_in(admin)
    other_browser.get(loan_path)
    extended = other_browser.post(loan_path + "/extend", {"until": days_from_today(90).isoformat()})
    assert extended.status_code == 200, extended.text
    slip = other_browser.get(loan_path + "/slip")
    assert "Desk Antwerpen" in slip.text  # brought back where it was lent
    other_browser.get("/desk/return")
    back = other_browser.post("/desk/return", {"device": "CB-0002", "condition": "ok"})
    assert back.status_code == 200, back.text
    with ledger.read() as session:
        loan = session.scalars(sa.select(Loan)).one()
        actors = dict(
            session.execute(
                sa.select(AuditEvent.action, AuditEvent.actor).where(
                    AuditEvent.action.in_(["extend", "return"])
                )
            ).all()
        )
    assert loan.desk == "antwerpen"  # still the desk that lent it
    assert loan.agreed_end == days_from_today(90)
    assert loan.returned_at is not None
    assert actors == {"extend": "desk:brussel:ada", "return": "desk:brussel:ada"}
