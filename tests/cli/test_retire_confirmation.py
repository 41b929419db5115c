"""Retiring a device is irreversible: on a terminal fleetsync names the device and asks first;
`--yes` (or a script, which has no terminal) does not ask."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from fleetsync import clock
from tests.cli_runner import CliResult, run_cli
from tests.waiting import wait_until

pytestmark = pytest.mark.processes

Cli = Callable[..., CliResult]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {
        "FLEETSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}",
        "FLEETSYNC_DATA_DIR": str(tmp_path / "data"),
    }
    stock = tmp_path / "devices.csv"
    stock.write_text(
        "serial,asset_tag,model,region,connectivity\n"
        "5CD1,CB-1,Acer C733,Antwerpen,wifi\n5CD2,CB-2,Acer C733,Limburg,wifi\n",
        encoding="utf-8",
    )
    assert run_cli("device", "import", str(stock), env=env).exit_code == 0
    return env


def _on_a_terminal(env: dict[str, str], answer: str, *args: str) -> tuple[int, str]:
    """Run fleetsync with a pseudo-terminal for stdin and stdout; answer its question."""
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "fleetsync", *args],
        stdin=secondary, stdout=secondary, stderr=secondary,
        env={**os.environ, **env, clock.ENV: os.environ[clock.ENV]},
    )  # fmt: skip
    os.close(secondary)
    seen = b""

    def asked() -> bool:
        nonlocal seen
        seen += os.read(primary, 4096)
        return b"[y/N]" in seen

    try:
        wait_until(asked, what="the question [y/N]", interval=0)
        os.write(primary, answer.encode() + b"\n")
    except OSError:  # it ended without asking: the terminal closed with it
        pass
    code = process.wait(timeout=60)
    try:
        while chunk := os.read(primary, 4096):
            seen += chunk
    except OSError:  # the terminal closed with the process
        pass
    os.close(primary)
    return code, seen.decode(errors="replace")


def _state(env: dict[str, str], serial: str) -> str:
    return str(json.loads(run_cli("device", "show", serial, "--json", env=env).stdout)["state"])


def test_on_a_terminal_retire_names_the_device_and_asks(env: dict[str, str]) -> None:
    code, said = _on_a_terminal(env, "n", "device", "retire", "CB-1", "--reason", "board dead")
    assert "Retire 5CD1 (CB-1, Acer C733, Antwerpen, spare) for good?" in said
    assert code == 1
    assert "5CD1 is not retired: nothing changed" in said
    assert _state(env, "5CD1") == "spare"

    code, said = _on_a_terminal(env, "y", "device", "retire", "CB-1", "--reason", "board dead")
    assert code == 0, said
    assert _state(env, "5CD1") == "retired"


def test_yes_and_scripts_are_not_asked(env: dict[str, str]) -> None:
    code, said = _on_a_terminal(
        env, "", "device", "retire", "CB-2", "--reason", "board dead", "--yes"
    )
    assert code == 0, said
    assert "[y/N]" not in said
    assert _state(env, "5CD2") == "retired"
    # No terminal (a script, a pipe): not asked; --reason stays required.
    assert run_cli("device", "retire", "5CD1", env=env).exit_code == 2
    assert run_cli("device", "retire", "5CD1", "--reason", "dead", env=env).exit_code == 0
