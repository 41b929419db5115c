"""``fleetsync staff``: add, list, disable and reset the desk web app's staff accounts."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from fleetsync.domain.staff import SignInThrottle
from fleetsync.ledger import open_ledger
from fleetsync.ledger.models import AuditEvent
from fleetsync.services.staff import SignInRefused, sign_in
from fleetsync.settings import load_settings
from tests.cli_runner import run_cli


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "fleetsync.toml"
    path.write_text(f'database_url = "sqlite:///{tmp_path / "ledger.db"}"\n')
    return str(path)


def _sign_in(config: str, username: str, password: str) -> str:
    with open_ledger(load_settings(Path(config))) as ledger, ledger.transaction() as session:
        try:
            return sign_in(
                session,
                username=username,
                password=password,
                throttle=SignInThrottle(5, timedelta(minutes=15)),
            ).actor
        except SignInRefused:
            return "refused"


def test_add_prints_a_password_once_that_signs_in(config: str) -> None:
    added = run_cli(
        "staff", "add", "ann.peeters", "--desk", "antwerpen", "--name", "Ann", "--config", config
    )
    assert added.exit_code == 0, added.output
    password = re.search(r"password for ann.peeters: (\S+)", added.stdout)
    assert password
    assert _sign_in(config, "ann.peeters", password[1]) == "desk:antwerpen:ann.peeters"

    again = run_cli("staff", "add", "ann.peeters", "--desk", "antwerpen", "--config", config)
    assert again.exit_code == 3
    assert "exists already" in again.stderr


def test_bad_input_is_a_usage_error_that_names_the_fix(config: str) -> None:
    bad_desk = run_cli("staff", "add", "ann", "--desk", "Antwerpen Centrum", "--config", config)
    assert bad_desk.exit_code == 2
    assert "is not a desk name" in bad_desk.stderr
    bad_name = run_cli("staff", "add", "Ann Peeters!", "--desk", "antwerpen", "--config", config)
    assert bad_name.exit_code == 2
    short = run_cli(
        "staff",
        "add",
        "ann",
        "--desk",
        "antwerpen",
        "--password-stdin",
        "--config",
        config,
        input="short\n",
    )
    assert short.exit_code == 2
    assert "at least 12 characters" in short.stderr


def test_list_in_every_format_never_shows_a_password(config: str) -> None:
    run_cli("staff", "add", "ann", "--desk", "antwerpen", "--config", config)
    run_cli("staff", "add", "bea", "--desk", "brussel", "--role", "technician", "--config", config)
    rows = json.loads(run_cli("staff", "list", "--format", "json", "--config", config).stdout)
    assert [(r["username"], r["desk"], r["role"]) for r in rows] == [
        ("ann", "antwerpen", "clerk"),
        ("bea", "brussel", "technician"),
    ]
    table = run_cli("staff", "list", "--config", config).stdout
    assert "bea" in table
    assert "technician" in table
    as_csv = run_cli("staff", "list", "--format", "csv", "--desk", "brussel", "--config", config)
    assert [r["username"] for r in csv.DictReader(io.StringIO(as_csv.stdout))] == ["bea"]
    assert "argon2" not in table + as_csv.stdout


def test_disable_and_reset_password(config: str) -> None:
    run_cli("staff", "add", "ann", "--desk", "antwerpen", "--config", config)
    assert run_cli("staff", "disable", "ann", "--config", config).exit_code == 0
    assert run_cli("staff", "disable", "nobody", "--config", config).exit_code == 4
    reset = run_cli(
        "staff",
        "reset-password",
        "ann",
        "--password-stdin",
        "--config",
        config,
        input="a-long-new-password\n",
    )
    assert reset.exit_code == 0, reset.output
    assert "a-long-new-password" not in reset.stdout
    assert _sign_in(config, "ann", "a-long-new-password") == "desk:antwerpen:ann"
    with open_ledger(load_settings(Path(config))) as ledger, ledger.read() as session:
        actions = session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.action.like("staff_%"))
        ).all()
    assert actions == ["staff_added", "staff_disabled", "staff_password_reset"]
