"""What the deployment tests share: where the files are, the external tools, secret placeholders."""

from __future__ import annotations

import base64
import binascii
import json
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from fleetsync.settings import Settings, load_settings
from tests.cli_runner import run_cli
from tests.conftest import IN_CI

__all__ = [
    "DEPLOY",
    "PLACEHOLDER",
    "ROOT",
    "assert_cli_accepts",
    "assert_placeholder_key_file",
    "assert_placeholder_secrets",
    "load_with_env",
    "require_tool",
    "run_tool",
]

ROOT = Path(__file__).resolve().parent.parent.parent
DEPLOY = ROOT / "deploy"
#: Every secret value shipped in deploy/ is or contains this, so that a real one stands out.
PLACEHOLDER = "CHANGE-ME"


def require_tool(name: str) -> str:
    """The path of an external tool: the test venv's own first, then PATH. Skipped when absent,
    except under ``CI=true`` where a check that cannot run is a failure."""
    own = Path(sys.executable).parent / name
    found = str(own) if own.exists() else shutil.which(name)
    if found is None:
        message = f"{name} is not installed, so this check cannot run here"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def run_tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run an external tool (see :func:`require_tool`); its exit code is the caller's to judge."""
    return subprocess.run([require_tool(name), *args], capture_output=True, text=True, check=False)


def load_with_env(
    config_text: str, env: Mapping[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """The settings a process would see with this config file and these environment variables."""
    config = tmp_path / "fleetsync.toml"
    config.write_text(config_text)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings(config)


def assert_placeholder_secrets(env: Mapping[str, str]) -> None:
    """Each value is a visible placeholder, and none of them would work as the real thing."""
    for name, value in env.items():
        assert PLACEHOLDER in value, f"{name} is not a {PLACEHOLDER} placeholder: {value!r}"
    if "FLEETSYNC_SECRET_KEY" in env:
        with pytest.raises(ValueError, match="Fernet key must be"):
            Fernet(env["FLEETSYNC_SECRET_KEY"].encode())
    for name, value in env.items():
        if name.endswith("__SECRETS"):
            for secret in json.loads(value):
                with pytest.raises(binascii.Error):
                    base64.b64decode(secret.removeprefix("whsec_"), validate=True)


def assert_placeholder_key_file(text: str) -> None:
    """A service-account key file whose private key is a placeholder, not a key."""
    key = json.loads(text)
    assert key["type"] == "service_account"
    assert PLACEHOLDER in key["private_key"]
    with pytest.raises(ValueError, match=r"PEM|deserializ"):
        load_pem_private_key(key["private_key"].encode(), password=None)


def assert_cli_accepts(arguments: list[str]) -> None:
    """The real CLI parses these arguments (a unit's ExecStart, a container's args). Skipped when
    the command itself does not exist yet in this fleetsync."""
    result = run_cli(*arguments, "--help")
    if "No such command" in result.output:
        pytest.skip(f"this fleetsync has no `{arguments[0]}` command yet")
    assert result.exit_code == 0, result.output
