"""A port in use is a configuration error (exit 2) that names the port and how to choose another,
for every command that listens: `serve`, `daemon`, `sandbox serve` and `demo`."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_runner import run_cli


@pytest.fixture
def taken() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield int(other.getsockname()[1])


def _free() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("command", "option"),
    [(("serve",), "--port"), (("daemon",), "--port")],
)
def test_the_api_port_in_use(
    taken: int, tmp_path: Path, command: tuple[str, ...], option: str
) -> None:
    env = {
        "FLEETSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}",
        "FLEETSYNC_DATA_DIR": str(tmp_path),
    }
    result = run_cli(*command, "--port", str(taken), env=env)
    assert result.exit_code == 2, result.output
    message = " ".join(result.stderr.split())
    assert f"cannot listen on 127.0.0.1:{taken}: port {taken} is in use" in message
    assert f"choose another port with {option}" in message
    assert "Traceback" not in result.output


def test_the_sandbox_port_in_use(taken: int) -> None:
    result = run_cli("sandbox", "serve", "--port", str(taken))
    assert result.exit_code == 2, result.output
    assert f"cannot listen on 127.0.0.1:{taken}" in result.stderr
    assert "choose another port with --port" in " ".join(result.stderr.split())


def test_the_demo_ports_in_use(taken: int, tmp_path: Path) -> None:
    api = run_cli("demo", "--dir", str(tmp_path / "d1"), "--port", str(taken))
    assert api.exit_code == 2, api.output
    assert f"port {taken} is in use" in api.stderr
    assert not (tmp_path / "d1").exists()  # nothing written
    sandbox = run_cli(
        "demo", "--dir", str(tmp_path / "d2"), "--port", str(_free()),
        "--sandbox-port", str(taken),
    )  # fmt: skip
    assert sandbox.exit_code == 2, sandbox.output
    assert "choose another port with --sandbox-port" in " ".join(sandbox.stderr.split())


def test_the_demo_never_empties_a_directory_that_is_not_its_own(tmp_path: Path) -> None:
    mine = tmp_path / "notes.txt"
    mine.write_text("mine", encoding="utf-8")
    for extra in ((), ("--reset",)):
        result = run_cli("demo", "--dir", str(tmp_path), "--port", str(_free()), *extra)
        assert result.exit_code == 2, result.output
        assert "not a fleetsync demo's" in result.stderr
        assert mine.read_text(encoding="utf-8") == "mine"
