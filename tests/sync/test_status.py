"""``fleetsync status`` and ``fleetsync config check --online``, against the sandbox."""

from __future__ import annotations

import json

from fleetsync import services
from fleetsync.settings import GOOGLE_SCOPES
from tests.cli_runner import run_cli
from tests.sync.conftest import ACTOR, Fleet


def _status(fleet: Fleet) -> dict[str, object]:
    result = run_cli("status", "--json", "--config", str(fleet.config_path))
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_status_shows_the_fleet_the_last_reconcile_and_the_outbox(adopted: Fleet) -> None:
    serial = adopted.serials()[0]
    adopted.checkout(serial, "B-1")
    status = _status(adopted)
    assert status["fleet"] == {
        "Antwerpen": {"spare": 229, "on_loan": 1},
        "Brussel": {"spare": 200},
        "Limburg": {"spare": 110},
        "Oost-Vlaanderen": {"spare": 190},
        "Vlaams-Brabant": {"spare": 120},
        "West-Vlaanderen": {"spare": 150},
    }
    last = status["last_full_reconcile"]
    assert isinstance(last, dict)
    assert last["status"] == "converged"
    assert last["planned"]["adopt_device"] == 1000
    assert status["outbox"] == {"pending": 2, "oldest": status["outbox"]["oldest"]}  # type: ignore[index]
    assert status["attention"] == []

    human = run_cli("status", "--config", str(adopted.config_path))
    assert "Antwerpen" in human.stdout
    assert "nothing needs a person" in human.stdout
    assert "daemons: none running, and none has run on this ledger" in human.stdout
    assert "next reconcile: none, no daemon is running" in human.stdout


def test_status_lists_what_needs_a_person(adopted: Fleet) -> None:
    for serial in adopted.serials()[:30]:
        with adopted.ledger.transaction() as session:
            services.mark_lost(session, device=serial, actor=ACTOR)
    adopted.sync()  # 25 disabled, 5 held back by the disables budget
    attention = _status(adopted)["attention"]
    assert isinstance(attention, list)
    assert attention[0]["kind"] == "held"
    assert "5 devices held back by the disables budget" in attention[0]["message"]
    assert "25/25 spent this hour" in attention[0]["message"]

    human = run_cli("status", "--config", str(adopted.config_path)).stdout
    assert "needs a person (1)" in human
    assert "fleetsync sync --force-budget disables" in human


def test_config_check_online_names_a_scope_that_is_not_delegated(fleet: Fleet) -> None:
    ok = run_cli("config", "check", "--online", "--json", "--config", str(fleet.config_path))
    assert ok.exit_code == 0
    assert [c["ok"] for c in json.loads(ok.stdout)["online"]] == [True] * 4

    fleet.sandbox.control.delegated_scopes([s for s in GOOGLE_SCOPES if "orgunit" not in s])
    refused = run_cli("config", "check", "--online", "--config", str(fleet.config_path))
    assert refused.exit_code == 2
    assert "✗ https://www.googleapis.com/auth/admin.directory.orgunit" in refused.stdout
    assert "domain-wide delegation" in refused.stdout
    assert "✓ https://www.googleapis.com/auth/admin.directory.user" in refused.stdout
