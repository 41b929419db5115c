"""Signed webhooks ingested by a running ``fleetsync serve`` over loopback, as loan desks send
them: checkouts (each a new borrower: account, sealed password, loan, audit, outbox), then
returns, then redeliveries of events already applied. Every event is signed beforehand (signing
is the desk's cost); the figures are what the server sustains with ``--clients`` desks sending at
once.

    .venv/bin/python bench/webhooks.py                       # SQLite in a temporary directory
    .venv/bin/python bench/webhooks.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/webhooks.py --converge 30     # checkout → converged, in the sandbox

The server is a separate process (one uvicorn worker, as ``fleetsync serve`` runs), so the load
generator does not share its interpreter. Its outbox worker runs too; nothing reaches Google.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from standardwebhooks import Webhook

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Figures, database
from fleetsync import services
from fleetsync.domain.inventory import parse_devices_csv
from fleetsync.google import Google
from fleetsync.ledger import open_ledger
from fleetsync.settings import Settings

Request = tuple[bytes, dict[str, str]]


def bench_config(data: Path, url: str) -> Path:
    """A config with one desk (``bench``; its secret and token come from the environment) and
    no Google key: the server records events, nothing drains them. The devices are never synced
    with Google, so they are lent unconfirmed."""
    config = data / "fleetsync.toml"
    config.write_text(
        f'data_dir = "{data}"\ndatabase_url = "{url}"\nlog_level = "warning"\n'
        'log_format = "json"\n\n[google]\nendpoint = "http://127.0.0.1:9/"\n\n'
        "[loans]\nlend_unconfirmed = true\n\n[api.desks.bench]\n",
        encoding="utf-8",
    )
    return config


@contextmanager
def serve(
    config: Path, environment: Mapping[str, str], *, attempts: int = 300
) -> Iterator[tuple[str, int]]:
    """``fleetsync serve --config CONFIG`` on a free port of the loopback, with these variables
    added to the environment (the desks' secrets and tokens), once it answers ``/readyz`` (asked
    ``attempts`` times); its address and process id. Its output goes to ``serve.log`` beside
    the config. Also used by bench/desk.py."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, **environment}
    log_path = config.parent / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "fleetsync", "serve", "--port", str(port), "--config", config],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(attempts):
                try:
                    if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            else:
                raise RuntimeError(f"fleetsync serve did not start; see {log_path}")
            yield base, process.pid
        finally:
            process.terminate()
            process.wait(30)


@contextmanager
def server(config: Path, secret: str, token: str) -> Iterator[tuple[str, int]]:
    """:func:`serve` with the ``bench`` desk's secret and token."""
    with serve(
        config,
        {
            "FLEETSYNC_API__DESKS__BENCH__SECRETS": json.dumps([secret]),
            "FLEETSYNC_API__DESKS__BENCH__TOKEN": token,
        },
    ) as started:
        yield started


def signed(secret: str, events: list[dict[str, object]]) -> list[Request]:
    key = Webhook(secret)
    now = datetime.now(UTC)
    requests = []
    for i, payload in enumerate(events):
        body = json.dumps(payload)
        webhook_id = f"msg_bench_{i}_{secrets.token_hex(4)}"
        headers = {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": key.sign(webhook_id, now, body),
            "content-type": "application/json",
        }
        requests.append((body.encode(), headers))
    return requests


def send_all(base: str, requests: list[Request], clients: int) -> tuple[float, list[float]]:
    """Send every request, ``clients`` at a time (each a keep-alive connection). Returns the
    wall time and each request's latency; any answer but 202 stops the run.

    The client is a few lines of asyncio over raw sockets with every request's bytes built
    beforehand: on a 2-core machine the load generator shares the CPU with the server, and a
    full HTTP client would spend as much per request as the server does."""
    return asyncio.run(_send_all(base, requests, clients))


async def _send_all(base: str, requests: list[Request], clients: int) -> tuple[float, list[float]]:
    host, port = base.removeprefix("http://").split(":")
    wire = [_http_request(host, body, headers) for body, headers in requests]
    todo = iter(wire)
    latencies: list[float] = []

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for request in todo:
                start = time.perf_counter()
                writer.write(request)
                status, answer = await _read_response(reader)
                latencies.append(time.perf_counter() - start)
                if status != 202:
                    raise RuntimeError(f"an event was not accepted: {status} {answer!r}")
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - start, latencies


def _http_request(host: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (
        f"POST /webhooks/loan-desk HTTP/1.1\r\nhost: {host}\r\n{head}"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    body = await reader.readexactly(length)
    return int(lines[0].split()[1]), body


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (Linux: /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def phase(
    figures: Figures, what: str, pid: int, base: str, requests: list[Request], clients: int
) -> None:
    """Send ``requests`` and record the rate, the latencies and the server's CPU per event."""
    cpu = cpu_seconds(pid)
    wall, latencies = send_all(base, requests, clients)
    used = cpu_seconds(pid) - cpu
    ordered = sorted(latencies)
    figures.add(f"{what} ({len(ordered):,})", len(ordered) / wall, "/s")
    figures.add("  latency p50", 1000 * ordered[len(ordered) // 2], "ms")
    figures.add("  latency p99", 1000 * ordered[int(len(ordered) * 0.99)], "ms")
    figures.add("  server CPU per event", 1000 * used / len(ordered), "ms")


def checkout(serial: str, i: int, region: str) -> dict[str, object]:
    """A desk's checkout of ``serial`` to a new borrower ``B-<i>`` of ``region``."""
    return {
        "type": "loan.checked_out",
        "data": {
            "device": {"serial": serial},
            "borrower": {
                "id": f"B-{i}",
                "given_name": "Amina",
                "family_name": f"Bench{i}",
                "region": region,
            },
            "agreed_end": (date.today() + timedelta(days=60)).isoformat(),
        },
    }


def converge(url: str, count: int, interval: float, figures: Figures) -> None:
    """Checkout → converged against the sandbox: ``fleetsync serve`` with the tenant's key, its
    devices in the ledger and adopted by a first ``fleetsync sync`` (as the daemon has them), and
    a desk's checkout every ``interval`` seconds. Each checkout's time runs from sending it until
    ``GET /v1/loans/{id}`` says complete: account created, device moved and annotated, policies
    in place."""
    from reconcile import sandbox_process

    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    token = secrets.token_urlsafe(32)
    overrides = {
        "database_url": url,
        "log_level": "warning",
        "log_format": "json",
        "api": {"desks": {"bench": {}}},
    }
    with (
        tempfile.TemporaryDirectory(prefix="fleetsync-bench-") as tmp,
        sandbox_process(count, Path(tmp), overrides) as sandbox,
    ):
        settings = sandbox.settings()
        region = settings.regions[0]
        with Google.connect(settings) as google:
            serials = [device.serial for device in google.directory.iter_devices()]
        csv = "serial,asset_tag,model,region,connectivity\n" + "".join(
            f"{serial},CV-{i:06d},Bench,{region},wifi\n" for i, serial in enumerate(serials)
        )
        with open_ledger(settings) as ledger, ledger.transaction() as session:
            services.import_devices(
                session, parse_devices_csv(csv, regions=settings.regions), actor="cli:bench"
            )
        command = [sys.executable, "-m", "fleetsync", "sync", "--config", str(sandbox.config)]
        subprocess.run(command, check=True, capture_output=True)
        events = [checkout(serial, i, region) for i, serial in enumerate(serials)]
        with server(sandbox.config, secret, token) as (base, _pid):
            latencies = asyncio.run(_converge(base, secret, token, events, interval))
    ordered = sorted(latencies)
    figures.add(f"checkout → converged ({count}, one every {interval:g} s)", "", "")
    figures.add("  p50", 1000 * ordered[len(ordered) // 2], "ms")
    figures.add("  p95", 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], "ms")
    figures.add("  slowest", 1000 * ordered[-1], "ms")


async def _converge(
    base: str, secret: str, token: str, events: list[dict[str, object]], interval: float
) -> list[float]:
    auth = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:

        async def one(event: dict[str, object]) -> float:
            [(body, headers)] = signed(secret, [event])
            start = time.perf_counter()
            answer = await http.post("/webhooks/loan-desk", content=body, headers=headers)
            if answer.status_code != 202:
                raise RuntimeError(f"checkout not accepted: {answer.status_code} {answer.text}")
            status_url = answer.json()["status_url"]
            while time.perf_counter() - start < 300:
                status = await http.get(status_url, headers=auth)
                if status.json()["progress"]["complete"]:
                    return time.perf_counter() - start
                await asyncio.sleep(0.02)
            raise RuntimeError(f"{status_url} did not converge in 5 minutes: {status.text}")

        tasks = []
        for event in events:
            tasks.append(asyncio.create_task(one(event)))
            await asyncio.sleep(interval)
        return list(await asyncio.gather(*tasks))


def run(url: str, events: int, clients: int, figures: Figures) -> None:
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    with tempfile.TemporaryDirectory(prefix="fleetsync-bench-") as tmp:
        data = Path(tmp)
        csv = "serial,asset_tag,model,region,connectivity\n" + "".join(
            f"BENCH{i:06d},BT-{i:06d},Bench,Antwerpen,wifi\n" for i in range(events)
        )
        rows = parse_devices_csv(csv, regions=("Antwerpen",))
        with (
            open_ledger(Settings(database_url=url, data_dir=data)) as ledger,
            ledger.transaction() as session,
        ):
            services.import_devices(session, rows, actor="cli:bench")
        checkouts = signed(
            secret, [checkout(f"BENCH{i:06d}", i, "Antwerpen") for i in range(events)]
        )
        returns = signed(
            secret,
            [
                {"type": "loan.returned", "data": {"device": {"asset_tag": f"BT-{i:06d}"}}}
                for i in range(events)
            ],
        )
        with server(bench_config(data, url), secret, secrets.token_urlsafe(32)) as (base, pid):
            phase(figures, "checkouts", pid, base, checkouts, clients)
            phase(figures, "returns", pid, base, returns, clients)
            phase(figures, "redeliveries of checkouts", pid, base, checkouts, clients)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL instead of SQLite")
    parser.add_argument("--events", type=int, default=2000, help="checkouts (and returns)")
    parser.add_argument("--clients", type=int, default=8, help="desks sending at once")
    parser.add_argument(
        "--converge",
        type=int,
        metavar="N",
        help="instead: N checkouts against the sandbox, each timed until Google has converged",
    )
    parser.add_argument(
        "--interval", type=float, default=3.0, help="seconds between --converge checkouts"
    )
    args = parser.parse_args()
    kind = "PostgreSQL" if args.postgres else "SQLite"
    if args.converge:
        figures = Figures(f"Checkout to converged in the sandbox, {kind}")
        with database(args.postgres) as url:
            converge(url, args.converge, args.interval, figures)
    else:
        figures = Figures(f"Webhooks on {kind}, {args.clients} clients at once")
        with database(args.postgres) as url:
            run(url, args.events, args.clients, figures)
    figures.print()


if __name__ == "__main__":
    main()
