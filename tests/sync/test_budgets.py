"""Safety budgets (issue 12, item 6): per destructive kind, per hour and per day, counted in the
ledger across runs and processes. What a budget has no room for stays pending and is held back;
the rest of the work goes ahead; `fleetsync status` and `/metrics` say what is held and how to
release it. Against the sandbox, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from fleetsync import clock, services
from fleetsync.api.app import create_app
from fleetsync.domain.actions import Budget
from fleetsync.domain.safety import Limit, Spent
from fleetsync.ledger import budgets, open_ledger
from fleetsync.ledger.models import BudgetSpend, OutboxEntry
from fleetsync.sandbox.testing import running_sandbox
from fleetsync.settings import load_settings
from fleetsync.sync import drain_outbox
from tests.cli_runner import run_cli
from tests.sync.conftest import ACTOR, Fleet, make_fleet

#: Small budgets, so that a test meets them with a handful of devices.
TIGHT = {
    "powerwashes": {"per_hour": 3, "per_day": 10},
    "disables": {"per_hour": 2, "per_day": 3},
}
ADMIN_TOKEN = "budget-admin-token-0123456789abcdef"


@pytest.fixture
def tight(database_url: str, tmp_path: Path) -> Iterator[Fleet]:
    """The agency's fleet adopted, with tight powerwash and disable budgets."""
    with running_sandbox(tmp_path / "sandbox", fleet="agency") as sandbox:
        for fleet in make_fleet(
            sandbox,
            tmp_path,
            database_url,
            safety=TIGHT,
            api={"admin_tokens": [ADMIN_TOKEN]},
        ):
            assert fleet.sync(adopt=True).status == "converged"
            yield fleet


def _drain(fleet: Fleet) -> int:
    return drain_outbox(
        fleet.ledger, fleet.settings, google=fleet.google, programme=fleet.programme
    )


def _pending(fleet: Fleet) -> dict[str, datetime | None]:
    """The outbox entries still pending, by device serial or borrower id: their retry_after."""
    with fleet.ledger.read() as session:
        rows = session.execute(
            sa.select(OutboxEntry.entity_key, OutboxEntry.retry_after).where(
                OutboxEntry.done_at.is_(None)
            )
        ).all()
    return dict(rows)


def _status(fleet: Fleet) -> dict[str, Any]:
    result = run_cli("status", "--json", "--config", str(fleet.config_path))
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _budget(fleet: Fleet, name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [b for b in _status(fleet)["budgets"] if b["budget"] == name]
    assert len(found) == 1
    return found[0]


def _an_hour_passes(fleet: Fleet) -> None:
    """The ledger's clock for budgets: what was spent, and when held work may retry, moves an
    hour and a minute into the past (as the retention tests age the ledger's dates)."""
    back = timedelta(hours=1, minutes=1)
    with fleet.ledger.transaction() as session:
        for row in session.scalars(sa.select(BudgetSpend)):
            row.at -= back
        for entry in session.scalars(
            sa.select(OutboxEntry).where(OutboxEntry.retry_after.is_not(None))
        ):
            assert entry.retry_after is not None
            entry.retry_after -= back


def test_a_burst_of_returns_spends_the_budget_and_the_rest_stays_pending_not_done(
    tight: Fleet,
) -> None:
    serials = tight.lent_and_returned(5)  # accounts made by a forced sync: not counted
    assert _drain(tight) == 20  # each checkout and return woke its device and its borrower

    washed = [s for s in serials if tight.commands(s)]
    assert washed == serials[:3]
    # The non-destructive part went ahead for every one: in refurbishment, accounts suspended.
    assert {tight.device(s)["orgUnitPath"] for s in serials} == {"/Chromebooks/Refurbishment"}
    # The held devices' entries are pending, never marked done, waiting for the budget's room.
    pending = _pending(tight)
    assert set(pending) == set(serials[3:])
    assert all(when is not None and when > clock.now() for when in pending.values())
    assert _drain(tight) == 0  # no retry before the window has room

    held = _budget(tight, "powerwashes")
    assert (held["held"], held["spent_hour"], held["per_hour"]) == (2, 3, 3)
    assert held["examples"] == serials[3:]
    assert held["release"] == "fleetsync sync --force-budget powerwashes"
    human = run_cli("status", "--config", str(tight.config_path)).stdout
    assert "2 devices held back by the powerwashes budget" in human
    assert "fleetsync sync --force-budget powerwashes" in human

    # A person releases it: the held powerwashes go out, nothing is held any more.
    released = run_cli(
        "sync", "--force-budget", "powerwashes", "--json", "--config", str(tight.config_path)
    )
    assert released.exit_code == 0, released.output
    assert [s for s in serials if tight.commands(s)] == serials
    assert _budget(tight, "powerwashes")["held"] == 0
    # Their entries are drained now (nothing left to do for them) and done.
    assert all(when is None for when in _pending(tight).values())
    assert _drain(tight) >= 2
    assert _pending(tight) == {}
    assert all(len(tight.commands(s)) == 1 for s in serials)


def test_paced_events_do_not_slip_past_the_budget_across_runs(tight: Fleet) -> None:
    serials = tight.serials()[:4]
    for serial in serials:  # one at a time, each drained by its own targeted reconcile
        with tight.ledger.transaction() as session:
            services.mark_lost(session, device=serial, actor=ACTOR)
        _drain(tight)
    assert [tight.device(s)["status"] for s in serials] == ["DISABLED"] * 2 + ["ACTIVE"] * 2
    assert {tight.device(s)["orgUnitPath"] for s in serials} == {"/Chromebooks/Lost"}
    # A full reconcile counts the same budget: it holds them back too, and does the rest.
    full = tight.sync()
    assert (full.status, full.held) == ("converged", {Budget.DISABLES: serials[2:]})
    assert set(_pending(tight)) == set(serials[2:])

    # An hour later the hourly window has room again, the daily one (3) for one more device.
    _an_hour_passes(tight)
    assert _drain(tight) == 2
    assert [tight.device(s)["status"] for s in serials] == ["DISABLED"] * 3 + ["ACTIVE"]
    state = _budget(tight, "disables")
    assert (state["spent_hour"], state["spent_day"], state["held"]) == (1, 3, 1)
    assert set(_pending(tight)) == {serials[3]}


def test_metrics_say_what_each_budget_spent_and_holds(tight: Fleet) -> None:
    serials = tight.serials()[:3]
    for serial in serials:
        with tight.ledger.transaction() as session:
            services.mark_lost(session, device=serial, actor=ACTOR)
    tight.sync()
    with TestClient(create_app(tight.settings, tight.ledger)) as client:
        text = client.get("/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).text
    lines = set(text.splitlines())
    assert 'fleetsync_budget_held{budget="disables"} 1.0' in lines
    assert 'fleetsync_budget_spent{budget="disables",window="hour"} 2.0' in lines
    assert 'fleetsync_budget_limit{budget="disables",window="day"} 3.0' in lines
    assert 'fleetsync_budget_held{budget="powerwashes"} 0.0' in lines


def test_concurrent_spenders_on_separate_connections_never_overspend(
    database_url: str, tmp_path: Path
) -> None:
    """What two processes do: each its own engine and connection, all at once."""
    config = tmp_path / "fleetsync.toml"
    config.write_text(f'database_url = "{database_url}"\n')
    settings = load_settings(config)
    limits = {budget: Limit(per_hour=3, per_day=3) for budget in Budget}
    start = threading.Barrier(8)
    granted: list[str] = []

    def spender(number: int) -> None:
        with open_ledger(settings) as ledger:
            start.wait()
            with ledger.transaction() as session:
                got = budgets.spend(
                    session, Budget.DISABLES, [f"S{number}"], limits=limits, now=clock.now()
                )
            granted.extend(got)

    threads = [threading.Thread(target=spender, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 3
    with open_ledger(settings) as ledger, ledger.read() as session:
        assert budgets.spent(session, now=clock.now())[Budget.DISABLES].hour == 3
        assert session.scalar(sa.select(sa.func.count()).select_from(BudgetSpend)) == 3


_SPENDER = """
import sys
from fleetsync import clock
from fleetsync.domain.actions import Budget
from fleetsync.domain.safety import Limit, Spent
from fleetsync.ledger import budgets, open_ledger
from fleetsync.settings import load_settings

settings = load_settings()
limits = {budget: Limit(per_hour=5, per_day=5) for budget in Budget}
granted = 0
with open_ledger(settings) as ledger:
    for i in range(3):
        with ledger.transaction() as session:
            got = budgets.spend(session, Budget.POWERWASHES, [sys.argv[1] + str(i)],
                                limits=limits, now=clock.now())
        granted += len(got)
print(granted)
"""


@pytest.mark.processes
def test_processes_spending_at_once_share_one_budget(database_url: str, tmp_path: Path) -> None:
    config = tmp_path / "fleetsync.toml"
    config.write_text(f'database_url = "{database_url}"\n')
    with open_ledger(load_settings(config)):
        pass  # the schema, made once
    env = {**os.environ, "FLEETSYNC_CONFIG": str(config)}
    spenders = [
        subprocess.Popen(
            [sys.executable, "-c", _SPENDER, f"P{n}-"], env=env, stdout=subprocess.PIPE, text=True
        )
        for n in range(4)
    ]
    granted = [int(p.communicate(timeout=120)[0].strip() or -1) for p in spenders]
    assert all(p.returncode == 0 for p in spenders)
    assert sum(granted) == 5, granted
    with open_ledger(load_settings(config)) as ledger, ledger.read() as session:
        assert budgets.spent(session, now=clock.now())[Budget.POWERWASHES] == Spent(5, 5)
