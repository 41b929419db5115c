"""``fleetsync init``: start a programme in a directory: a commented config and its ledger."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from fleetsync.cli._context import console, get_settings
from fleetsync.settings import ConfigError

__all__ = ["example_config", "init_command"]

#: Where the example lives in a source checkout; a wheel carries it inside the package.
_SOURCE_EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "fleetsync.example.toml"
_DATA_DIR_LINE = re.compile(r"^# data_dir = .*$", re.MULTILINE)


def example_config() -> str:
    """``config/fleetsync.example.toml``: every setting, commented."""
    packaged = resources.files("fleetsync").joinpath("fleetsync.example.toml")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return _SOURCE_EXAMPLE.read_text(encoding="utf-8")


def init_command(
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="[DIR]",
            file_okay=False,
            help="The programme's directory: DIR/config/fleetsync.toml and the ledger in "
            "DIR/data. Default: the current directory.",
            show_default=False,
        ),
    ] = Path(),
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            dir_okay=False,
            metavar="PATH",
            help="Write the config here instead of DIR/config/fleetsync.toml (the ledger then "
            "goes in a data/ directory beside it).",
        ),
    ] = None,
) -> None:
    """Start a programme: write a commented config (every setting, with its default) and create
    its SQLite ledger, empty.

    fleetsync finds DIR/config/fleetsync.toml when run from DIR; from anywhere else pass
    `--config` or set FLEETSYNC_CONFIG. Never overwrites a config (exit 2 when one exists).
    """
    path = config if config is not None else directory / "config" / "fleetsync.toml"
    if path.exists():
        raise ConfigError(
            f"{path} exists already: fleetsync init never overwrites a config. Edit it (see "
            f"`fleetsync config show --config {path}`), or init another directory"
        )
    data_dir = "data" if config is not None else "../data"
    header = (
        "# Written by `fleetsync init`. Edit [google] (the key file and the admin to act as),\n"
        "# [accounts] domain and the regions, then run `fleetsync config check --online`.\n\n"
    )
    text = _DATA_DIR_LINE.sub(
        f'data_dir = "{data_dir}"', example_config().replace(
            "# fleetsync configuration: every setting", header + "# Every setting", 1
        ), count=1
    )  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as out:
            out.write(text)
        settings = get_settings(path)
        from fleetsync.ledger import open_ledger

        with open_ledger(settings):
            pass
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    shown = path if path.is_absolute() else Path(".") / path
    console.print(f"wrote {shown} (every setting, commented)", highlight=False)
    console.print(f"created the ledger {settings.display_database_url}", highlight=False)
    here = (path.parent.parent.resolve() == Path.cwd().resolve()) and config is None
    use = "" if here else f" --config {path}"
    console.print(
        "next:\n"
        f"  edit {path}: [google] key_file and admin_subject, [accounts] domain, regions\n"
        f"  fleetsync config check --online{use}   # proves the service account may do its work\n"
        f"  fleetsync device import devices.csv{use}\n"
        f"  fleetsync sync --adopt{use}            # take the devices in Google into the ledger\n"
        "or rehearse first on a local stand-in for Google: fleetsync sandbox serve --help",
        highlight=False,
    )
