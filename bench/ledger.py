"""The ledger at programme scale: 100,000 devices, then checkouts and returns through the service
functions (one transaction each, as the webhook and the CLI do them), then `device list --json`.

    .venv/bin/python bench/ledger.py                       # SQLite in a temporary directory
    .venv/bin/python bench/ledger.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

On PostgreSQL the run uses a schema of its own (``bench_<pid>``), dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Figures, database, measure, peak_rss_mib
from fleetsync import services
from fleetsync.domain.inventory import DeviceRow
from fleetsync.domain.lifecycle import Connectivity
from fleetsync.ledger import open_ledger, queries
from fleetsync.settings import DEFAULT_REGIONS, AccountSettings, LoanSettings, Settings

GIVEN = ["Amina", "Jan", "Ayşe", "Mohammed", "Olena", "Pieter", "Fatima", "Yusuf", "Marie",
         "Ahmad", "Sara", "Dmytro", "Nour", "Lucas", "Hiba", "Tomas", "Zainab", "Omar"]  # fmt: skip
FAMILY = [f"{stem}{suffix}" for stem in ("Peeters", "Öztürk", "Haddad", "Kovalenko", "Janssens",
          "El Amrani", "Maes", "Rahimi", "Claes", "Nguyen") for suffix in ("", "-Smet", " Diallo",
          "son", " Wouters", "-Ali", " Bakker", " Goossens", " Mertens", " Dubois")]  # fmt: skip
ACTOR = "webhook:bench"
START = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def inventory(count: int) -> list[DeviceRow]:
    rng = random.Random(20260901)
    return [
        DeviceRow(
            line=i + 2,
            serial=f"5CD{i:07d}",
            asset_tag=f"CB-{i:06d}",
            model=rng.choice(["Acer C733", "HP 11 G9", "Lenovo 100e"]),
            region=DEFAULT_REGIONS[i % len(DEFAULT_REGIONS)],
            connectivity=Connectivity.FOUR_G if i % 10 == 0 else Connectivity.WIFI,
        )
        for i in range(count)
    ]


def run(url: str, devices: int, loans: int, figures: Figures) -> None:
    settings = Settings(database_url=url, data_dir=Path(tempfile.mkdtemp(prefix="fleetsync-")))
    key = Fernet.generate_key()
    # The devices are imported, never synced with Google: lend them all the same.
    programme = services.Programme(
        regions=DEFAULT_REGIONS,
        accounts=AccountSettings(),
        key=lambda: key,
        loans=LoanSettings(lend_unconfirmed=True),
    )
    with measure() as opened:
        ledger = open_ledger(settings)
    figures.add("open + migrate an empty ledger", opened["seconds"] * 1000, "ms")
    rows = inventory(devices)
    with measure() as imported, ledger.transaction() as session:
        services.import_devices(session, rows, actor=ACTOR, now=START)
    figures.add(f"import {devices:,} devices (one transaction)", imported["seconds"], "s")

    rng = random.Random(7)
    lent = rows[:loans]
    with measure() as checkouts:
        for i, row in enumerate(lent):
            with ledger.transaction() as session:
                services.checkout(
                    session,
                    device=row.serial,
                    borrower=f"B-{i:06d}",
                    given_name=rng.choice(GIVEN),
                    family_name=rng.choice(FAMILY),
                    region=row.region,
                    until=date(2026, 11, 30),
                    needs_data=row.connectivity is Connectivity.FOUR_G,
                    programme=programme,
                    actor=ACTOR,
                    now=START + timedelta(seconds=i),
                )
    figures.add(f"checkouts ({loans:,}, one transaction each)", loans / checkouts["seconds"], "/s")
    back = lent[: loans // 2]
    with measure() as returns:
        for i, row in enumerate(back):
            with ledger.transaction() as session:
                services.return_device(
                    session,
                    device=row.serial,
                    actor=ACTOR,
                    now=START + timedelta(days=60, seconds=i),
                )
    figures.add(
        f"returns ({len(back):,}, one transaction each)", len(back) / returns["seconds"], "/s"
    )

    with measure() as query, ledger.read() as session:
        listed = queries.device_rows(session, today=date(2026, 10, 1))
    assert len(listed) == devices
    figures.add(f"device_rows() for {devices:,} devices (one query)", query["seconds"], "s")
    ledger.close()

    env = {
        **os.environ,
        "FLEETSYNC_DATABASE_URL": url,
        "FLEETSYNC_DATA_DIR": str(settings.data_dir),
    }
    fleetsync = Path(sys.executable).parent / "fleetsync"
    with measure() as cli, tempfile.TemporaryFile() as out:
        subprocess.run(
            [str(fleetsync), "device", "list", "--json"], env=env, stdout=out, check=True
        )
        size = out.tell()
    figures.add("`fleetsync device list --json` (whole command)", cli["seconds"], "s")
    figures.add("  its output", size / 2**20, "MiB")
    figures.add("peak memory of this process", peak_rss_mib(), "MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--loans", type=int, default=5_000)
    args = parser.parse_args()
    backend = "PostgreSQL" if args.postgres else "SQLite (WAL, synchronous=FULL)"
    figures = Figures(f"Ledger on {backend}")
    with database(args.postgres) as url:
        run(url, args.devices, args.loans, figures)
    figures.print()


if __name__ == "__main__":
    main()
