"""deploy/systemd/: the units pass systemd's own checks, are hardened, and run what exists.

``systemd-analyze verify`` checks that every ``Exec*=`` binary exists, so each test verifies a
copy of the unit in which ``/opt/fleetsync/.venv/bin/fleetsync`` is this test venv's ``fleetsync``;
the shipped unit stays canonical.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.files import (
    DEPLOY,
    ROOT,
    assert_cli_accepts,
    assert_placeholder_secrets,
    load_with_env,
    run_tool,
)

# Starts processes (runs systemd-analyze): not part of .ci/run's clock runs.
pytestmark = pytest.mark.processes

SYSTEMD = DEPLOY / "systemd"
INSTALLED_FLEETSYNC = "/opt/fleetsync/.venv/bin/fleetsync"
#: unit file -> the name it is verified under (a template needs an instance: the port).
UNITS = {
    "fleetsync-daemon.service": "fleetsync-daemon.service",
    "fleetsync-api@.service": "fleetsync-api@8081.service",
}

#: Every unit runs with these, exactly (docs/deployment.md explains each).
HARDENING = {
    "Type": "exec",
    "User": "fleetsync",
    "Group": "fleetsync",
    "EnvironmentFile": "/etc/fleetsync/fleetsync.env",
    "Restart": "on-failure",
    "KillSignal": "SIGTERM",
    "StateDirectory": "fleetsync",
    "UMask": "0077",
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "RestrictNamespaces": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "SystemCallArchitectures": "native",
}


def directives(unit: Path, section: str = "Service") -> dict[str, list[str]]:
    """``{key: [value, ...]}`` of one section, in order (systemd keys may repeat)."""
    found: dict[str, list[str]] = {}
    current = ""
    for raw in unit.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = line.strip("[]")
        elif current == section:
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def installed_copy(unit: str, directory: Path, *, text: str | None = None) -> Path:
    """The unit as ``verify`` can check it here: our ``fleetsync`` instead of /opt's."""
    directory.mkdir(parents=True, exist_ok=True)
    body = (SYSTEMD / unit).read_text() if text is None else text
    here = str(Path(sys.executable).parent / "fleetsync")
    copy = directory / UNITS[unit]
    copy.write_text(body.replace(INSTALLED_FLEETSYNC, here))
    return copy


def verify(unit: Path) -> subprocess.CompletedProcess[str]:
    return run_tool("systemd-analyze", "verify", str(unit))


@pytest.mark.parametrize("unit", list(UNITS))
def test_unit_passes_systemd_analyze_verify(unit: str, tmp_path: Path) -> None:
    result = verify(installed_copy(unit, tmp_path))
    # verify exits 0 even when it ignores a line it cannot parse: any output is a finding.
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""


BREAKAGES = {
    "misspelt value": ("ProtectSystem=strict", "ProtectSystem=strickt", "protect system value"),
    "unknown directive": ("UMask=0077", "UMaks=0077", "Unknown key 'UMaks'"),
    "missing binary": (
        INSTALLED_FLEETSYNC + " daemon",
        "/nonexistent/fleetsync daemon",
        "not executable",
    ),
}


@pytest.mark.parametrize(("old", "new", "finding"), list(BREAKAGES.values()), ids=list(BREAKAGES))
def test_verify_would_catch_a_broken_unit(old: str, new: str, finding: str, tmp_path: Path) -> None:
    # The check above is only worth something if verify speaks up: break a copy and listen.
    text = (SYSTEMD / "fleetsync-daemon.service").read_text()
    assert old in text
    result = verify(
        installed_copy("fleetsync-daemon.service", tmp_path, text=text.replace(old, new))
    )
    assert finding in result.stdout + result.stderr


@pytest.mark.parametrize("unit", list(UNITS))
def test_unit_exposure_is_low(unit: str, tmp_path: Path) -> None:
    copy = installed_copy(unit, tmp_path)
    # --threshold is in tenths: 15 means "fail above an exposure of 1.5" (of 10).
    result = run_tool("systemd-analyze", "security", "--offline=yes", "--threshold=15", str(copy))
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout)
    assert match is not None, result.stdout + result.stderr
    assert result.returncode == 0, f"exposure {match[1]} is above 1.5:\n{result.stdout}"
    assert float(match[1]) <= 1.5


@pytest.mark.parametrize("unit", list(UNITS))
def test_unit_is_hardened(unit: str) -> None:
    service = directives(SYSTEMD / unit)
    for key, value in HARDENING.items():
        assert service.get(key) == [value], (
            f"{unit}: expected {key}={value}, got {service.get(key)}"
        )
    filters = service["SystemCallFilter"]
    assert filters[0] == "@system-service"
    assert all(f.startswith("~") for f in filters[1:])
    # Long enough for the daemon to finish the Google call in flight and write its journal.
    stop = int(service["TimeoutStopSec"][0])
    assert stop >= (90 if unit == "fleetsync-daemon.service" else 30)
    assert service["RestartPreventExitStatus"] == ["2"]  # a configuration error stays down


def test_units_run_fleetsync_from_the_opt_venv() -> None:
    daemon = directives(SYSTEMD / "fleetsync-daemon.service")
    api = directives(SYSTEMD / "fleetsync-api@.service")
    config = "--config /etc/fleetsync/fleetsync.toml"
    for service in (daemon, api):
        assert service["ExecStartPre"] == [f"{INSTALLED_FLEETSYNC} db upgrade {config}"]
    assert daemon["ExecStart"] == [f"{INSTALLED_FLEETSYNC} daemon {config}"]
    assert api["ExecStart"] == [f"{INSTALLED_FLEETSYNC} serve {config} --port %i"]
    for service in (daemon, api):
        # The data directory is the one systemd creates for the unit, owned by its user.
        assert service["Environment"] == [
            "FLEETSYNC_CONFIG=/etc/fleetsync/fleetsync.toml",
            f"FLEETSYNC_DATA_DIR=/var/lib/{service['StateDirectory'][0]}",
        ]
        assert service["WorkingDirectory"] == ["/var/lib/fleetsync"]


def exec_arguments() -> list[list[str]]:
    found = []
    for unit in UNITS:
        service = directives(SYSTEMD / unit)
        for line in service["ExecStartPre"] + service["ExecStart"]:
            found.append(shlex.split(line.replace("%i", "8081"))[1:])
    return found


@pytest.mark.parametrize("arguments", exec_arguments(), ids=" ".join)
def test_the_cli_accepts_every_exec_line(arguments: list[str]) -> None:
    assert_cli_accepts(arguments)


def read_env_file(path: Path) -> dict[str, str]:
    """``VAR=value`` lines as systemd's EnvironmentFile= reads them (quotes removed)."""
    env = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            (env[name.strip()],) = shlex.split(value)
    return env


def test_env_example_holds_only_placeholders_that_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = read_env_file(SYSTEMD / "fleetsync.env.example")
    assert_placeholder_secrets(env)
    settings = load_with_env(
        (ROOT / "config" / "fleetsync.example.toml").read_text(), env, tmp_path, monkeypatch
    )
    assert settings.effective_database_url.startswith("postgresql+psycopg://fleetsync:")
    assert len(settings.api.admin_tokens) == 1
    desk = settings.api.desks["antwerpen"]
    assert len(desk.secrets) == 1
    assert desk.token is not None


@pytest.mark.skipif(os.geteuid() != 0, reason="creating files owned by another user needs root")
def test_sysusers_and_tmpfiles_give_the_service_user_what_it_needs(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for kind in ("sysusers", "tmpfiles"):
        target = root / "usr" / "lib" / f"{kind}.d" / "fleetsync.conf"
        target.parent.mkdir(parents=True)
        target.write_text((SYSTEMD / f"fleetsync.{kind}.conf").read_text())
    etc = root / "etc" / "fleetsync"
    (etc / "credentials").mkdir(parents=True)
    for name in ("fleetsync.toml", "fleetsync.env", "credentials/service-account.json"):
        (etc / name).write_text("x")
        (etc / name).chmod(0o644)
    for tool, *args in (["systemd-sysusers"], ["systemd-tmpfiles", "--create"]):
        result = run_tool(tool, f"--root={root}", *args)
        assert result.returncode == 0, result.stderr

    passwd = {
        line.split(":")[0]: line.split(":")
        for line in (root / "etc/passwd").read_text().splitlines()
    }
    # The units' User=, with no home of its own and no shell.
    user = passwd[HARDENING["User"]]
    assert user[5:] == ["/var/lib/fleetsync", "/usr/sbin/nologin"]
    fleetsync = int(user[3])
    expected = {
        ".": (0o750, fleetsync),
        "credentials": (0o750, fleetsync),
        "fleetsync.toml": (0o640, fleetsync),
        "credentials/service-account.json": (0o640, fleetsync),
        "fleetsync.env": (0o600, 0),  # the secrets: root only, systemd reads them for the unit
    }
    for name, (mode, gid) in expected.items():
        stat = (etc / name).stat()
        assert (stat.st_mode & 0o777, stat.st_uid, stat.st_gid) == (mode, 0, gid), name
