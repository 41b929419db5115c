"""Every command explains itself: help text, options with help, --config, and the exit codes."""

from __future__ import annotations

from typing import Any

import pytest
import typer

from fleetsync.cli import COMMANDS, app
from tests.cli_runner import run_cli


def _walk(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    # Through list_commands/get_command: the top-level commands are loaded when asked for.
    found = [(path, command)]
    if hasattr(command, "list_commands"):
        context = typer.Context(command)
        for name in sorted(command.list_commands(context)):
            found.extend(_walk(command.get_command(context, name), (*path, name)))
    return found


ALL_COMMANDS = _walk(typer.main.get_command(app))
LEAVES = [(p, c) for p, c in ALL_COMMANDS if not hasattr(c, "list_commands")]


def _name(path: tuple[str, ...]) -> str:
    return " ".join(("fleetsync", *path))


@pytest.mark.parametrize(("path", "command"), ALL_COMMANDS, ids=[_name(p) for p, _ in ALL_COMMANDS])
def test_every_command_has_help(path: tuple[str, ...], command: Any) -> None:
    assert (command.help or "").strip(), f"`{_name(path)}` has no help text"
    result = run_cli(*path, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout
    for param in command.params:
        if getattr(param, "param_type_name", "") == "option" and not param.hidden:
            assert param.help, f"option {param.opts} of `{_name(path)}` has no help text"


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=[_name(p) for p, _ in LEAVES])
def test_every_command_takes_config(path: tuple[str, ...], command: Any) -> None:
    options = {opt for param in command.params for opt in param.opts}
    assert "--config" in options, (
        f"`{_name(path)}` has no --config: add `config: ConfigOption = None`"
    )


def test_top_level_help_documents_exit_codes() -> None:
    text = " ".join(run_cli("--help").stdout.replace("│", " ").split())
    assert "3 refused" in text
    assert "4 not found" in text


def test_version() -> None:
    result = run_cli("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("fleetsync ")


def test_the_listing_names_every_command_with_its_registered_summary() -> None:
    # `fleetsync --help` lists the commands from fleetsync.cli.COMMANDS without importing them.
    text = " ".join(run_cli("--help").stdout.replace("│", " ").split())
    for name, lazy in COMMANDS.items():
        assert f"{name} {lazy.summary}" in text


def test_flags_show_no_metavar() -> None:
    # Typer's panels show `<bool>` after every flag, which takes no value.
    for path, _command in ALL_COMMANDS:
        text = run_cli(*path, "--help").stdout
        assert "<bool>" not in text, f"`{_name(path)} --help` shows <bool>"
    assert "--update" in run_cli("device", "import", "--help").stdout
