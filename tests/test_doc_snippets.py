"""The docs' snippets work as given.

- The Python snippets run: the webhook-signing snippet of docs/api.md signs and delivers a
  checkout to a real fleetsync API (only its secret, its URL and its clock are the test's), and
  docs/sandbox.md's Python snippet starts a sandbox and drives it.
- Every `fleetsync ...` command line in a shell snippet of README.md and docs/*.md names a
  command that exists and options that command takes (commands that run for a while, or need a
  real tenant, are not run: this is what keeps them from drifting).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import typer

from fleetsync.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def snippets(path: Path, language: str) -> list[str]:
    return [body for lang, body in _BLOCK.findall(path.read_text(encoding="utf-8"))
            if lang == language]  # fmt: skip


def python_snippet(path: Path, containing: str) -> str:
    [found] = [s for s in snippets(path, "python") if containing in s]
    return found


# ------------------------------------------------------------------------- shell snippets
def _command_lines(path: Path) -> Iterator[tuple[str, list[str]]]:
    for body in snippets(path, "sh"):
        for line in body.replace("\\\n", " ").splitlines():
            line = line.split(" # ")[0].split("  #")[0].strip()
            for part in re.split(r"\s*(?:&&|\|\||;|\|)\s*", line):
                words = shlex.split(part, comments=True) if part else []
                for index, word in enumerate(words):
                    after_option = (
                        index > 0
                        and words[index - 1].startswith("-")
                        and (words[index - 1] != "--")
                    )
                    if (word == "fleetsync" or word.endswith("bin/fleetsync")) and not after_option:
                        yield line, words[index + 1 :]
                        break


def _all_command_lines() -> list[tuple[str, str, list[str]]]:
    return [(path.name, line, args) for path in DOCS for line, args in _command_lines(path)]


COMMAND_LINES = _all_command_lines()


def _resolve(args: list[str]) -> tuple[Any, list[str]]:
    """The command the words name, and the words left for it."""
    command: Any = typer.main.get_command(app)
    rest = list(args)
    while hasattr(command, "list_commands") and rest and not rest[0].startswith("-"):
        context = typer.Context(command)
        found = command.get_command(context, rest[0])
        assert found is not None, f"no command {rest[0]!r}"
        command, rest = found, rest[1:]
    return command, rest


def test_the_docs_have_command_lines() -> None:
    assert len(COMMAND_LINES) > 40
    assert {name for name, _, _ in COMMAND_LINES} >= {"README.md", "ledger.md", "sandbox.md"}


@pytest.mark.parametrize(
    ("doc", "line", "args"),
    COMMAND_LINES,
    ids=[f"{d}: {line[:60]}" for d, line, _ in COMMAND_LINES],
)
def test_every_documented_command_exists_with_its_options(
    doc: str, line: str, args: list[str]
) -> None:
    if not args or args[0] in ("...",):
        return
    command, rest = _resolve(args)
    options = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    options |= {"--help", "-h"}
    for word in rest:
        if word.startswith("-") and word != "-" and not re.fullmatch(r"-\d.*", word):
            name = word.split("=", 1)[0]
            assert name in options, f"{doc}: `{line}`: {name} is not an option of that command"


# ------------------------------------------------------------------------ Python snippets
def test_the_signing_snippet_delivers_a_checkout(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from fleetsync.api.app import create_app
    from fleetsync.ledger import open_ledger
    from fleetsync.ledger.models import Loan
    from tests.api.conftest import (
        Desk,
        add_devices,
        api_settings,
        mark_outbox_done,
        new_secret,
        serving,
    )
    from tests.pinned import TODAY

    desk = Desk("antwerpen", [new_secret()])
    admin = "an-admin-token-long-enough-for-the-rules"
    settings = api_settings(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path, [desk], admin)
    code = python_snippet(ROOT / "docs" / "api.md", "standardwebhooks")
    assert "httpx" not in code  # the install does not bring it
    assert "requests" not in code
    with open_ledger(settings) as ledger:
        add_devices(ledger, "5CD1234XYZ,CB-0001,Acer Chromebook 314,Antwerpen,4g")
        with serving(create_app(settings, ledger, drain=mark_outbox_done(ledger))) as url:
            # As written, but for the desk's secret, the server's URL and the run's day (the
            # signature's time is the machine's, as fleetsync checks it).
            runnable = (
                code.replace("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", desk.secrets[-1])
                .replace("https://fleetsync.example.org", url)
                .replace("date.today()", f"date.fromisoformat({TODAY.isoformat()!r})")
            )
            exec(compile(runnable, "docs/api.md", "exec"), {})  # noqa: S102 - the doc's own code
        printed = capsys.readouterr().out
        assert "\n202 {" in "\n" + printed  # what the snippet prints: the status and the answer
        with ledger.read() as session:
            [loan] = session.scalars(sa.select(Loan)).all()
            assert (loan.device.asset_tag, loan.borrower.desk_id) == ("CB-0001", "B-1017")


def test_the_sandbox_snippet_runs(tmp_path: Path) -> None:
    code = python_snippet(ROOT / "docs" / "sandbox.md", "running_sandbox")
    namespace: dict[str, Any] = {"tmp_path": tmp_path}
    exec(compile(code, "docs/sandbox.md", "exec"), namespace)  # noqa: S102 - the doc's own code
    assert namespace["config"].is_file()
    assert namespace["directory"] is not None
