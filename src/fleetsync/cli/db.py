"""``fleetsync db``: the ledger's schema. Also how the other command groups open the ledger and
say who acts (``cli:<OS user>`` in the audit trail)."""

from __future__ import annotations

import getpass
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from fleetsync.cli._context import (
    EXIT_CODES_HELP,
    ConfigOption,
    JsonOption,
    console,
    get_settings,
    print_json,
)
from fleetsync.settings import ConfigError, Settings, config_path, default_data_dir

if TYPE_CHECKING:
    from fleetsync.ledger import Ledger

__all__ = ["app", "cli_actor", "ledger_settings", "opened_ledger"]

app = typer.Typer(
    help="The ledger's database: apply migrations, see the schema version.\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
)


def cli_actor() -> str:
    """``cli:<OS user>``: who the audit trail says acted."""
    try:
        user = getpass.getuser()
    except OSError:  # no login name and no passwd entry (some containers)
        user = "unknown"
    return "cli:" + (re.sub(r"\s+", "_", user.strip())[:90] or "unknown")


def ledger_settings(config: Path | None) -> Settings:
    """The settings of a command that reads or writes the ledger.

    Without a config file (no --config, no FLEETSYNC_CONFIG, no ./config/fleetsync.toml) and
    without a ledger named in the environment, fleetsync would open (and create) an empty ledger
    in the default data directory, and a technician would conclude the fleet is empty: unless
    that ledger exists already, the command stops and says what it would use and how to start.
    """
    settings = get_settings(config)
    if config_path(config) is not None or settings.database_url is not None:
        return settings
    default = default_data_dir()
    ledger = default / "fleetsync.db"
    if settings.data_dir != default or ledger.exists():
        return settings
    raise ConfigError(
        "no configuration found: no --config, no FLEETSYNC_CONFIG, and no "
        f"config/fleetsync.toml in {Path.cwd()}. With the built-in defaults fleetsync would "
        f"use a new, empty ledger at {ledger}. Start a programme with `fleetsync init [DIR]` "
        "(writes DIR/config/fleetsync.toml and creates its ledger), or pass --config PATH "
        "(e.g. the one `fleetsync sandbox serve --write-config` wrote)"
    )


@contextmanager
def opened_ledger(config: Path | None) -> Iterator[tuple[Settings, Ledger]]:
    """The settings and the open ledger (migrated), closed when the command ends."""
    from fleetsync.ledger import open_ledger

    settings = ledger_settings(config)
    with open_ledger(settings) as ledger:
        yield settings, ledger


@app.command("upgrade")
def upgrade(as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Apply the migrations the ledger lacks (every command also does this when it opens the
    ledger). Safe to run on several replicas at once."""
    from fleetsync.ledger import migrate, open_ledger

    settings = ledger_settings(config)
    with open_ledger(settings, upgrade=False) as ledger:
        before = migrate.upgrade(ledger.engine)
        after = migrate.schema_version(ledger.engine)
    result = {
        "database": settings.display_database_url,
        "from": before,
        "to": after.current,
        "changed": before != after.current,
    }
    if as_json:
        print_json(result)
    elif result["changed"]:
        console.print(
            f"ledger {settings.display_database_url}: migrated from {before or '(empty)'} to "
            f"{after.current}",
            highlight=False,
        )
    else:
        console.print(
            f"ledger {settings.display_database_url}: already at {after.current}", highlight=False
        )


@app.command("current")
def current(as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Show the ledger's schema version and the one this fleetsync brings (changes nothing)."""
    from fleetsync.ledger import migrate, open_ledger

    settings = ledger_settings(config)
    with open_ledger(settings, upgrade=False) as ledger:
        version = migrate.schema_version(ledger.engine)
    if as_json:
        print_json(
            {
                "database": settings.display_database_url,
                "current": version.current,
                "head": version.head,
                "up_to_date": version.up_to_date,
            }
        )
        return
    state = "up to date" if version.up_to_date else "behind: run `fleetsync db upgrade`"
    console.print(
        f"ledger {settings.display_database_url}: schema {version.current or '(empty)'}, "
        f"this fleetsync brings {version.head} ({state})",
        highlight=False,
    )
