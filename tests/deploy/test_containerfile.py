"""deploy/Containerfile, checked without a container engine: hadolint's verdict, the instructions
against the rest of the deployment, and the wheel the image is built from.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.deploy.files import DEPLOY, ROOT, assert_cli_accepts, run_tool

# Starts processes (builds the wheel and runs hadolint): not part of .ci/run's clock runs.
pytestmark = pytest.mark.processes

CONTAINERFILE = DEPLOY / "Containerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


def instructions(text: str) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` in order, continuation lines joined, comments dropped."""
    joined = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    found = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            found.append((keyword.upper(), " ".join(rest.split())))
    return found


def the(keyword: str) -> list[str]:
    return [args for kw, args in instructions(CONTAINERFILE.read_text()) if kw == keyword]


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return run_tool("hadolint", "--no-color", str(path))


def test_hadolint_finds_nothing() -> None:
    result = hadolint(CONTAINERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_would_flag_a_root_image(tmp_path: Path) -> None:
    broken = tmp_path / "Containerfile"
    broken.write_text(CONTAINERFILE.read_text().replace("USER 10001:10001", "USER root"))
    assert "DL3002" in hadolint(broken).stdout  # "Last USER should not be root"


def test_two_stages_on_python_311_slim() -> None:
    assert "PYTHON_IMAGE=python:3.11-slim" in the("ARG")
    assert the("FROM") == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE}"]


def test_runs_as_the_non_root_user_the_pods_expect() -> None:
    (user,) = the("USER")
    uid, _, gid = user.partition(":")
    assert int(uid) == int(gid) == 10001  # numeric, so runAsNonRoot can check it
    daemon = yaml.safe_load((DEPLOY / "kubernetes" / "daemon-deployment.yaml").read_text())
    context = daemon["spec"]["template"]["spec"]["securityContext"]
    assert (context["runAsUser"], context["runAsGroup"]) == (int(uid), int(gid))


def test_runs_the_daemon_with_the_deployed_config() -> None:
    (entrypoint,) = the("ENTRYPOINT")
    (cmd,) = the("CMD")
    assert json.loads(entrypoint) == ["fleetsync"]
    assert json.loads(cmd) == ["daemon", "--config", "/etc/fleetsync/fleetsync.toml"]
    env = " ".join(the("ENV"))
    assert "FLEETSYNC_CONFIG=/etc/fleetsync/fleetsync.toml" in env
    assert "FLEETSYNC_DATA_DIR=/var/lib/fleetsync" in env
    assert "PATH=/opt/fleetsync/.venv/bin:$PATH" in env  # the same venv path as under systemd
    assert the("EXPOSE") == ["8080"]
    assert the("STOPSIGNAL") == ["SIGTERM"]
    assert_cli_accepts(json.loads(cmd))


def test_no_secret_can_reach_the_image() -> None:
    sources = set()
    for copy in the("COPY"):
        *paths, _destination = copy.split()
        if not paths[0].startswith("--from="):
            sources |= set(paths)
    # Only what the wheel is built from: never the context as a whole, credentials or configs.
    assert sources == {"pyproject.toml", "README.md", "src/"}
    assert not the("ADD")
    for line in the("ARG") + the("ENV"):
        assert not re.search(r"SECRET|TOKEN|PASSWORD|DATABASE_URL|KEY", line), line
    # And the build context itself holds nothing else (.dockerignore: all out, then these in).
    patterns = [p for p in DOCKERIGNORE.read_text().splitlines() if p and not p.startswith("#")]
    assert patterns[0] == "**"
    assert {p[1:] for p in patterns if p.startswith("!")} == sources


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel the build stage makes (same backend as ``python -m build --wheel``)."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("fleetsync-*.whl")
    return built


def test_the_wheel_carries_the_migrations_and_the_command(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        assert "fleetsync = fleetsync.cli:main" in archive.read(entry_points).decode()
    migrations = [n for n in names if n.startswith("fleetsync/ledger/migrations/")]
    assert "fleetsync/ledger/migrations/script.py.mako" in migrations
    assert any(re.match(r"fleetsync/ledger/migrations/versions/\w+\.py$", n) for n in migrations)
    # Nothing but the package and its metadata.
    assert {n.split("/")[0] for n in names} == {
        "fleetsync",
        wheel.name.split("-py3")[0] + ".dist-info",
    }
