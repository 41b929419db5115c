"""Settings: file, environment overrides, and errors that say what to fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fleetsync.settings import ConfigError, Settings, load_settings
from tests.cli_runner import run_cli

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "fleetsync.example.toml"


def test_embedded_defaults_need_no_file(tmp_path: Path) -> None:
    settings = load_settings()
    assert (
        settings.effective_database_url
        == f"sqlite:///{tmp_path / 'xdg-data' / 'fleetsync' / 'fleetsync.db'}"
    )
    assert settings.org_units.spare == "/Chromebooks/Spare"


def test_example_config_is_valid_and_documents_every_section() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.google.quota.device_writes_per_minute == 60
    assert settings.policies[0].bookmarks[2].entries is not None
    text = EXAMPLE.read_text()
    for section in Settings.model_fields:
        assert section in text, f"config/fleetsync.example.toml does not document {section!r}"


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "f.toml"
    config.write_text('database_url = "sqlite:///from-file.db"\n[google]\ncustomer = "C0file"\n')
    monkeypatch.setenv("FLEETSYNC_DATABASE_URL", "sqlite:///from-env.db")
    monkeypatch.setenv("FLEETSYNC_GOOGLE__CUSTOMER", "C0env")
    settings = load_settings(config)
    assert settings.effective_database_url == "sqlite:///from-env.db"
    assert settings.google.customer == "C0env"


def test_relative_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    config = tmp_path / "etc" / "f.toml"
    config.write_text('data_dir = "state"\n[google]\nkey_file = "../keys/sa.json"\n')
    settings = load_settings(config)
    assert settings.data_dir == tmp_path / "etc" / "state"
    assert settings.google.key_file == tmp_path / "keys" / "sa.json"


INVALID_CONFIGS = {
    "typo": ("[google]\nendpont = 'x'\n", "google.endpont: Extra inputs are not permitted"),
    "relative-ou": ("[org_units]\nspare = 'Chromebooks'\n", "org_units.spare"),
    "negative-budget": (
        "[safety.powerwashes]\nper_hour = -1\nper_day = 10\n",
        "safety.powerwashes.per_hour",
    ),
    "old-limit-keys": (
        "[safety.powerwashes]\nmax_count = 10\nmax_share = 0.1\n",
        "safety.powerwashes: max_count and max_share were limits per run; the safety limits "
        "are budgets over a sliding window now: write per_hour = N and per_day = M",
    ),
    "hour-over-day": (
        "[safety.disables]\nper_hour = 30\nper_day = 20\n",
        "safety.disables: per_hour",
    ),
    "bad-app": ("[[policies]]\norg_unit='/S'\napps=[{app_id='chrome:short'}]\n", "app_id must be"),
    "bad-bookmark": (
        "[[policies]]\norg_unit='/S'\nbookmarks=[{name='x'}]\n",
        "exactly one of 'url' or 'entries'",
    ),
    "not-toml": ("this is = = not toml", "is not valid TOML"),
}


@pytest.mark.parametrize(
    ("content", "expected"), list(INVALID_CONFIGS.values()), ids=list(INVALID_CONFIGS)
)
def test_invalid_config_names_the_problem(tmp_path: Path, content: str, expected: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(content)
    with pytest.raises(ConfigError, match=expected.replace(".", r"\.").replace("(", r"\(")):
        load_settings(config)


#: Configs `config check` passed while other commands (or the first checkout, or the first
#: sync) refused them: each is refused when the settings load, by every command alike.
REFUSED_AT_LOAD = {
    "unknown username field": (
        '[accounts]\nusername_pattern = "{x}"\n',
        "accounts.username_pattern",
        "only {given}, {family} and {g} exist",
    ),
    "no regions": ("regions = []\n", "regions", "needs at least one region"),
    "a region twice in another case": (
        'regions = ["Antwerpen", "antwerpen"]\n',
        "regions",
        "'antwerpen' is 'Antwerpen' again",
    ),
    "a region that is not an org unit name": (
        'regions = ["Antwerpen/Noord"]\n',
        "regions",
        "without '/'",
    ),
    "two states sharing one org unit": (
        '[org_units]\nspare = "/Chromebooks/Pool"\non_loan = "/Chromebooks/Pool"\n',
        "org_units",
        "on_loan and spare are both '/Chromebooks/Pool'; each device state needs its own",
    ),
    "a state in the root org unit": ('[org_units]\nlost = "/"\n', "org_units", "lost is '/'"),
    "adopting from the root org unit": (
        '[org_units]\nadopt_from = ["/"]\n',
        "org_units",
        "adopt_from is '/'",
    ),
    "a policy org unit that is no path": (
        "[[policies]]\norg_unit = 'Students'\n",
        "policies.0.org_unit",
        "starts with '/'",
    ),
    "a database nobody supports": (
        'database_url = "mysql://fleetsync@db/fleetsync"\n',
        "database_url",
        "runs on PostgreSQL",
    ),
}


@pytest.mark.parametrize(
    ("content", "setting", "message"), list(REFUSED_AT_LOAD.values()), ids=list(REFUSED_AT_LOAD)
)
@pytest.mark.parametrize("command", [("config", "check"), ("device", "list")])
def test_one_validation_refuses_a_config_for_every_command_alike(
    tmp_path: Path, command: tuple[str, ...], content: str, setting: str, message: str
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(content)
    result = run_cli(*command, "--config", str(config))
    assert result.exit_code == 2, result.output
    assert f"  - {setting}: " in result.stderr
    assert message in " ".join(result.stderr.split())


def test_config_check_reports_every_problem_at_once(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        'regions = ["Antwerpen", "ANTWERPEN"]\ndatabase_url = "mysql://db/x"\n'
        '[accounts]\nusername_pattern = "{x}"\n'
        '[org_units]\nlost = "/"\nspare = "/Pool"\non_loan = "/Pool"\n'
    )
    result = run_cli("config", "check", "--config", str(config))
    assert result.exit_code == 2
    listed = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert sorted(line.split(":")[0] for line in listed) == [
        "  - accounts.username_pattern",
        "  - database_url",
        "  - org_units",
        "  - regions",
    ]
    text = " ".join(result.stderr.split())
    assert "lost is '/'" in text
    assert "on_loan and spare are both '/Pool'" in text


def test_cli_reports_a_bad_config_with_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[google]\nendpoint = 'ftp://x'\n")
    result = run_cli("config", "check", "--config", str(config))
    assert result.exit_code == 2
    assert "google.endpoint" in result.stderr
    assert "http(s) URL" in result.stderr


def test_cli_reports_a_missing_config_file(tmp_path: Path) -> None:
    result = run_cli("config", "show", "--config", str(tmp_path / "nope.toml"))
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_config_from_environment_variable(tmp_path: Path) -> None:
    config = tmp_path / "env.toml"
    config.write_text('[google]\ncustomer = "C0fromenv"\n')
    result = run_cli("config", "show", "--json", env={"FLEETSYNC_CONFIG": str(config)})
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["google"]["customer"] == "C0fromenv"


def test_config_show_masks_the_database_password() -> None:
    result = run_cli(
        "config",
        "show",
        "--json",
        env={"FLEETSYNC_DATABASE_URL": "postgresql+psycopg://fs:hunter2@db/fleetsync"},
    )
    assert "hunter2" not in result.stdout
    assert json.loads(result.stdout)["database_url"] == "postgresql+psycopg://fs:***@db/fleetsync"


def test_config_check_rejects_a_key_file_that_is_not_a_key(tmp_path: Path) -> None:
    key = tmp_path / "sa.json"
    key.write_text(json.dumps({"type": "authorized_user", "client_id": "1"}))
    config = tmp_path / "c.toml"
    config.write_text(f'[google]\nkey_file = "{key}"\n')
    result = run_cli("config", "check", "--config", str(config))
    assert result.exit_code == 2
    assert "is not a usable key" in result.stderr
    assert "private_key" in result.stderr


def test_error_messages_keep_square_brackets(tmp_path: Path) -> None:
    # Rich must not swallow "[google]" as markup: the user needs to see which section to edit.
    config = tmp_path / "c.toml"
    config.write_text(f'[google]\nkey_file = "{tmp_path / "missing.json"}"\n')
    result = run_cli("config", "check", "--config", str(config))
    assert result.exit_code == 2
    assert "set [google] key_file" in result.stderr
