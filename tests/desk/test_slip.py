"""The borrower's slip: the first password revealed once by a POST, marked collected, never in a
URL, a log or a cached answer; printable on A4 and 80 mm."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from fleetsync import clock
from fleetsync.ledger import Ledger
from fleetsync.ledger.models import AuditEvent, PendingCredential
from fleetsync.services import reconciled
from tests.desk.conftest import Browser
from tests.desk.test_lend import lend


def test_the_password_is_revealed_once_by_a_post_and_marked_collected(
    browser: Browser, ledger: Ledger, capfd: pytest.CaptureFixture[str]
) -> None:
    browser.sign_in("ann")
    loan = lend(browser).url.path
    slip = browser.get(loan + "/slip")
    assert slip.status_code == 200
    assert "Reveal the password" in slip.text
    assert "Bring it back by" in slip.text
    assert "Desk Antwerpen" in slip.text  # the desk's return address
    assert "0800 12 345" in slip.text  # the programme's contact
    assert slip.headers["cache-control"] == "no-store"

    revealed = browser.post(loan + "/slip", {"paper": "80mm"})
    assert revealed.status_code == 200
    password = re.search(r'<strong class="password">([^<]+)</strong>', revealed.text)
    assert password
    assert revealed.headers["cache-control"] == "no-store"
    assert "paper-80mm" in revealed.text
    assert password[1] not in str(revealed.url)
    with ledger.read() as session:
        credential = session.scalars(sa.select(PendingCredential)).one()
        actor = session.scalar(
            sa.select(AuditEvent.actor).where(AuditEvent.action == "first_password_collected")
        )
    assert credential.collected_by == "desk:antwerpen:ann"
    assert actor == "desk:antwerpen:ann"

    again = browser.get(loan + "/slip")
    assert "Already handed over." in again.text
    assert "Reveal the password" not in again.text
    assert password[1] not in again.text
    second = browser.post(loan + "/slip", {"paper": "a4"})
    assert second.status_code == 409
    assert "was handed over already" in second.text
    assert password[1] not in second.text
    out, err = capfd.readouterr()
    assert password[1] not in out + err  # not in any log line either


def test_a_clerk_of_another_desk_cannot_reveal_it(browser: Browser, other_browser: Browser) -> None:
    browser.sign_in("ann")
    loan = lend(browser).url.path
    other_browser.sign_in("bea")
    assert other_browser.get(loan + "/slip").status_code == 404
    other_browser.get("/desk")
    assert other_browser.post(loan + "/slip", {"paper": "a4"}).status_code == 404
    assert "Reveal the password" in browser.get(loan + "/slip").text  # still waiting


def _issued(ledger: Ledger) -> list[str]:
    with ledger.read() as session:
        return list(
            session.scalars(
                sa.select(AuditEvent.actor).where(AuditEvent.action == "first_password_issued")
            )
        )


def test_a_new_first_password_is_issued_and_shown_once_the_same_way(
    browser: Browser, other_browser: Browser, ledger: Ledger, capfd: pytest.CaptureFixture[str]
) -> None:
    browser.sign_in("ann")
    loan = lend(browser).url.path
    first = re.search(
        r'<strong class="password">([^<]+)</strong>', browser.post(loan + "/slip").text
    )
    assert first
    # Google has no account yet: it is created with the password the borrower has.
    early = browser.post(loan + "/slip/new-password", {"paper": "a4"})
    assert early.status_code == 409
    assert "not in Google yet" in early.text
    with ledger.transaction() as session:  # what the reconciler records once Google has it
        reconciled.account_created(
            session, "B-1017", user_id="u-1", org_unit="/Students/Antwerpen", now=clock.now()
        )
    borrower = browser.get("/desk/borrowers/B-1017")
    assert f'href="{loan}/slip"' in borrower.text  # the borrower's page leads to the slip
    slip = browser.get(loan + "/slip")
    assert "Google has had this password since" in slip.text
    assert "New first password" in slip.text

    # Another desk's clerk, and a form without the page's CSRF token, issue nothing.
    other_browser.sign_in("bea")
    other_browser.get("/desk")
    assert other_browser.post(loan + "/slip/new-password").status_code == 404
    forged = browser.client.post(loan + "/slip/new-password", data={"csrf": "forged"})
    assert forged.status_code == 403
    assert _issued(ledger) == []

    issued = browser.post(loan + "/slip/new-password", {"paper": "a4"})
    assert issued.status_code == 200
    assert issued.headers["cache-control"] == "no-store"
    assert "A new first password is ready" in issued.text
    assert "Google gets this password at the next reconcile." in issued.text
    assert "Reveal the password" in issued.text
    assert _issued(ledger) == ["desk:antwerpen:ann"]

    revealed = browser.post(loan + "/slip", {"paper": "a4"})
    new = re.search(r'<strong class="password">([^<]+)</strong>', revealed.text)
    assert new
    assert new[1] != first[1]
    assert revealed.headers["cache-control"] == "no-store"
    assert new[1] not in str(revealed.url)
    assert new[1] not in str(issued.url)
    assert new[1] not in browser.get(loan + "/slip").text  # shown once
    assert browser.post(loan + "/slip").status_code == 409
    with ledger.read() as session:
        sealed = session.scalars(sa.select(PendingCredential.sealed_password)).all()
    assert all(new[1] not in s for s in sealed)
    out, err = capfd.readouterr()
    assert new[1] not in out + err


def test_the_new_password_page_is_in_dutch(browser: Browser, ledger: Ledger) -> None:
    browser.client.headers["Accept-Language"] = "nl-BE"
    browser.sign_in("ann")
    loan = lend(browser).url.path
    browser.post(loan + "/slip")
    with ledger.transaction() as session:
        reconciled.account_created(
            session, "B-1017", user_id="u-1", org_unit="/Students/Antwerpen", now=clock.now()
        )
    assert "Nieuw eerste wachtwoord" in browser.get(loan + "/slip").text
    issued = browser.post(loan + "/slip/new-password")
    assert "Google krijgt dit wachtwoord bij de volgende synchronisatie." in issued.text
