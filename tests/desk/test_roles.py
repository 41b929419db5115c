"""No page or action without a session of the right role and desk."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from fleetsync.ledger import Ledger
from fleetsync.ledger.models import Device
from tests.desk.conftest import ANY_DATABASE, Browser
from tests.desk.test_lend import lend

PAGES = [
    "/desk",
    "/desk/find?q=CB-0001",
    "/desk/devices/CB-0001",
    "/desk/borrowers/B-1017",
    "/desk/lend",
    "/desk/loans",
    "/desk/loans.csv",
    "/desk/loans/L-1",
    "/desk/loans/L-1/progress",
    "/desk/loans/L-1/slip",
    "/desk/return",
    "/desk/spares",
    "/desk/spares.csv",
    "/desk/staff",
]
FORMS = [
    "/desk/lend",
    "/desk/return",
    "/desk/loans/L-1/slip",
    "/desk/devices/CB-0001/ready",
    "/desk/staff",
    "/desk/staff/ann/reset-password",
    "/desk/staff/ann/disable",
]


@ANY_DATABASE
@pytest.mark.parametrize("path", PAGES)
def test_no_page_without_a_session(browser: Browser, path: str) -> None:
    answer = browser.get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/desk/sign-in?next=")


@ANY_DATABASE
@pytest.mark.parametrize("path", FORMS)
def test_no_action_without_a_session(browser: Browser, path: str) -> None:
    browser.get("/desk/sign-in")  # a real form token, but nobody signed in
    answer = browser.post(path, {"device": "CB-0001"}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/desk/sign-in?next=/desk"


@ANY_DATABASE
def test_only_a_technician_marks_a_device_ready(
    browser: Browser, other_browser: Browser, ledger: Ledger, technician: str
) -> None:
    browser.sign_in("ann")
    lend(browser)
    browser.get("/desk/return")
    browser.post("/desk/return", {"device": "CB-0002", "condition": "ok"})
    page = browser.get("/desk/devices/CB-0002")
    assert "Refurbished: mark ready" not in page.text  # a clerk is not offered it
    refused = browser.post("/desk/devices/CB-0002/ready")
    assert refused.status_code == 403
    assert "Your role does not allow this page" in refused.text

    other_browser.sign_in("tom")  # a technician of the same desk
    offered = other_browser.get("/desk/devices/CB-0002")
    assert "Refurbished: mark ready" in offered.text
    # The lifecycle's own rule: not before the powerwash has executed.
    early = other_browser.post("/desk/devices/CB-0002/ready")
    assert early.status_code == 409
    assert "powerwash" in early.text
    with ledger.read() as session:
        state = session.scalar(sa.select(Device.state).where(Device.serial == "5CD2000AAA"))
    assert state == "in_refurbishment"
