"""A checkout webhook records the loan agreement the borrower signed; when it is required, a
checkout without it, or with an outdated version, is refused with what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fleetsync.ledger import Ledger
from fleetsync.settings import AgreementSettings, Settings
from tests.api.conftest import ANY_DATABASE, Desk, api_settings, checkout_event, deliver, loans


@pytest.fixture
def settings(
    database_url: str, tmp_path: Path, antwerpen: Desk, brussel: Desk, admin_token: str
) -> Settings:
    text = tmp_path / "agreement.md"
    text.write_text("# Agreement\n", encoding="utf-8")
    base = api_settings(database_url, tmp_path / "data", [antwerpen, brussel], admin_token)
    agreement = AgreementSettings(version="2026-09", text_file=text, required=True)
    return base.model_copy(update={"agreement": agreement})


@ANY_DATABASE
def test_the_agreement_is_required_and_recorded(
    client: TestClient, antwerpen: Desk, ledger: Ledger
) -> None:
    missing = deliver(client, antwerpen, checkout_event())
    assert missing.status_code == 409
    assert missing.json()["code"] == "agreement_required"
    assert '"agreement": {"version": "2026-09", "signed": true}' in missing.json()["detail"]
    old = {"version": "2025-01", "signed": True}
    outdated = deliver(client, antwerpen, checkout_event(agreement=old))
    assert outdated.status_code == 409
    assert "current version is 2026-09" in outdated.json()["detail"]
    unsigned = {"version": "2026-09", "signed": False}
    assert deliver(client, antwerpen, checkout_event(agreement=unsigned)).status_code == 409
    assert loans(ledger) == []
    signed = {"version": "2026-09", "signed": True}
    assert deliver(client, antwerpen, checkout_event(agreement=signed)).status_code == 202
    [loan] = loans(ledger)
    assert (loan.agreement_version, loan.agreement_signed_at) == ("2026-09", loan.checked_out_at)
