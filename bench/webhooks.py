"""Signed webhooks ingested by a running ``fleetsync serve`` over loopback, as loan desks send
them: checkouts (each a new borrower: account, sealed password, loan, audit, outbox), then
returns, then redeliveries of events already applied. Every event is signed beforehand (signing
is the desk's cost); the figures are what the server sustains with ``--clients`` desks sending at
once.

    .venv/bin/python bench/webhooks.py                       # SQLite in a temporary directory
    .venv/bin/python bench/webhooks.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

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
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from standardwebhooks import Webhook

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Figures, database
from fleetsync import services
from fleetsync.domain.inventory import parse_devices_csv
from fleetsync.ledger import open_ledger
from fleetsync.settings import Settings

Request = tuple[bytes, dict[str, str]]


@contextmanager
def server(url: str, data: Path, secret: str) -> Iterator[tuple[str, int]]:
    """``fleetsync serve`` on a free port of the loopback, on the ledger at ``url``."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = data / "fleetsync.toml"
    config.write_text(
        f'data_dir = "{data}"\ndatabase_url = "{url}"\nlog_level = "warning"\n'
        'log_format = "json"\n\n[google]\nendpoint = "http://127.0.0.1:9/"\n\n'
        "[api.desks.bench]\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "FLEETSYNC_API__DESKS__BENCH__SECRETS": json.dumps([secret]),
        "FLEETSYNC_API__DESKS__BENCH__TOKEN": secrets.token_urlsafe(32),
    }
    log = (data / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "fleetsync", "serve", "--port", str(port), "--config", config],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"fleetsync serve did not start; see {data / 'serve.log'}")
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(30)
        log.close()


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
        until = (date.today() + timedelta(days=60)).isoformat()
        checkouts = signed(
            secret,
            [
                {
                    "type": "loan.checked_out",
                    "data": {
                        "device": {"serial": f"BENCH{i:06d}"},
                        "borrower": {
                            "id": f"B-{i}",
                            "given_name": "Amina",
                            "family_name": f"Bench{i}",
                            "region": "Antwerpen",
                        },
                        "agreed_end": until,
                    },
                }
                for i in range(events)
            ],
        )
        returns = signed(
            secret,
            [
                {"type": "loan.returned", "data": {"device": {"asset_tag": f"BT-{i:06d}"}}}
                for i in range(events)
            ],
        )
        with server(url, data, secret) as (base, pid):
            phase(figures, "checkouts", pid, base, checkouts, clients)
            phase(figures, "returns", pid, base, returns, clients)
            phase(figures, "redeliveries of checkouts", pid, base, checkouts, clients)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL instead of SQLite")
    parser.add_argument("--events", type=int, default=2000, help="checkouts (and returns)")
    parser.add_argument("--clients", type=int, default=8, help="desks sending at once")
    args = parser.parse_args()
    kind = "PostgreSQL" if args.postgres else "SQLite"
    figures = Figures(f"Webhooks on {kind}, {args.clients} clients at once")
    with database(args.postgres) as url:
        run(url, args.events, args.clients, figures)
    figures.print()


if __name__ == "__main__":
    main()
