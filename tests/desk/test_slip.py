"""The borrower's slip: the first password revealed once by a POST, marked collected, never in a
URL, a log or a cached answer; printable on A4 and 80 mm."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from fleetsync.ledger import Ledger
from fleetsync.ledger.models import AuditEvent, PendingCredential
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
    assert "already collected" in second.text
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
