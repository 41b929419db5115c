"""The sandbox in a process of its own, for benchmarks: fleetsync and the sandbox then do not share
a GIL, so the sandbox's work never shows up in fleetsync's wall time or peak memory.

    python bench/_sandbox.py --devices 100000 --config DIR/fleetsync.toml --overrides '{...}'

Seeds a tenant with ``--devices`` devices in /Chromebooks/Staging, serves it on a free port,
writes a fleetsync config pointing at it (``--overrides`` merged in, as JSON), prints one JSON
line (``url``, ``config``) and serves until its standard input closes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fleetsync.sandbox.auth import ServiceAccount
from fleetsync.sandbox.handoff import write_config, write_key_file
from fleetsync.sandbox.seed import seeded_tenant
from fleetsync.sandbox.server import SandboxServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, required=True)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--overrides", default="{}")
    args = parser.parse_args()
    tenant = seeded_tenant(args.devices, account=ServiceAccount.generate())
    server = SandboxServer(tenant).start()
    try:
        key_file = write_key_file(
            tenant, server.token_uri, args.config.parent / "service-account.json"
        )
        write_config(
            tenant, args.config, url=server.url, key_file=key_file, **json.loads(args.overrides)
        )
        print(json.dumps({"url": server.url, "config": str(args.config)}), flush=True)
        sys.stdin.read()  # until the benchmark closes our input (or dies)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
