"""``fleetsync config``: see and check the configuration."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from fleetsync.cli._context import (
    ConfigOption,
    ExitCode,
    JsonOption,
    console,
    get_settings,
    print_json,
)
from fleetsync.google.checks import check_online
from fleetsync.google.keyfile import read_key_file
from fleetsync.settings import GOOGLE_SCOPES, Settings, config_path

app = typer.Typer(help="See and check fleetsync's configuration.", no_args_is_help=True)


def _effective(settings: Settings) -> dict[str, Any]:
    # Secrets are secret types (SecretStr, DatabaseUrl, SecretUrl): they dump masked, whatever
    # their name; everything else is shown as it is.
    data = settings.model_dump(mode="json")
    data["database_url"] = settings.display_database_url
    return data


@app.command("show")
def show(as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Print the effective settings (file + environment + defaults), secrets redacted."""
    data = _effective(get_settings(config))
    if as_json:
        print_json(data)
        return
    source = config_path(config)
    console.print(
        Text.assemble(("config file:", "bold"), f" {source or '(none: built-in defaults)'}")
    )
    console.print_json(data=data)


@app.command("check")
def check(
    online: Annotated[
        bool,
        typer.Option(
            "--online",
            help="Also exchange a token for each scope and make one read-only call per API, "
            "naming any scope the service account is not authorised for.",
        ),
    ] = False,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Validate the config file and the service-account key file it names.

    Exits 2 with every problem listed when something is wrong (with --online: when Google
    refuses a scope or a call).
    """
    settings = get_settings(config)
    result: dict[str, Any] = {
        "config_file": str(config_path(config) or ""),
        "database_url": settings.display_database_url,
        "google_endpoint": settings.google.endpoint or "https://admin.googleapis.com/ (Google)",
        "scopes": list(GOOGLE_SCOPES),
        "key_file": None,
    }
    if settings.google.key_file is not None:
        key = read_key_file(settings.google.key_file)
        result["key_file"] = {
            "path": str(settings.google.key_file),
            "client_email": key.client_email,
            "client_id": key.client_id,
            "token_uri": key.token_uri,
        }
    checks = check_online(settings) if online else []
    ok = all(c.ok for c in checks)
    if online:
        result["online"] = [
            {"scope": c.scope, "call": c.call, "ok": c.ok, "error": c.error} for c in checks
        ]
    if as_json:
        print_json({"ok": ok, **result})
    else:
        console.print(Text("configuration is valid", style="green"))
        for name, value in result.items():
            if name != "online":
                console.print(f"  {name}: {value}", highlight=False)
        for item in checks:
            mark = ("✓", "green") if item.ok else ("✗", "red")
            console.print(
                Text.assemble("  ", mark, f" {item.scope} ({item.call})"), highlight=False
            )
            if item.error:
                console.print(f"      {item.error}", highlight=False)
    if not ok:
        raise typer.Exit(int(ExitCode.USAGE))
