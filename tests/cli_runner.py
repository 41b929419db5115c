"""Run the ``fleetsync`` CLI in-process, as a user would type it, and see what they would see."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from typer.testing import CliRunner

from fleetsync.cli import app

__all__ = ["CliResult", "run_cli"]


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(
    *args: str, env: Mapping[str, str] | None = None, input: str | None = None
) -> CliResult:
    """``run_cli("device", "list", "--json")``: exit code, stdout and stderr kept apart."""
    result = CliRunner().invoke(
        app,
        list(args),
        env=dict(env or {}),
        input=input,
        catch_exceptions=False,
        prog_name="fleetsync",
    )
    return CliResult(result.exit_code, result.stdout, result.stderr)
