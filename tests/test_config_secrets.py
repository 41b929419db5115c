"""Secrets in the configuration: redacted by what a setting is (a secret type), never by its name;
the database URL's credentials, in whatever form it carries them, and the overdue webhook's
capability URL never reach the output, an error message or a log line."""

from __future__ import annotations

import io
import json
from urllib.parse import quote

import pytest
from cryptography.fernet import Fernet

from fleetsync.log import configure_logging, get_logger
from tests.cli_runner import CliResult, run_cli

PASSWORD = "hunter2-Sekr3t"
#: Nothing listens on port 1: opening the ledger fails at once, with fleetsync's error.
SERVER = "127.0.0.1:1"

DATABASE_URLS = {
    "user-info": f"postgresql+psycopg://fleetsync:{PASSWORD}@{SERVER}/fleetsync",
    "libpq password parameter": (
        f"postgresql+psycopg://fleetsync@{SERVER}/fleetsync?password={PASSWORD}"
    ),
    "sslpassword among harmless parameters": (
        f"postgresql+psycopg://fleetsync@{SERVER}/fleetsync?connect_timeout=3&"
        f"sslpassword={PASSWORD}&application_name=fleetsync"
    ),
    "a parameter fleetsync does not know": (
        f"postgresql+psycopg://fleetsync@{SERVER}/fleetsync?x_credential={PASSWORD}"
    ),
    "percent-encoded user-info": (
        f"postgresql+psycopg://fleetsync:{quote(PASSWORD + '@/:')}@{SERVER}/fleetsync"
    ),
}
#: Every command that shows the database URL, and one that fails to open it.
SHOWING_COMMANDS = [
    ("config", "show"),
    ("config", "show", "--json"),
    ("config", "check"),
    ("config", "check", "--json"),
    ("device", "list", "--json"),
    ("status",),
]


def _leaks(result: CliResult, *secrets: str) -> list[str]:
    return [secret for secret in secrets if secret in result.output]


@pytest.mark.parametrize("url", list(DATABASE_URLS.values()), ids=list(DATABASE_URLS))
@pytest.mark.parametrize("command", SHOWING_COMMANDS, ids=[" ".join(c) for c in SHOWING_COMMANDS])
def test_the_database_password_never_shows_in_any_form_the_url_carries_it(
    url: str, command: tuple[str, ...]
) -> None:
    result = run_cli(*command, env={"FLEETSYNC_DATABASE_URL": url})
    assert not _leaks(result, PASSWORD, quote(PASSWORD), quote(PASSWORD + "@/:")), result.output
    assert SERVER in result.output  # where the ledger is stays visible: that helps
    if command[0] != "config":
        assert result.exit_code == 2
        assert "cannot open the ledger at postgresql+psycopg://fleetsync" in result.stderr


def test_a_database_url_that_cannot_be_parsed_is_a_config_error_without_the_password() -> None:
    url = f"postgresql+psycopg://fleetsync:{PASSWORD}@127.0.0.1:notaport/fleetsync"
    result = run_cli("config", "check", env={"FLEETSYNC_DATABASE_URL": url})
    assert result.exit_code == 2
    assert "database_url" in result.stderr
    assert "postgresql+psycopg://USER@HOST:PORT/DBNAME" in result.stderr
    assert PASSWORD not in result.output
    assert "Traceback" not in result.output


def test_the_overdue_webhook_url_is_shown_as_its_origin_only() -> None:
    url = f"https://desk:{PASSWORD}@desk.example.org/hooks/overdue/cap-7f3a9c"
    result = run_cli("config", "show", "--json", env={"FLEETSYNC_DAEMON__OVERDUE_WEBHOOK_URL": url})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["daemon"]["overdue_webhook_url"] == (
        "https://desk.example.org/…"
    )
    assert not _leaks(result, PASSWORD, "cap-7f3a9c", "desk:")


def test_an_unusable_overdue_webhook_url_is_refused_at_load_without_showing_it() -> None:
    url = "ftp://desk.example.org/hooks/overdue/cap-7f3a9c"
    result = run_cli("config", "check", env={"FLEETSYNC_DAEMON__OVERDUE_WEBHOOK_URL": url})
    assert result.exit_code == 2
    assert "daemon.overdue_webhook_url" in result.stderr
    assert "must be an http(s) URL" in result.stderr
    assert "cap-7f3a9c" not in result.output


def test_config_show_redacts_secrets_by_type_and_shows_every_other_setting() -> None:
    secrets = {
        "FLEETSYNC_SECRET_KEY": Fernet.generate_key().decode(),
        "FLEETSYNC_API__ADMIN_TOKENS": json.dumps(["admin-token-" + "a" * 32]),
        "FLEETSYNC_API__DESKS__GENT__SECRETS": json.dumps(["whsec_" + "c2VjcmV0" * 4]),
        "FLEETSYNC_API__DESKS__GENT__TOKEN": "desk-token-" + "b" * 32,
        "FLEETSYNC_DAEMON__OVERDUE_WEBHOOK_SECRET": "whsec_" + "ZGVzaw==" * 2,
    }
    result = run_cli("config", "show", "--json", env=secrets)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    for name, value in secrets.items():
        for secret in json.loads(value) if value.startswith("[") else [value]:
            assert secret not in result.output, f"{name} is shown"
    assert shown["secret_key"] == "**********"
    assert shown["api"]["admin_tokens"] == ["**********"]
    gent = shown["api"]["desks"]["gent"]
    assert (gent["secrets"], gent["token"]) == (["**********"], "**********")
    assert shown["daemon"]["overdue_webhook_secret"] == "**********"
    # Settings whose names merely sound like secrets are settings like any other.
    assert shown["accounts"]["password_length"] == 16
    assert shown["accounts"]["change_password_at_next_login"] is True
    assert shown["accounts"]["first_password_ttl_hours"] == 72


def test_a_secret_url_in_a_log_line_is_masked_whatever_its_key() -> None:
    from fleetsync.settings import DatabaseUrl, SecretUrl

    out = io.StringIO()
    configure_logging("info", "json", stream=out)
    get_logger("t").info(
        "connecting",
        ledger=DatabaseUrl(f"postgresql+psycopg://fs@db/fleetsync?password={PASSWORD}"),
        to=SecretUrl("https://desk.example.org/hooks/overdue/cap-7f3a9c"),
    )
    line = json.loads(out.getvalue())
    assert line["ledger"] == "postgresql+psycopg://fs@db/fleetsync?password=***"
    assert line["to"] == "https://desk.example.org/…"
    assert PASSWORD not in out.getvalue()
    assert "cap-7f3a9c" not in out.getvalue()
