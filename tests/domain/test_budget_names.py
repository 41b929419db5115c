"""The safety limits' names are one enum (issue 12, item 16): a name the config, the actions or
the planner spell otherwise is an error, never a limit silently switched off."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetsync.domain import actions
from fleetsync.domain.actions import Action, Budget
from fleetsync.domain.safety import Limit, Spent, check_budgets
from fleetsync.settings import ConfigError, SafetySettings, load_settings


def test_a_misspelt_limit_in_the_config_is_refused_with_the_known_names(tmp_path: Path) -> None:
    config = tmp_path / "fleetsync.toml"
    config.write_text("[safety.powerwashs]\nper_hour = 1\nper_day = 1\n")
    with pytest.raises(ConfigError) as refused:
        load_settings(config)
    message = str(refused.value)
    assert "'powerwashs'" in message
    assert "suspensions, deletions, powerwashes, disables, deprovisions" in message


def test_the_settings_hold_one_limit_per_budget_and_no_other() -> None:
    assert set(SafetySettings.model_fields) == {budget.value for budget in Budget}
    assert all(SafetySettings().of(budget).per_hour >= 0 for budget in Budget)


def test_every_destructive_action_names_a_budget() -> None:
    named = {
        cls.limit
        for cls in vars(actions).values()
        if isinstance(cls, type) and issubclass(cls, Action) and cls.limit is not None
    }
    assert named == set(Budget)
    assert all(isinstance(name, Budget) for name in named)


def test_a_limit_missing_for_a_budget_is_an_error_not_a_free_pass() -> None:
    wash = actions.IssuePowerwash(
        device=actions.TargetDevice("5CD1", "id-1"), request_id=1, reason="returned"
    )
    limits: dict[Budget, Limit] = {b: Limit(0, 0) for b in Budget if b is not Budget.POWERWASHES}
    with pytest.raises(KeyError):
        check_budgets([wash], limits, spent={})
    limits[Budget.POWERWASHES] = Limit(0, 0)
    kept, verdict = check_budgets([wash], limits, spent={Budget.POWERWASHES: Spent()})
    assert (kept, verdict.held[0].targets) == ((), ("5CD1",))
