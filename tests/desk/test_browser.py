"""The desk in a real browser: Playwright drives Debian's Chromium against ``fleetsync serve`` on
the sandbox tenant. A clerk signs in, scans, lends, watches the progress reach ready, reveals the
password on the slip, prints it to PDF, takes the device back damaged, sees the overdue list and
exports it, in English and in Dutch. axe-core checks every page: no serious or critical
violation. Screenshots are kept in ``test-artifacts/desk/`` (ignored by git).

One server, one sandbox and one browser for the whole module (CI has two cores). Without
Chromium the module is skipped, except under ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from fleetsync import clock, services
from fleetsync.domain.inventory import parse_devices_csv
from fleetsync.domain.staff import StaffRole
from fleetsync.ledger import Ledger, open_ledger
from fleetsync.sandbox.testing import running_sandbox
from fleetsync.services.staff import add_staff
from fleetsync.settings import Settings, load_settings
from tests.conftest import IN_CI
from tests.waiting import wait_until

pytestmark = pytest.mark.processes

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "desk"
CHROMIUM = os.environ.get("FLEETSYNC_TEST_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "ann-password-1234"

playwright_api = pytest.importorskip("playwright.sync_api")


@dataclass
class Served:
    url: str
    serials: list[str]
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The sandbox with three Chromebooks, a ledger that has them spare and one overdue loan,
    staff of two desks, and ``fleetsync serve`` with the outbox drain on it."""
    base = tmp_path_factory.mktemp("desk-browser")
    with running_sandbox(base / "sandbox") as sandbox:
        sandbox.control.seed_devices(3)
        listed = sandbox.directory().chromeosdevices().list(customerId="my_customer").execute()
        serials = sorted(d["serialNumber"] for d in listed["chromeosdevices"])
        config = sandbox.write_config(
            base / "fleetsync.toml",
            data_dir=str(base / "data"),
            api={
                "desks": {
                    "antwerpen": {"region": "Antwerpen", "return_address": "Desk Antwerpen"},
                    "brussel": {"region": "Brussel"},
                }
            },
            desk={"contact": "0800 12 345"},
            # Seeded enrolled in the sandbox, imported, not yet seen by a sync: lendable here.
            loans={"lend_unconfirmed": True},
            daemon={"outbox_interval_seconds": 1},
        )
        settings = load_settings(config)
        text = "serial,asset_tag,model,region,connectivity\n" + "".join(
            f"{serial},CB-{i:04d},Acer Chromebook 314,Antwerpen,{'4g' if i == 3 else 'wifi'}\n"
            for i, serial in enumerate(serials, start=1)
        )
        with open_ledger(settings) as ledger:
            with ledger.transaction() as session:
                services.import_devices(
                    session, parse_devices_csv(text, regions=settings.regions), actor="cli:tester"
                )
            _staff_and_an_overdue_loan(ledger, settings)
        port = _free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("FLEETSYNC_")},
            clock.ENV: os.environ[clock.ENV],
        }
        log = base / "serve.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "fleetsync", "serve", "--port", str(port),
                 "--config", str(config)],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                url = f"http://127.0.0.1:{port}"
                _wait_for(url, process, log)
                yield Served(url, serials, log)
            finally:
                process.terminate()
                process.wait(30)


def _staff_and_an_overdue_loan(ledger: Ledger, settings: Settings) -> None:
    """Ann and Bea, clerks of two desks, Ada, an admin of Bea's, and Ann's desk's loan that
    ended 10 days ago."""
    with ledger.transaction() as session:
        add_staff(
            session, username="ann", display_name="Ann", desk="antwerpen",
            role=StaffRole.CLERK, actor="cli:tester", password=PASSWORD,
        )  # fmt: skip
        add_staff(
            session, username="bea", display_name="Bea", desk="brussel",
            role=StaffRole.CLERK, actor="cli:tester", password=PASSWORD,
        )  # fmt: skip
        add_staff(
            session, username="ada", display_name="Ada", desk="brussel",
            role=StaffRole.ADMIN, actor="cli:tester", password=PASSWORD,
        )  # fmt: skip
        # A loan of 40 days ago that ended 10 days ago: the overdue list's.
        past = clock.now() - timedelta(days=40)
        until = clock.local_date(past) + timedelta(days=30)
        services.checkout(
            session, device="CB-0003", borrower="B-2000", given_name="Jan",
            family_name="Peeters", region="Antwerpen", until=until,
            needs_data=True, programme=services.Programme.from_settings(settings),
            actor="desk:antwerpen:ann", now=past,
        )  # fmt: skip


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    import httpx2 as httpx

    def live() -> bool:
        assert process.poll() is None, log.read_text()
        try:
            return httpx.get(url + "/livez", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(live, what="fleetsync serve to start", interval=0.2, detail=log.read_text)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        message = f"Chromium is not installed at {CHROMIUM}: apt-get install chromium"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield launched
        finally:
            launched.close()


class Desk:
    """One person at the counter: a browser context in their language, every page checked
    with axe-core, screenshots kept."""

    def __init__(self, browser: Any, served: Served, locale: str, name: str) -> None:
        self.context = browser.new_context(
            locale=locale, extra_http_headers={"Accept-Language": locale}, accept_downloads=True
        )
        self.page = self.context.new_page()
        self.url = served.url
        self.name = name
        self.shots = 0
        self.violations: list[str] = []
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def goto(self, path: str) -> None:
        self.page.goto(self.url + path)

    def check(self, label: str) -> None:
        """axe-core on the page as it is now, and a screenshot."""
        from axe_playwright_python.sync_playwright import Axe

        results = Axe().run(self.page)
        for violation in results.response["violations"]:
            if violation["impact"] in ("serious", "critical"):
                nodes = [n["target"] for n in violation["nodes"]][:3]
                self.violations.append(f"{label}: {violation['id']} {nodes}")
        self.shots += 1
        self.page.screenshot(
            path=str(ARTIFACTS / f"{self.name}-{self.shots:02d}-{label}.png"), full_page=True
        )

    def sign_in(self, username: str) -> None:
        self.goto("/desk")
        self.check("sign-in")
        self.page.get_by_label(re.compile("Username|Gebruikersnaam")).fill(username)
        self.page.get_by_label(re.compile("^(Password|Wachtwoord)$")).fill(PASSWORD)
        self.page.keyboard.press("Enter")
        self.page.wait_for_url(lambda url: urlsplit(url).path == "/desk")

    def close(self) -> None:
        self.context.close()


def _page_width_mm(pdf: bytes) -> float:
    found = re.search(rb"/MediaBox\s*\[\s*0 0 ([0-9.]+)", pdf)
    assert found, "no page size in the PDF"
    return float(found[1]) / 72 * 25.4


def _text(desk: Desk) -> str:
    text: str = desk.page.inner_text("main")
    return text


def test_a_loan_at_the_counter_from_scan_to_take_back(browser: Any, served: Served) -> None:
    desk = Desk(browser, served, "en-GB", "en")
    try:
        desk.sign_in("ann")
        desk.check("find")
        # The scanner types the asset tag and presses Enter.
        desk.page.get_by_label("Serial, asset tag, borrower id or name").fill("cb-0001")
        desk.page.keyboard.press("Enter")
        desk.page.wait_for_url(re.compile(r"/desk/devices/"))
        assert "Spare" in _text(desk)
        desk.check("device")
        desk.page.get_by_role("link", name="Lend this device").click()
        desk.page.get_by_label("Borrower id").fill("B-1017")
        desk.page.get_by_label("Given name").fill("Ayşe")
        desk.page.get_by_label("Family name").fill("Öztürk")
        desk.check("lend")
        desk.page.get_by_role("button", name="Lend").click()
        desk.page.wait_for_url(re.compile(r"/desk/loans/L-\d+$"))
        loan = desk.page.url.rsplit("/", 1)[1]
        # The page's script follows the reconcile until the loan is ready.
        desk.page.get_by_text("Ready: the borrower can go.").wait_for(timeout=60_000)
        assert "Account created: done" in _text(desk)
        assert "Device moved: done" in _text(desk)
        desk.check("loan-ready")

        desk.page.get_by_role("link", name="The borrower's slip").click()
        assert "ayse.ozturk@example.org" in _text(desk)
        desk.page.get_by_role("button", name="Reveal the password").click()
        password = desk.page.locator("strong.password").inner_text()
        assert len(password) >= 12
        assert password not in desk.page.url
        desk.check("slip")
        pdf = desk.page.pdf(format="A4")
        assert pdf.startswith(b"%PDF")
        (ARTIFACTS / "en-slip-a4.pdf").write_bytes(pdf)
        assert _page_width_mm(pdf) == pytest.approx(210, abs=1)
        desk.goto(f"/desk/loans/{loan}/slip?paper=80mm")
        assert "Already handed over." in _text(desk)
        assert password not in desk.page.content()
        receipt = desk.page.pdf(prefer_css_page_size=True)
        (ARTIFACTS / "en-slip-80mm.pdf").write_bytes(receipt)
        assert _page_width_mm(receipt) == pytest.approx(80, abs=1)

        # The borrower lost it: a new one, revealed once the same way; Google gets it.
        desk.page.get_by_role("button", name="New first password").click()
        assert "A new first password is ready" in _text(desk)
        desk.page.get_by_role("button", name="Reveal the password").click()
        new_password = desk.page.locator("strong.password").inner_text()
        assert new_password != password
        assert new_password not in desk.page.url
        desk.check("new-password")
        desk.goto(f"/desk/loans/{loan}/slip")
        wait_until(
            lambda: "Google has had this password since" in _text(desk),
            what="the reconcile setting the new password in Google",
            between=lambda: desk.goto(f"/desk/loans/{loan}/slip"),
            interval=0.5,
            detail=lambda: _text(desk),
        )
        assert new_password not in desk.page.content()

        desk.goto("/desk/return?device=CB-0001")
        desk.page.get_by_label("Damaged", exact=True).check()
        desk.page.get_by_label("Note (what is damaged)").fill("hinge cracked")
        desk.check("take-back")
        desk.page.get_by_role("button", name="Confirm: take back").click()
        assert "The borrower's account is suspended in Google." in _text(desk)
        desk.check("taken-back")
        assert desk.violations == []
    finally:
        desk.close()
    log = served.log.read_text()
    assert password not in log
    assert new_password not in log


def test_the_overdue_list_and_its_export_in_dutch(browser: Any, served: Served) -> None:
    desk = Desk(browser, served, "nl-BE", "nl")
    try:
        desk.sign_in("ann")
        assert desk.page.locator("html").get_attribute("lang") == "nl-BE"
        desk.page.get_by_role("link", name="Lopende uitleningen").click()
        desk.page.get_by_role("link", name="Te laat").click()
        assert "B-2000" in _text(desk)
        assert desk.page.locator("td strong.error").first.inner_text() == "10"
        desk.check("overdue")
        with desk.page.expect_download() as download:
            desk.page.get_by_role("link", name="Exporteren als CSV").click()
        data = Path(download.value.path()).read_bytes()
        assert data.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
        assert rows[0][:2] == ["Uitlening", "Serienummer"]
        assert [r[3] for r in rows[1:]] == ["B-2000"]
        desk.goto("/desk/spares")
        desk.check("spares")
        # The switch: English from here on, whatever the browser says.
        desk.page.get_by_role("button", name="English").click()
        assert desk.page.locator("html").get_attribute("lang") == "en"
        assert "Spare devices" in _text(desk)
        assert desk.violations == []
    finally:
        desk.close()


def test_another_desk_sees_none_of_it(browser: Any, served: Served) -> None:
    desk = Desk(browser, served, "en-GB", "brussel")
    try:
        desk.sign_in("bea")
        desk.goto("/desk/loans?show=overdue")
        assert "B-2000" not in _text(desk)
        desk.goto("/desk/find?q=B-2000")
        assert "Nothing found" in _text(desk)
        desk.check("other-desk")
        assert desk.violations == []
    finally:
        desk.close()


def test_an_admin_lists_every_desk_and_adds_a_clerk(browser: Any, served: Served) -> None:
    desk = Desk(browser, served, "nl-BE", "admin")
    try:
        desk.sign_in("ada")
        desk.page.get_by_role("link", name="Lopende uitleningen").click()
        assert "B-2000" not in _text(desk)  # her own desk's first: Brussel lent nothing
        desk.page.get_by_role("combobox", name="Balie").select_option("all")
        desk.page.get_by_role("button", name="Tonen").click()
        desk.page.get_by_role("link", name="Te laat").click()
        assert "desk=all" in desk.page.url
        row = desk.page.locator("tr", has_text="B-2000")
        assert row.locator("td").first.inner_text() == "antwerpen"
        desk.check("every-desk")
        row.get_by_role("link", name=re.compile("^L-")).click()
        assert "B-2000" in _text(desk)  # another desk's loan opens for an admin
        desk.page.get_by_role("link", name="Personeel").click()
        desk.page.get_by_label(re.compile("^Gebruikersnaam")).fill("cas")
        desk.page.get_by_label("Naam", exact=True).fill("Cas")
        desk.page.get_by_role("combobox", name="Balie").select_option("antwerpen")
        desk.page.get_by_role("button", name="Toevoegen, met een nieuw wachtwoord").click()
        shown = desk.page.locator("strong.password").inner_text()
        assert len(shown) >= 12
        assert shown not in desk.page.url
        desk.check("staff")
        assert desk.violations == []
    finally:
        desk.close()


def test_no_script_runs_inline(browser: Any, served: Served) -> None:
    """The CSP holds in the browser: a script injected into the page is refused."""
    desk = Desk(browser, served, "en-GB", "csp")
    try:
        errors: list[str] = []
        desk.page.on("console", lambda message: errors.append(message.text))
        desk.goto("/desk/sign-in")
        desk.page.evaluate(
            "() => { const s = document.createElement('script');"
            " s.textContent = 'window.injected = 1'; document.body.appendChild(s); }"
        )
        assert desk.page.evaluate("() => window.injected") is None
        assert any("Content Security Policy" in e for e in errors), errors
        assert json.dumps(errors)  # the refusal was reported, nothing ran
    finally:
        desk.close()
