"""Staff sign in and out of the desk web app: sessions, CSRF, throttling, the security headers."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from fleetsync import clock
from fleetsync.ledger import Ledger
from fleetsync.ledger.models import AuditEvent, StaffAccount
from fleetsync.services.staff import disable_staff, reset_staff_password
from tests.desk.conftest import ANY_DATABASE, Browser, password_of


@ANY_DATABASE
def test_a_page_without_a_session_sends_the_reader_to_sign_in(browser: Browser) -> None:
    answer = browser.get("/desk", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/desk/sign-in?next=/desk"


def test_sign_in_opens_the_desk_and_sign_out_ends_the_session(browser: Browser) -> None:
    answer = browser.sign_in("ann")
    assert answer.status_code == 200
    assert answer.url.path == "/desk"
    assert "Ann (clerk)" in answer.text
    cookie = browser.client.cookies.get("fleetsync_desk")
    assert cookie

    answer = browser.post("/desk/sign-out", follow_redirects=False)
    assert answer.status_code == 303
    # The old cookie, replayed, opens nothing: sign-out raised the account's session epoch.
    browser.client.cookies.set("fleetsync_desk", cookie, path="/desk")
    assert browser.get("/desk", follow_redirects=False).status_code == 303


@ANY_DATABASE
def test_the_session_cookie_is_http_only_same_site_and_scoped(browser: Browser) -> None:
    browser.get("/desk/sign-in")
    answer = browser.post(
        "/desk/sign-in",
        {"username": "ann", "password": password_of("ann")},
        follow_redirects=False,
    )
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/desk" in cookie
    assert "max-age=1800" in cookie
    assert "secure" not in cookie  # plain HTTP here; behind TLS it is Secure (next test)


@ANY_DATABASE
def test_behind_tls_the_cookie_is_secure(browser: Browser) -> None:
    answer = browser.client.get("https://testserver/desk/sign-in")
    assert "secure" in answer.headers["set-cookie"].lower()


@ANY_DATABASE
@pytest.mark.parametrize("path", ["/desk/sign-in", "/desk"])
def test_every_page_has_a_strict_content_security_policy(browser: Browser, path: str) -> None:
    browser.sign_in("ann")
    answer = browser.get(path)
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert answer.headers["cache-control"] == "no-store"
    assert "<script>" not in answer.text  # no inline script at all


@ANY_DATABASE
def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(
    browser: Browser,
) -> None:
    wrong = browser.sign_in("ann", "not-the-password")
    unknown = browser.sign_in("nobody", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert "The username or the password is not right." in wrong.text
    assert "The username or the password is not right." in unknown.text
    assert browser.get("/desk", follow_redirects=False).status_code == 303


def test_repeated_bad_passwords_lock_the_account_even_for_the_right_one(
    browser: Browser, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):  # sign_in_attempts = 3 in these tests
        assert browser.sign_in("ann", "guess-guess-guess").status_code == 401
    locked = browser.sign_in("ann")
    assert locked.status_code == 401
    assert "Too many failed sign-ins for this account" in locked.text
    with ledger.read() as session:
        account = session.scalars(
            sa.select(StaffAccount).where(StaffAccount.username == "ann")
        ).one()
        assert account.failed_sign_ins == 3

    # The lockout passes with time (15 minutes here).
    later = clock.now() + timedelta(minutes=16)
    monkeypatch.setenv(clock.ENV, later.isoformat())
    assert browser.sign_in("ann").url.path == "/desk"


@ANY_DATABASE
def test_a_form_without_the_session_token_changes_nothing(browser: Browser) -> None:
    browser.sign_in("ann")
    forged = browser.client.post("/desk/sign-out", data={"csrf": "forged"}, follow_redirects=False)
    assert forged.status_code == 403
    assert "Form expired" in forged.text
    assert browser.get("/desk", follow_redirects=False).status_code == 200

    no_token = browser.client.post(
        "/desk/sign-in", data={"username": "ann", "password": password_of("ann")}
    )
    assert no_token.status_code == 403


@ANY_DATABASE
def test_an_idle_session_ends(browser: Browser, monkeypatch: pytest.MonkeyPatch) -> None:
    browser.sign_in("ann")
    start = clock.now()
    monkeypatch.setenv(clock.ENV, (start + timedelta(minutes=20)).isoformat())
    assert browser.get("/desk", follow_redirects=False).status_code == 200  # refreshed
    monkeypatch.setenv(clock.ENV, (start + timedelta(minutes=51)).isoformat())
    ended = browser.get("/desk", follow_redirects=False)
    assert ended.status_code == 303
    assert ended.headers["location"].endswith("&ended=1")


def test_disabling_or_resetting_an_account_ends_its_sessions(
    browser: Browser, other_browser: Browser, ledger: Ledger, technician: str
) -> None:
    browser.sign_in("ann")
    other_browser.sign_in(technician)
    with ledger.transaction() as session:
        disable_staff(session, username="ann", actor="cli:tester")
        reset_staff_password(session, username="tom", actor="cli:tester", password="a-new-one-1234")
    assert browser.get("/desk", follow_redirects=False).status_code == 303
    assert other_browser.get("/desk", follow_redirects=False).status_code == 303
    assert browser.sign_in("ann").status_code == 401
    assert other_browser.sign_in("tom", "a-new-one-1234").url.path == "/desk"


@ANY_DATABASE
def test_after_sign_in_the_reader_goes_back_to_their_page_and_never_elsewhere(
    browser: Browser,
) -> None:
    browser.get("/desk/sign-in?next=/desk/loans")
    answer = browser.post(
        "/desk/sign-in",
        {"username": "ann", "password": password_of("ann"), "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/desk"


@ANY_DATABASE
def test_staff_actions_are_in_the_audit_trail(ledger: Ledger) -> None:
    with ledger.read() as session:
        added = session.scalars(
            sa.select(AuditEvent.after).where(AuditEvent.action == "staff_added")
        ).all()
    assert {"staff": "ann", "desk": "antwerpen", "role": "clerk"} in added
