"""With a loan agreement configured, Lend asks whether the borrower signed it (refused without,
when it is required, with the checkout's own words), and the loan's page prints it."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from fleetsync.ledger import Ledger
from fleetsync.ledger.models import Loan
from fleetsync.settings import AgreementSettings, Settings
from tests.desk.conftest import ANY_DATABASE, Browser
from tests.desk.test_lend import lend


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    text = tmp_path / "agreement.md"
    text.write_text("# Leenovereenkomst\n\nLener {given_name} {family_name}.\n", encoding="utf-8")
    agreement = AgreementSettings(version="2026-09", text_file=text, required=True)
    return settings.model_copy(update={"agreement": agreement})


@ANY_DATABASE
def test_lend_records_the_signed_agreement_and_prints_it(browser: Browser, ledger: Ledger) -> None:
    browser.sign_in("ann")
    form = browser.get("/desk/lend")
    assert "The borrower signed the loan agreement (version 2026-09)" in form.text
    unsigned = lend(browser)
    assert unsigned.status_code == 409
    assert "The borrower signs the loan agreement (version 2026-09) before" in unsigned.text
    signed = lend(browser, agreement_signed="yes")
    assert signed.status_code == 200, signed.text
    with ledger.read() as session:
        loan = session.scalars(sa.select(Loan)).one()
    assert loan.agreement_version == "2026-09"

    assert "The loan agreement (to print and sign)" in signed.text
    printed = browser.get(signed.url.path + "/agreement")
    assert printed.status_code == 200
    assert "Lener Ayşe Öztürk." in printed.text
    policy = printed.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert printed.headers["cache-control"] == "no-store"
