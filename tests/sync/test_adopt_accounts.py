"""An open loan brought in with `loan import` adopts the borrower's existing Workspace account by
its address at the next reconcile (no new account); an address Google does not have is refused
and reported in `fleetsync status`. Against the sandbox, over Google's own client."""

from __future__ import annotations

import json
from pathlib import Path

from fleetsync.services.loan_import import import_loans, parse_loans_csv
from tests.cli_runner import run_cli
from tests.pinned import days_from_today
from tests.sync.conftest import ACTOR, Fleet


def test_an_imported_open_loan_adopts_the_existing_account(adopted: Fleet, tmp_path: Path) -> None:
    directory = adopted.sandbox.directory()
    directory.users().insert(
        body={
            "primaryEmail": "sara.janssens@example.org",
            "name": {"givenName": "Sara", "familyName": "Janssens"},
            "password": "a long first password",
            "orgUnitPath": "/",
        }
    ).execute()
    users_before = len(directory.users().list(customer="my_customer").execute().get("users", []))
    first, second = adopted.serials()[:2]
    until = days_from_today(30).isoformat()
    text = (
        "serial,borrower_id,given_name,family_name,region,checked_out,agreed_end,account_email\n"
        f"{first},B-71,Sara,Janssens,Antwerpen,2026-08-20,{until},sara.janssens@example.org\n"
        f"{second},B-72,Tom,Wouters,Antwerpen,2026-08-21,{until},tom.wouters@example.org\n"
    )
    with adopted.ledger.transaction() as session:
        import_loans(
            session,
            parse_loans_csv(text, regions=adopted.settings.regions),
            programme=adopted.programme,
            actor=ACTOR,
        )
    report = adopted.sync(force=True)
    # Sara's account is taken over (moved to the students' org unit of her region), not created
    # again; Tom's address does not exist in Google: nothing is created for it.
    sara = adopted.account("sara.janssens@example.org")
    assert sara is not None
    assert sara["orgUnitPath"] == "/Students/Antwerpen"
    assert adopted.account("tom.wouters@example.org") is None
    users_after = len(directory.users().list(customer="my_customer").execute().get("users", []))
    assert users_after == users_before
    assert adopted.device(first)["orgUnitPath"] == "/Chromebooks/On loan"
    kinds = [f.kind for f in report.plan.findings]
    assert kinds.count("adopt_missing") == 1
    status = json.loads(run_cli("status", "--json", "--config", str(adopted.config_path)).stdout)
    [missing] = [a for a in status["attention"] if a["kind"] == "adopt_missing"]
    assert missing["target"] == "tom.wouters@example.org"
    assert "does not exist in Google" in missing["message"]
