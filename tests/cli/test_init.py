"""The first command a newcomer runs: without a config fleetsync says what it would use and how
to start, instead of opening an empty ledger; `fleetsync init` starts a programme."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from fleetsync.settings import load_settings
from tests.cli_runner import run_cli


@pytest.fixture
def bare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A working directory without config/, and a home without a fleetsync ledger."""
    for name in ("FLEETSYNC_CONFIG", "FLEETSYNC_DATABASE_URL", "FLEETSYNC_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return {"XDG_DATA_HOME": str(tmp_path / "xdg")}


@pytest.mark.parametrize(
    "command",
    [
        ("device", "list"),
        ("status",),
        ("loan", "list"),
        ("device", "show", "CB-1"),
        ("db", "current"),
        ("report", "fleet"),
    ],
)
def test_without_a_config_ledger_commands_say_what_they_would_use(
    bare: dict[str, str], tmp_path: Path, command: tuple[str, ...]
) -> None:
    result = run_cli(*command, env=bare)
    assert result.exit_code == 2, result.output
    ledger = tmp_path / "xdg" / "fleetsync" / "fleetsync.db"
    message = " ".join(result.stderr.split())
    assert "no configuration found" in message
    assert str(ledger) in message
    assert "fleetsync init" in message
    assert "--config" in message
    assert result.stdout == ""  # never an empty list that reads as an empty fleet
    assert not ledger.exists()


def test_a_default_ledger_that_exists_is_used(bare: dict[str, str], tmp_path: Path) -> None:
    # Someone who chose the built-in defaults on purpose keeps working without a config.
    first = run_cli("init", "--config", str(tmp_path / "xdg" / "fleetsync" / "x.toml"), env=bare)
    assert first.exit_code == 0, first.output
    (tmp_path / "xdg" / "fleetsync" / "data" / "fleetsync.db").rename(
        tmp_path / "xdg" / "fleetsync" / "fleetsync.db"
    )
    result = run_cli("device", "list", "--format", "json", env=bare)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []


def test_init_writes_a_commented_config_and_creates_the_ledger(
    bare: dict[str, str], tmp_path: Path
) -> None:
    result = run_cli("init", "programme", env=bare)
    assert result.exit_code == 0, result.output
    config = Path("programme/config/fleetsync.toml")
    text = config.read_text(encoding="utf-8")
    assert text.startswith("# Written by `fleetsync init`")
    assert "# [api.desks." in text or "[api" in text  # the example's sections, commented
    assert tomllib.loads(text)["data_dir"] == "../data"
    settings = load_settings(config)
    assert settings.data_dir == (tmp_path / "work" / "programme" / "data").resolve()
    assert Path("programme/data/fleetsync.db").is_file()
    assert f"created the ledger {settings.display_database_url}" in result.stdout
    assert "fleetsync config check --online --config programme/config/fleetsync.toml" in (
        result.stdout
    )
    # From the programme's directory every command finds it without --config.
    import os

    os.chdir("programme")
    listed = run_cli("device", "list", "--format", "json", env=bare)
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout) == []


def test_init_never_overwrites_a_config(bare: dict[str, str]) -> None:
    assert run_cli("init", env=bare).exit_code == 0
    config = Path("config/fleetsync.toml")
    config.write_text('regions = ["Gent"]\n', encoding="utf-8")
    again = run_cli("init", env=bare)
    assert again.exit_code == 2
    assert "never overwrites" in again.stderr
    assert config.read_text(encoding="utf-8") == 'regions = ["Gent"]\n'
