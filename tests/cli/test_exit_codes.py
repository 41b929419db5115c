"""Every command's failure paths end with the exit code README.md's table gives them: 2 for
usage and configuration (bad input, a missing file, a port in use: tests/cli/test_ports.py),
3 for a lifecycle refusal, 4 for something not found; and the table and `--help` agree."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from fleetsync.cli._context import EXIT_CODES_HELP, ExitCode
from tests.cli_runner import CliResult, run_cli
from tests.pinned import days_from_today

ROOT = Path(__file__).resolve().parents[2]
Cli = Callable[..., CliResult]


def test_the_readme_table_and_the_help_agree() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = " ".join(readme.split("## Exit codes", 1)[1].split("\n\n")[1].split())
    documented = dict(re.findall(r"`(\d)` ([a-z ]+?)(?:,|\.|$| by)", table))
    assert {int(code) for code in documented} == {int(code) for code in ExitCode}
    assert documented["4"] == "not found"
    for code in ExitCode:
        assert f"{int(code)} " in EXIT_CODES_HELP


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    env = {
        "FLEETSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}",
        "FLEETSYNC_DATA_DIR": str(tmp_path / "data"),
    }

    def run(*args: str) -> CliResult:
        return run_cli(*args, env=env)

    stock = tmp_path / "devices.csv"
    stock.write_text(
        "serial,asset_tag,model,region,connectivity\n5CD1,CB-1,Acer C733,Antwerpen,wifi\n",
        encoding="utf-8",
    )
    assert run("device", "import", str(stock)).exit_code == 0
    lent = run("loan", "checkout", "CB-1", "--borrower-id", "B-1", "--given-name", "An",
               "--region", "Antwerpen", "--until", days_from_today(9).isoformat())  # fmt: skip
    assert lent.exit_code == 0, lent.output
    return run


FAILURES = [
    # usage and configuration: 2
    (("device", "list", "--no-such-option"), ExitCode.USAGE),
    (("device", "import", "/nonexistent/devices.csv"), ExitCode.USAGE),
    (("device", "list", "--state", "broken"), ExitCode.USAGE),
    (("loan", "extend", "CB-1", "--until", "31/02/2027"), ExitCode.USAGE),
    (("loan", "return"), ExitCode.USAGE),
    (("device", "retire", "CB-1"), ExitCode.USAGE),  # --reason is required
    (("report", "loans", "--from", "1960-01-01"), ExitCode.USAGE),
    (("db", "current", "--config", "/nonexistent/fleetsync.toml"), ExitCode.USAGE),
    (("sync",), ExitCode.USAGE),  # no Google connection configured
    # refused by a lifecycle rule: 3
    (("device", "retire", "CB-1", "--reason", "broken"), ExitCode.REFUSED),
    (("device", "reprovision", "CB-1"), ExitCode.REFUSED),
    (("device", "ready", "CB-1"), ExitCode.REFUSED),
    # not found: 4
    (("device", "show", "CB-404"), ExitCode.NOT_FOUND),
    (("device", "lost", "CB-404"), ExitCode.NOT_FOUND),
    (("loan", "show", "L-404"), ExitCode.NOT_FOUND),
    (("loan", "return", "CB-404"), ExitCode.NOT_FOUND),
]


@pytest.mark.parametrize(("args", "code"), FAILURES, ids=[" ".join(a) for a, _ in FAILURES])
def test_failure_paths_exit_as_the_table_says(
    cli: Cli, args: tuple[str, ...], code: ExitCode
) -> None:
    result = cli(*args)
    assert result.exit_code == int(code), result.output
    assert result.stderr.strip(), "a failure says why on stderr"
    assert "Traceback" not in result.output
