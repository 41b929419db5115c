"""Staff accounts in the web app, for admins only: a new account or password shown once, an
account disabled, each in the admin's name in the audit trail."""

from __future__ import annotations

import re

import sqlalchemy as sa

from fleetsync.ledger import Ledger
from fleetsync.ledger.models import AuditEvent, StaffAccount
from tests.desk.conftest import ANY_DATABASE, Browser

_SHOWN = re.compile(r'<strong class="password">([^<]+)</strong>')


def test_an_admin_adds_resets_and_disables_staff(
    browser: Browser, other_browser: Browser, admin: str, ledger: Ledger
) -> None:
    browser.sign_in(admin)
    listing = browser.get("/desk/staff")
    assert listing.status_code == 200
    assert "<td>ann</td>" in listing.text  # every desk's staff
    assert "<td>bea</td>" in listing.text

    added = browser.post(
        "/desk/staff",
        {"username": "Cas.Jacobs", "display_name": "Cas", "desk": "antwerpen", "role": "clerk"},
    )
    assert added.status_code == 200, added.text
    password = _SHOWN.search(added.text)
    assert password is not None
    assert added.headers["cache-control"] == "no-store"
    assert "Shown once" in added.text
    assert password[1] not in browser.get("/desk/staff").text  # once: not on the next page

    assert other_browser.sign_in("cas.jacobs", password[1]).url.path == "/desk"
    again = browser.post(
        "/desk/staff", {"username": "cas.jacobs", "desk": "antwerpen", "role": "clerk"}
    )
    assert again.status_code == 409
    assert "A staff account cas.jacobs exists already" in again.text

    reset = browser.post("/desk/staff/cas.jacobs/reset-password")
    assert reset.status_code == 200
    new = _SHOWN.search(reset.text)
    assert new is not None
    assert new[1] != password[1]
    # The reset ended Cas's session.
    ended = other_browser.get("/desk", follow_redirects=False)
    assert ended.headers["location"].startswith("/desk/sign-in")

    unconfirmed = browser.post("/desk/staff/cas.jacobs/disable")
    assert unconfirmed.status_code == 422
    disabled = browser.post("/desk/staff/cas.jacobs/disable", {"confirm": "yes"})
    assert disabled.status_code == 200
    assert "cas.jacobs is disabled" in disabled.text
    assert other_browser.sign_in("cas.jacobs", new[1]).status_code == 401

    with ledger.read() as session:
        events = session.execute(
            sa.select(AuditEvent.action, AuditEvent.actor).where(
                AuditEvent.action.like("staff_%"), AuditEvent.actor != "cli:tester"
            )
        ).all()
        account = session.scalars(
            sa.select(StaffAccount).where(StaffAccount.username == "cas.jacobs")
        ).one()
    assert sorted(events) == [
        ("staff_added", "desk:brussel:ada"),
        ("staff_disabled", "desk:brussel:ada"),
        ("staff_password_reset", "desk:brussel:ada"),
    ]
    assert (account.desk, account.role) == ("antwerpen", "clerk")
    assert account.disabled_at is not None


@ANY_DATABASE
def test_an_admin_does_not_lock_herself_out_and_bad_input_is_refused_in_dutch(
    browser: Browser, admin: str, ledger: Ledger
) -> None:
    browser.sign_in(admin)
    browser.post("/desk/language", {"language": "nl-BE", "next": "/desk/staff"})
    herself = browser.post("/desk/staff/ada/disable", {"confirm": "yes"})
    assert herself.status_code == 409
    assert "Niet je eigen account" in herself.text
    bad = browser.post("/desk/staff", {"username": "Ann Peeters!", "role": "clerk"})
    assert bad.status_code == 422
    assert "Een gebruikersnaam is 1 tot 32 kleine letters" in bad.text
    assert 'value="Ann Peeters!"' in bad.text  # the form keeps what was typed
    with ledger.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(StaffAccount)) == 3


@ANY_DATABASE
def test_only_an_admin_manages_staff(browser: Browser, technician: str, ledger: Ledger) -> None:
    browser.sign_in(technician)
    assert "/desk/staff" not in browser.get("/desk").text
    assert browser.get("/desk/staff").status_code == 403
    refused = browser.post("/desk/staff", {"username": "eve", "desk": "antwerpen", "role": "admin"})
    assert refused.status_code == 403
    assert browser.post("/desk/staff/ann/reset-password").status_code == 403
    assert browser.post("/desk/staff/ann/disable", {"confirm": "yes"}).status_code == 403
    with ledger.read() as session:
        names = set(session.scalars(sa.select(StaffAccount.username)))
        disabled = session.scalar(
            sa.select(StaffAccount.disabled_at).where(StaffAccount.username == "ann")
        )
    assert names == {"ann", "bea", "tom"}
    assert disabled is None
