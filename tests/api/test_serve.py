"""``fleetsync serve`` as an operator runs it: a real process, configured from a file and the
environment, that answers, logs what it did without a single secret, and stops on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from fleetsync import clock
from fleetsync.ledger import open_ledger
from fleetsync.settings import Settings
from tests.api.conftest import DEVICES, Desk, add_devices, checkout_event, new_secret
from tests.waiting import wait_until

# Starts processes (`fleetsync serve` runs as a subprocess): not part of .ci/run's clock runs.
pytestmark = pytest.mark.processes


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def desk() -> Desk:
    return Desk("antwerpen", [new_secret(), new_secret()])


@pytest.fixture
def served(tmp_path: Path, desk: Desk, admin_token: str) -> Iterator[tuple[str, Path]]:
    data = tmp_path / "data"
    config = tmp_path / "fleetsync.toml"
    config.write_text(
        f'data_dir = "{data}"\nlog_format = "json"\n\n'
        # Nowhere: whatever the reconciler tries in the background fails fast, never reaches Google.
        '[google]\nendpoint = "http://127.0.0.1:9/"\n\n'
        "[api]\nwebhook_tolerance_seconds = 300\n\n[api.desks.antwerpen]\n\n"
        # The devices are imported, never synced (no Google here): lendable all the same.
        "[loans]\nlend_unconfirmed = true\n",
        encoding="utf-8",
    )
    with open_ledger(Settings(data_dir=data)) as ledger:
        add_devices(ledger, *DEVICES)
    port = _free_port()
    env = {
        # Only the pinned clock of the test run: nothing else of the developer's FLEETSYNC_*.
        **{k: v for k, v in os.environ.items() if not k.startswith("FLEETSYNC_")},
        clock.ENV: os.environ[clock.ENV],
        "FLEETSYNC_API__DESKS__ANTWERPEN__SECRETS": json.dumps(desk.secrets),
        "FLEETSYNC_API__DESKS__ANTWERPEN__TOKEN": desk.token,
        "FLEETSYNC_API__ADMIN_TOKENS": json.dumps([admin_token]),
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "fleetsync", "serve", "--port", str(port), "--config", config],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"

            def live() -> bool:
                assert process.poll() is None, log.read_text()
                try:
                    return httpx.get(f"{url}/livez", timeout=1).status_code == 200
                except httpx.TransportError:
                    return False

            wait_until(live, what="fleetsync serve to answer", timeout=30, detail=log.read_text)
            yield url, log
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                # uvicorn shuts down cleanly, then dies of the signal it caught, as a service
                # manager expects.
                assert process.wait(20) in (0, -signal.SIGTERM), log.read_text()
                assert "Application shutdown complete" in log.read_text()
            finally:
                if process.poll() is None:
                    process.kill()


def test_serve_answers_and_never_logs_a_secret(
    served: tuple[str, Path], desk: Desk, admin_token: str
) -> None:
    url, log = served
    with httpx.Client(base_url=url, timeout=10) as http:
        assert http.get("/readyz").status_code == 200
        body = checkout_event()
        accepted = http.post("/webhooks/loan-desk", content=body, headers=desk.sign(body))
        assert accepted.status_code == 202, accepted.text
        loan = accepted.json()["loan"]
        password = http.post(f"/v1/loans/{loan}/credentials", headers=desk.auth).json()["password"]
        assert http.get(f"/v1/loans/{loan}", headers=desk.auth).status_code == 200
        assert http.get("/metrics", headers={"Authorization": f"Bearer {admin_token}"}).is_success
    # The last request's access line is there: so is every line before it.
    wait_until(lambda: "GET /metrics" in log.read_text(), what="the access log", timeout=10)
    text = log.read_text()
    assert f"POST /v1/loans/{loan}/credentials" in text  # uvicorn's access log is there
    assert '"webhook_id"' in text  # and fleetsync's own line for the event
    for secret in (password, desk.token, admin_token, *desk.secrets):
        assert secret not in text
    # The names the desk sent are personal data: not in the log either.
    assert "Öztürk" not in text
    assert "\\u00d6zt\\u00fcrk" not in text
