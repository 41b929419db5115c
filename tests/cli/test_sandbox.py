"""``fleetsync sandbox``: the real command in a subprocess, and its options' refusals in-process."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import tomllib
from pathlib import Path
from typing import Any

import google_auth_httplib2
import httplib2
import httpx
import pytest
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from fleetsync import clock
from fleetsync.cli.sandbox import parse_quotas
from fleetsync.sandbox.faults import Quotas
from fleetsync.sandbox.handoff import write_config
from fleetsync.sandbox.state import load_tenant
from fleetsync.sandbox.testing import RunningSandbox, running_sandbox
from fleetsync.settings import GOOGLE_SCOPES, load_settings
from fleetsync.worktree import unignored_work_tree
from tests.cli_runner import run_cli

# Starts processes (`fleetsync sandbox serve`): not part of .ci/run's clock runs.
pytestmark = pytest.mark.processes

STARTUP_SECONDS = 60


class _Served:
    """``fleetsync sandbox serve`` in a subprocess, its output read line by line."""

    def __init__(self, cwd: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLEETSYNC_")}
        env[clock.ENV] = os.environ[clock.ENV]  # the test run's pinned clock
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fleetsync", "sandbox", "serve", *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def banner(self) -> str:
        """What it prints on start, up to "Stop with Ctrl-C." (fails if it dies first)."""
        seen: list[str] = []
        while not (seen and seen[-1].startswith("Stop with Ctrl-C")):
            try:
                line = self._lines.get(timeout=STARTUP_SECONDS)
            except queue.Empty:
                self.process.kill()
                pytest.fail(f"the sandbox did not start within {STARTUP_SECONDS} s: {seen}")
            if line is None:
                pytest.fail(f"the sandbox exited with {self.process.wait()}: {seen}")
            seen.append(line)
        return "\n".join(seen)

    def stop(self) -> tuple[int, str]:
        """SIGTERM, then its exit code and what it printed after the banner."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        rest: list[str] = []
        while (line := self._lines.get(timeout=30)) is not None:
            rest.append(line)
        assert self.process.stdout is not None
        self.process.stdout.close()
        return code, "\n".join(rest)


def _directory(config: Path, http: httplib2.Http) -> Any:
    """Google's own client, built from nothing but what the sandbox wrote."""
    google = load_settings(config).google
    assert google.endpoint is not None
    assert google.key_file is not None
    credentials = service_account.Credentials.from_service_account_file(
        str(google.key_file), scopes=list(GOOGLE_SCOPES), subject=google.admin_subject
    )
    return build(
        "admin",
        "directory_v1",
        http=google_auth_httplib2.AuthorizedHttp(credentials, http=http),
        client_options={"api_endpoint": google.endpoint},
        static_discovery=True,
        cache_discovery=False,
    )


def test_serve_writes_a_working_config_and_saves_the_tenant_on_sigterm(tmp_path: Path) -> None:
    state, config = tmp_path / "tenant.json", tmp_path / "rehearsal" / "fleetsync.toml"
    served = _Served(
        tmp_path,
        *("--port", "0", "--fleet", "agency", "--domain", "agency.example"),
        *("--state", str(state), "--write-config", str(config), "--quota", "device-writes=3"),
    )
    http = httplib2.Http(timeout=30)
    try:
        banner = served.banner()
        assert "admin@agency.example" in banner
        assert f"export FLEETSYNC_CONFIG={config.resolve()}" in banner
        key_file = config.parent / "sandbox-service-account.json"
        assert str(key_file.resolve()) in banner
        devices = _directory(config, http).chromeosdevices()
        page = devices.list(customerId="my_customer", maxResults=3).execute()
        chosen = [d["deviceId"] for d in page["chromeosdevices"]]
        for number, device_id in enumerate(chosen):
            devices.patch(
                customerId="my_customer", deviceId=device_id, body={"annotatedUser": f"B-{number}"}
            ).execute()
        with pytest.raises(HttpError) as caught:  # --quota device-writes=3 is in force
            devices.patch(
                customerId="my_customer", deviceId=chosen[0], body={"notes": "one too many"}
            ).execute()
        assert caught.value.status_code == 403
        assert caught.value.error_details[0]["reason"] == "userRateLimitExceeded"
        assert int(caught.value.resp["retry-after"]) >= 1
    finally:
        http.close()
        code, said = served.stop()
    assert code == 0, said
    assert f"tenant saved to {state}" in said

    saved = load_tenant(state)
    assert saved.domain == "agency.example"
    assert [saved.devices.by_id[i].data.get("annotatedUser") for i in chosen] == [
        "B-0", "B-1", "B-2",
    ]  # fmt: skip
    assert "notes" not in saved.devices.by_id[chosen[0]].data, "a refused call changed nothing"
    # The key file written for the first run still opens the restored tenant.
    key = json.loads(key_file.read_text())
    assert key["private_key"] == saved.account.private_key_pem
    with running_sandbox(tmp_path / "again", tenant=saved) as again:
        restored = again.directory().chromeosdevices()
        got = restored.get(customerId="my_customer", deviceId=chosen[1]).execute()
        assert got["annotatedUser"] == "B-1"


def test_serve_writes_an_oauth_client_and_an_admin_refresh_token(tmp_path: Path) -> None:
    """``--oauth-client-out``: what an admin tool signing in through an installed-app client
    needs, and the tenant keeps the client across a restart."""
    state, client_file = tmp_path / "tenant.json", tmp_path / "tool" / "client_secrets.json"
    token_file = client_file.with_name("client_secrets.authorized-user.json")
    served = _Served(
        tmp_path,
        *("--port", "0", "--fleet", "none", "--state", str(state)),
        *("--oauth-client-out", str(client_file)),
    )
    try:
        banner = served.banner()
        assert str(client_file.resolve()) in banner
        assert str(token_file.resolve()) in banner
        client = json.loads(client_file.read_text())["installed"]
        user = json.loads(token_file.read_text())
        for path in (client_file, token_file):
            assert oct(path.stat().st_mode & 0o777) == "0o600"
        form = {
            "grant_type": "refresh_token",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
            "refresh_token": user["refresh_token"],
        }
        answer = httpx.post(client["token_uri"], data=form)
        assert answer.status_code == 200, answer.text
        token = answer.json()["access_token"]
        users = httpx.get(
            client["token_uri"].removesuffix("token") + "admin/directory/v1/users",
            params={"customer": "my_customer"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert [u["primaryEmail"] for u in users.json()["users"]] == ["admin@example.org"]
    finally:
        code, said = served.stop()
    assert code == 0, said
    saved = load_tenant(state)
    assert list(saved.oauth.clients) == [client["client_id"]]
    assert saved.oauth.grant_for(user["refresh_token"]) is not None


# ------------------------------------------------------------------------------- in-process
@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param([], Quotas(), id="unlimited-by-default"),
        pytest.param(["device-writes=60"], Quotas(device_writes_per_minute=60), id="one"),
        pytest.param(
            ["queries=100", "Policy-Writes=5", "concurrent=2"],
            Quotas(100, None, 5, 2),
            id="several-any-case",
        ),
        pytest.param(["google"], Quotas.google(), id="google"),
        pytest.param(
            ["google", "device-writes=10"], Quotas(2400, 10, 30, 20), id="google-then-one"
        ),
    ],
)
def test_quota_option(values: list[str], expected: Quotas) -> None:
    assert parse_quotas(values) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--quota", "writes=5"], "expected 'google'", id="unknown-quota"),
        pytest.param(["--quota", "device-writes"], "expected 'google'", id="quota-without-n"),
        pytest.param(["--quota", "device-writes=0"], "at least 1", id="quota-zero"),
        pytest.param(["--quota", "queries=lots"], "whole number", id="quota-not-a-number"),
        pytest.param(["--fleet", "lots"], "--fleet takes 'agency'", id="bad-fleet"),
        pytest.param(["--fault-rate", "1.5"], "less than or equal to 1", id="fault-rate-above-1"),
    ],
)
def test_serve_refuses_bad_options(args: list[str], message: str) -> None:
    result = run_cli("sandbox", "serve", "--port", "0", *args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.replace("│", " ").split())


def test_serve_refuses_a_state_file_that_is_not_one(tmp_path: Path) -> None:
    bogus = tmp_path / "tenant.json"
    bogus.write_text('{"devices": []}')
    result = run_cli("sandbox", "serve", "--port", "0", "--state", str(bogus))
    assert result.exit_code == 2
    assert "is not a format-1 sandbox state file" in result.stderr


@pytest.fixture
def agency(tmp_path: Path) -> Any:
    with running_sandbox(tmp_path / "sandbox", fleet="agency") as running:
        yield running


def test_status_reads_a_running_sandbox(agency: RunningSandbox) -> None:
    agency.directory().chromeosdevices().list(customerId="my_customer").execute()
    agency.control.advance(hours=2)
    text = run_cli("sandbox", "status", "--url", agency.url)
    assert text.exit_code == 0, text.output
    assert "1,000 (0 online)" in text.stdout
    assert "+2.0 h ahead of real time" in text.stdout
    as_json = json.loads(run_cli("sandbox", "status", "--url", agency.url, "--json").stdout)
    assert as_json["devices"] == 1000
    assert as_json["counters"]["calls"] == {"directory.chromeosdevices.list": 1}


def test_status_finds_the_sandbox_through_the_config(
    agency: RunningSandbox, tmp_path: Path
) -> None:
    config = agency.write_config(tmp_path / "fleetsync.toml")
    result = run_cli("sandbox", "status", "--json", "--config", str(config))
    assert json.loads(result.stdout)["customerId"] == agency.customer_id


def test_status_of_no_sandbox_says_how_to_start_one() -> None:
    result = run_cli("sandbox", "status", "--url", "http://127.0.0.1:9/")
    assert result.exit_code == 1
    assert "is `fleetsync sandbox serve` running?" in result.stderr


def test_a_rehearsal_config_is_the_real_one_with_only_google_and_the_ledger_replaced(
    agency: RunningSandbox, tmp_path: Path
) -> None:
    example = Path(__file__).resolve().parents[2] / "config" / "fleetsync.example.toml"
    real = tomllib.loads(example.read_text(encoding="utf-8"))
    real["database_url"] = "postgresql+psycopg://fleetsync@db.example.org/production"
    written = write_config(
        agency.tenant,
        tmp_path / "rehearsal" / "fleetsync.toml",
        url=agency.url,
        key_file=agency.key_file,
        base=real,
    )
    rehearsal, production = load_settings(written), load_settings(example)
    assert rehearsal.google.endpoint == agency.url
    assert rehearsal.google.key_file == agency.key_file.resolve()
    assert (
        rehearsal.effective_database_url == f"sqlite:///{tmp_path / 'rehearsal' / 'fleetsync.db'}"
    )
    assert rehearsal.policies == production.policies
    assert rehearsal.org_units == production.org_units
    assert rehearsal.safety == production.safety
    assert rehearsal.google.quota == production.google.quota


def _git_work_tree(path: Path) -> Path:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True, timeout=30)
    return path


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_secrets_written_into_a_git_work_tree_are_private_and_announced(tmp_path: Path) -> None:
    clone = _git_work_tree(tmp_path / "clone")
    config, state = clone / "sandbox" / "fleetsync.toml", clone / "sandbox" / "tenant.json"
    served = _Served(clone, "--port", "0", "--state", str(state), "--write-config", str(config))
    try:
        said = served.banner()
    finally:
        code, rest = served.stop()
    assert code == 0, rest
    output = " ".join((said + rest).split())
    key_file = config.parent / "sandbox-service-account.json"
    for path in (key_file, config, state):
        assert oct(path.stat().st_mode & 0o777) == "0o600", path
    assert f"the service-account key {key_file} is inside the git work tree {clone}" in output
    assert f"add '/sandbox/sandbox-service-account.json' to {clone / '.gitignore'}" in output

    # Ignored (as this repository's .gitignore ignores sandbox/ and demo/): no warning.
    (clone / ".gitignore").write_text("/sandbox/\n", encoding="utf-8")
    again = _Served(clone, "--port", "0", "--state", str(state), "--write-config", str(config))
    try:
        quiet = again.banner()
    finally:
        code, rest = again.stop()
    assert code == 0, rest
    assert "git work tree" not in quiet + rest


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_this_repository_ignores_what_the_demo_and_the_sandbox_write() -> None:
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        pytest.skip("not a git work tree")
    for written in ("demo/service-account.json", "demo/tenant.json", "sandbox/fleetsync.toml",
                    "sandbox/sandbox-service-account.json", "sandbox/tenant.json"):  # fmt: skip
        assert unignored_work_tree(root / written) is None, written
    assert unignored_work_tree(root / "src" / "fleetsync" / "new.py") == root
