"""config/fleetsync.example.toml documents every setting, and what it shows is valid.

A setting is documented when the example sets it, or shows it commented out (``# name = value``,
under its table, itself perhaps commented out: ``# [api.desks.antwerpen]``). Uncommenting every
such line gives the "everything set" variant of the example, which must load as well: a
commented-out example value that fleetsync would refuse documents nothing.
"""

from __future__ import annotations

import re
import tomllib
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import pytest
from pydantic import BaseModel

from fleetsync.settings import Settings, load_settings
from tests.deploy.files import ROOT

EXAMPLE = ROOT / "config" / "fleetsync.example.toml"
#: ``# name = value`` and ``# [table]`` / ``# [[array]]``: an example, not prose.
COMMENTED_SETTING = re.compile(
    r"^# ?((?:\[\[?[A-Za-z0-9_.]+\]\]?)|(?:[a-z_][a-z0-9_]*\s*=\s*\S.*))$"
)
#: In a setting's path, any key of a mapping (``[api.desks.<desk>]``) and any element of a list.
ANY_KEY, ANY_ITEM = "<key>", "<item>"


def uncommented(text: str) -> str:
    return "\n".join(
        match[1] if (match := COMMENTED_SETTING.match(line)) else line for line in text.splitlines()
    )


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _models(arg)]


def _container(annotation: Any) -> str | None:
    """``ANY_KEY`` for a mapping of sections, ``ANY_ITEM`` for a list of them, else None."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        kinds = {_container(arg) for arg in get_args(annotation)} - {None}
        return kinds.pop() if kinds else None
    if origin is dict:
        return ANY_KEY
    if origin in (tuple, list):
        return ANY_ITEM
    return None


def setting_paths(
    model: type[BaseModel], prefix: tuple[str, ...] = (), seen: frozenset[type] = frozenset()
) -> Iterator[tuple[str, ...]]:
    """Every setting of ``model``, recursively: ``("google", "quota", "queries_per_minute")``,
    ``("api", "desks", ANY_KEY, "token")``, ``("policies", ANY_ITEM, "bookmarks", ...)``."""
    seen = seen | {model}
    for name, field in model.model_fields.items():
        path = (*prefix, name)
        nested = [m for m in _models(field.annotation) if m not in seen]
        if not nested:
            yield path  # a value (or a recursive section: a bookmark folder's entries)
            continue
        container = _container(field.annotation)
        inner = (*path, container) if container else path
        for section in nested:
            yield from setting_paths(section, inner, seen)


def shows(data: Any, path: tuple[str, ...]) -> bool:
    if not path:
        return True
    head, rest = path[0], path[1:]
    if head == ANY_KEY:
        return isinstance(data, dict) and any(shows(value, rest) for value in data.values())
    if head == ANY_ITEM:
        return isinstance(data, list) and any(shows(item, rest) for item in data)
    return isinstance(data, dict) and head in data and shows(data[head], rest)


def test_the_walk_reaches_into_every_kind_of_section() -> None:
    # The test below is only as good as this list: sections, mappings and lists of sections.
    paths = set(setting_paths(Settings))
    assert ("google", "quota", "device_writes_per_minute") in paths
    assert ("api", "desks", ANY_KEY, "secrets") in paths
    assert ("policies", ANY_ITEM, "bookmarks", ANY_ITEM, "entries") in paths
    assert ("policies", ANY_ITEM, "apps", ANY_ITEM, "install_type") in paths
    assert ("safety", "deprovisions", "per_day") in paths
    assert ("data_dir",) in paths


def test_every_setting_is_documented_in_the_example() -> None:
    shown = tomllib.loads(uncommented(EXAMPLE.read_text()))
    missing = [".".join(path) for path in setting_paths(Settings) if not shows(shown, path)]
    assert not missing, f"config/fleetsync.example.toml does not document: {', '.join(missing)}"


def test_the_example_with_everything_uncommented_loads(tmp_path: Path) -> None:
    # (The example as shipped loads too: tests/test_settings.py.)
    everything = tmp_path / "everything.toml"
    everything.write_text(uncommented(EXAMPLE.read_text()))
    settings = load_settings(everything)
    assert settings.database_url is not None
    assert settings.data_dir == Path("/var/lib/fleetsync")
    assert set(settings.api.desks) == {"antwerpen"}


@pytest.mark.parametrize(
    ("line", "setting"),
    [
        ("# data_dir = '/var/lib/fleetsync'", "data_dir = '/var/lib/fleetsync'"),
        ("# [api.desks.antwerpen]", "[api.desks.antwerpen]"),
        ("# Days after a return before the account is deleted.", None),
        ("# auto (JSON lines when not on a terminal) | json | console", None),
    ],
)
def test_only_commented_settings_are_uncommented(line: str, setting: str | None) -> None:
    assert uncommented(line) == (setting if setting is not None else line)
