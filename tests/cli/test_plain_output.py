"""What the command line prints is plain text: a value (an asset tag from Google, a name, a note)
is never read as Rich markup, whichever command prints it. One rule, held in one place (every
Console fleetsync makes has markup off) and checked here for every module, so that new output
cannot bring markup back."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import fleetsync

SOURCES = sorted(Path(fleetsync.__file__).parent.rglob("*.py"))
#: Rich's markup tags, as a string would spell them: "[bold]", "[red]...[/]", "[/X]".
_MARKUP = re.compile(r"\[(/?(bold|red|green|yellow|dim|italic|b|i)|/)\]")


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (getattr(node.func, "id", None) == name or getattr(node.func, "attr", None) == name)
    ]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SOURCES[0].parent)))
def test_every_console_prints_plain_text(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for call in _calls(tree, "Console"):
        markup = [
            k.value.value
            for k in call.keywords
            if k.arg == "markup" and isinstance(k.value, ast.Constant)
        ]
        assert markup == [False], (
            f"{path}:{call.lineno}: make the Console with markup=False; emphasis is a style on a "
            "rich.text.Text"
        )
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            assert not _MARKUP.search(node.value), (
                f"{path}:{node.lineno}: Rich markup in {node.value!r} would print as written; "
                "use rich.text.Text with a style"
            )
