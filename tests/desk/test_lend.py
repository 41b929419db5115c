"""Find, the device and borrower pages, and Lend: the same checkout as the webhook and the CLI,
its refusals word for word, the loan's page and its progress panel."""

from __future__ import annotations

import re

import httpx2 as httpx
import sqlalchemy as sa

from fleetsync.ledger import Ledger
from fleetsync.ledger.models import AuditEvent, Loan
from tests.desk.conftest import ANY_DATABASE, Browser
from tests.pinned import days_from_today


def lend(browser: Browser, **changes: str) -> httpx.Response:
    fields = {
        "device": "CB-0002",
        "borrower": "B-1017",
        "given_name": "Ayşe",
        "family_name": "Öztürk",
        "region": "Antwerpen",
        "until": days_from_today(60).isoformat(),
    } | changes
    browser.get("/desk/lend")
    return browser.post("/desk/lend", fields)


def test_a_scanned_serial_or_asset_tag_opens_the_device_never_a_prefix(browser: Browser) -> None:
    browser.sign_in("ann")
    by_tag = browser.get("/desk/find?q=cb-0002")
    assert by_tag.url.path == "/desk/devices/5CD2000AAA"
    assert "Acer Chromebook 314" in by_tag.text
    assert "Lend this device" in by_tag.text
    assert browser.get("/desk/find?q=5CD1234XYZ").url.path == "/desk/devices/5CD1234XYZ"
    prefix = browser.get("/desk/find?q=5CD1")
    assert prefix.status_code == 404
    assert "Nothing found" in prefix.text


def test_lend_checks_out_as_the_staff_member_and_follows_the_loan(
    browser: Browser, ledger: Ledger
) -> None:
    browser.sign_in("ann")
    answer = lend(browser)
    assert answer.status_code == 200, answer.text
    assert re.fullmatch(r"/desk/loans/L-\d+", answer.url.path)
    assert "Progress" in answer.text
    assert 'data-complete="false"' in answer.text  # Google has done nothing yet
    assert '<script src="/desk/static/desk.js" defer></script>' in answer.text
    panel = browser.get(answer.url.path + "/progress")
    assert "Account created: waiting" in panel.text
    with ledger.read() as session:
        loan = session.scalars(sa.select(Loan)).one()
        actor = session.scalar(sa.select(AuditEvent.actor).where(AuditEvent.action == "checkout"))
    assert loan.desk == "antwerpen"
    assert actor == "desk:antwerpen:ann"

    # Found again by the borrower's id and by part of their name, in any case and accents.
    assert browser.get("/desk/find?q=B-1017").url.path == "/desk/borrowers/B-1017"
    by_name = browser.get("/desk/find?q=ozturk")
    assert "/desk/borrowers/B-1017" in by_name.text


def test_without_a_device_the_form_suggests_a_spare_one_that_fits(browser: Browser) -> None:
    browser.sign_in("ann")
    wifi = lend(browser, device="")
    assert "Suggested spare device: CB-0002" in wifi.text  # Wi-Fi first: 4G stays for need
    assert 'value="5CD2000AAA"' in wifi.text
    data = lend(browser, device="", needs_data="yes")
    assert "Suggested spare device: CB-0001" in data.text
    none_left = lend(browser, device="", region="Limburg")
    assert none_left.status_code == 409
    assert "No spare device of this region" in none_left.text


@ANY_DATABASE
def test_the_checkout_refuses_with_the_cli_s_reasons(browser: Browser, ledger: Ledger) -> None:
    browser.sign_in("ann")
    wifi_for_data = lend(browser, needs_data="yes")
    assert wifi_for_data.status_code == 409
    assert "Not lent:" in wifi_for_data.text
    assert (
        "Borrower B-1017 needs mobile data, but device 5CD2000AAA is Wi-Fi only: lend a 4G device."
    ) in wifi_for_data.text
    assert "fleetsync device list" not in wifi_for_data.text  # no command a clerk never types
    other_region = lend(browser, device="CB-0003")
    assert other_region.status_code == 409
    assert "belongs to region Brussel and borrower B-1017 to Antwerpen" in other_region.text
    unknown = lend(browser, device="CB-9999")
    assert unknown.status_code == 404
    assert "No device has serial or asset tag CB-9999" in unknown.text
    with ledger.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Loan)) == 0


@ANY_DATABASE
def test_a_dutch_page_refuses_in_dutch(browser: Browser) -> None:
    browser.sign_in("ann")
    browser.post("/desk/language", {"language": "nl-BE", "next": "/desk/lend"})
    wifi_for_data = lend(browser, needs_data="yes")
    assert wifi_for_data.status_code == 409
    assert (
        "Lener B-1017 heeft mobiele data nodig, maar toestel 5CD2000AAA heeft alleen wifi: "
        "leen een 4G-toestel uit."
    ) in wifi_for_data.text
    assert "needs mobile data" not in wifi_for_data.text
    lend(browser)
    again = lend(browser, device="CB-0002", borrower="B-2000", given_name="Jan")
    # The device's state in Dutch too, from the labels' catalogue.
    assert "Toestel 5CD2000AAA kan niet uitgeleend worden: het is “Uitgeleend”." in again.text
    browser.get("/desk/return")
    unknown = browser.post("/desk/return", {"device": "CB-9999", "condition": "ok"})
    assert unknown.status_code == 404
    assert "Geen toestel heeft serie- of inventarisnummer CB-9999" in unknown.text


@ANY_DATABASE
def test_a_known_id_with_other_names_asks_to_confirm_the_same_person(browser: Browser) -> None:
    browser.sign_in("ann")
    lend(browser)
    differ = lend(browser, device="CB-0001", given_name="Jan", family_name="Peeters")
    assert differ.status_code == 409
    assert 'name="same_person"' in differ.text


def test_another_desk_sees_neither_the_loan_nor_the_borrower(
    browser: Browser, other_browser: Browser
) -> None:
    browser.sign_in("ann")
    loan_path = lend(browser).url.path
    other_browser.sign_in("bea")
    assert other_browser.get(loan_path).status_code == 404
    assert other_browser.get(loan_path + "/progress").status_code == 404
    assert other_browser.get("/desk/borrowers/B-1017").status_code == 404
    assert other_browser.get("/desk/find?q=B-1017").status_code == 404
    assert other_browser.get("/desk/find?q=ozturk").status_code == 404
    device = other_browser.get("/desk/devices/CB-0002")
    assert "on loan at another desk" in device.text
    assert "B-1017" not in device.text


@ANY_DATABASE
def test_a_dutch_page_words_the_region_and_the_repair_in_dutch(
    browser: Browser, other_browser: Browser, technician: str
) -> None:
    browser.sign_in("ann")
    browser.post("/desk/language", {"language": "nl-BE", "next": "/desk/lend"})
    for device in ("", "CB-0002"):  # the suggestion's check, and the checkout's own
        nowhere = lend(browser, device=device, region="Atlantis")
        assert nowhere.status_code == 422
        assert "Er is geen regio Atlantis: kies een van Antwerpen" in nowhere.text
        assert "unknown region" not in nowhere.text
    lend(browser)
    browser.get("/desk/return")
    browser.post("/desk/return", {"device": "CB-0002", "condition": "damaged", "note": "hinge"})

    other_browser.sign_in("tom")  # a technician of the same desk
    other_browser.post("/desk/language", {"language": "nl-BE", "next": "/desk/devices/CB-0002"})
    in_repair = other_browser.post("/desk/devices/CB-0002/ready")
    assert in_repair.status_code == 409
    assert "Toestel 5CD2000AAA is in reparatie sinds" in in_repair.text
    assert "in repair since" not in in_repair.text
