"""The sandbox at benchmark scale: a 100,000-device tenant serving fleetsync's device pages.

    .venv/bin/python bench/sandbox.py                    # 100,000 devices, 300 samples a figure
    .venv/bin/python bench/sandbox.py --devices 20000 --samples 50

Every page goes through real HTTP to a sandbox serving in this process, with Google's own client
and fleetsync's request (300 devices, BASIC projection, its ``fields`` mask). "Client" figures are
what the caller waits for (request, answer, JSON parsed); "server" figures are the sandbox's own
time per call from its request log. Goal: under 10 ms median per page, so that the sandbox is
never the bottleneck of a fleetsync benchmark.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Figures, measure, peak_rss_mib, rss_mib
from fleetsync.google.wire import DEVICE_FIELDS
from fleetsync.sandbox.seed import seeded_tenant
from fleetsync.sandbox.state import load_tenant, save_tenant
from fleetsync.sandbox.testing import running_sandbox, shared_account

PAGE = 300
LIST_METHOD = "directory.chromeosdevices.list"


def page_request(api: Any, token: str | None = None, **extra: Any) -> Any:
    """``chromeosdevices.list`` exactly as fleetsync's ``Directory.iter_devices`` sends it."""
    return api.chromeosdevices().list(
        customerId="my_customer",
        maxResults=PAGE,
        projection="BASIC",
        fields=f"nextPageToken,chromeosdevices({DEVICE_FIELDS})",
        pageToken=token,
        **extra,
    )


def sample(samples: int, call: Callable[[], Any]) -> list[float]:
    """Milliseconds per call, after a few warm-up calls."""
    for _ in range(5):
        call()
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def add_timings(figures: Figures, what: str, client: list[float], server: list[float]) -> None:
    figures.add(f"{what}: client, median", statistics.median(client), "ms")
    figures.add(f"{what}: client, p95", p95(client), "ms")
    figures.add(f"{what}: server, median", statistics.median(server), "ms")


def run(devices: int, samples: int, figures: Figures) -> None:
    account = shared_account()
    before = rss_mib()
    with measure() as seeding:
        tenant = seeded_tenant(devices, account=account)
    figures.add(f"seed {devices:,} devices", seeding["seconds"], "s")
    figures.add("  the tenant in memory (resident growth)", rss_mib() - before, "MiB")
    with tempfile.TemporaryDirectory(prefix="fleetsync-bench-") as scratch:
        state = Path(scratch) / "tenant.json"
        with measure() as saving:
            save_tenant(tenant, state)
        figures.add("save it to --state", saving["seconds"], "s")
        figures.add("  the state file", state.stat().st_size / 2**20, "MiB")
        with measure() as loading:
            load_tenant(state)
        figures.add("load it from --state", loading["seconds"], "s")

    with running_sandbox(tenant=tenant) as sandbox:
        api = sandbox.directory()
        control = sandbox.control

        def timed(what: str, call: Callable[[], Any]) -> None:
            control.reset_counters()
            client = sample(samples, call)
            entries = control.log(method=LIST_METHOD, limit=samples + 10)
            server = [float(e["ms"]) for e in entries[5:]]
            add_timings(figures, what, client, server)

        timed("first page (300 devices)", lambda: page_request(api).execute())

        # Every page token of one walk, to ask for pages anywhere in the fleet.
        tokens: list[str] = []
        walked = 0
        with measure() as walk:
            token = None
            while True:
                page = page_request(api, token).execute()
                walked += len(page.get("chromeosdevices", []))
                token = page.get("nextPageToken")
                if not token:
                    break
                tokens.append(token)
        assert walked == devices, f"the walk saw {walked:,} devices of {devices:,}"
        rng = random.Random(1)
        timed(
            "a page anywhere in the fleet", lambda: page_request(api, rng.choice(tokens)).execute()
        )
        timed(
            "a page of an org unit subtree",
            lambda: page_request(
                api, orgUnitPath="Chromebooks", includeChildOrgunits=True
            ).execute(),
        )
        serials = [d.data["serialNumber"] for d in tenant.devices.devices]
        timed(
            "a serial lookup (id: query)",
            lambda: page_request(api, query=f"id:{rng.choice(serials)}").execute(),
        )
        figures.add(f"walk all {len(tokens) + 1:,} pages", walk["seconds"], "s")
        figures.add("  devices a second", walked / walk["seconds"], "/s")
    figures.add("peak memory of this process", peak_rss_mib(), "MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=300, help="timed calls per figure")
    args = parser.parse_args()
    figures = Figures(f"Sandbox with {args.devices:,} devices")
    run(args.devices, args.samples, figures)
    figures.print()


if __name__ == "__main__":
    main()
