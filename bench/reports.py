"""The reports at scale: a ledger of 100,000 devices and 1,000,000 loans over two years, then
`report loans` for twelve months by month and region, `report fleet`, and `report courses`
(course periods of two months per region, each loan for the one containing its checkout, 6,000
open reservations for the next ones); and `loan import` of 100,000 historical loans into a
fresh ledger.

    .venv/bin/python bench/reports.py                       # SQLite in a temporary directory
    .venv/bin/python bench/reports.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

The ledger is written straight into the tables (SQLAlchemy Core, bulk inserts): the service
functions would take hours for a million loans (bench/ledger.py measures them). Each device
goes out again and again, some 65 days at a time with a week or two of refurbishment between,
in its region (one in a hundred moves to another region halfway); 10 % are 4G; one loan in ten
is extended (a third of those after it was due), one in a hundred is lost, and a device's last
loan may still be open. The reports read loans, extensions and devices only, so each device's
loans share one borrower. On PostgreSQL the run uses a schema of its own, dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Figures, database, measure, peak_rss_mib
from fleetsync.ledger import Ledger, open_ledger
from fleetsync.ledger.models import (
    Borrower,
    CoursePeriod,
    CoursePeriodRegion,
    Device,
    Loan,
    LoanExtension,
    Reservation,
)
from fleetsync.reports.courses import CourseReport, course_report
from fleetsync.reports.fleet import FleetReport, fleet_report
from fleetsync.reports.loans import Grouping, LoanReport, loan_report
from fleetsync.settings import DEFAULT_REGIONS, Settings

T = TypeVar("T")
BATCH = 50_000
#: Each timing is the best of this many runs: the least disturbed by whatever else the machine
#: is doing.
RUNS = 3


def _history(
    rng: random.Random, device_id: int, start: datetime, now: datetime
) -> Iterator[dict[str, Any]]:
    """One device's loans, back to back from ``start`` until ``now``."""
    moment = start + timedelta(days=rng.uniform(0, 20))
    while True:
        agreed = max(14, round(rng.gauss(65, 15)))
        out = moment.replace(hour=rng.randint(7, 17), minute=rng.randint(0, 59))
        if out >= now:
            return
        agreed_end = (out + timedelta(days=agreed)).date()
        kept = max(0, round(agreed + rng.gauss(0, 6)))
        back = out + timedelta(days=kept, hours=rng.uniform(0, 6))
        loan: dict[str, Any] = {
            "device_id": device_id,
            "checked_out_at": out,
            "agreed_end": agreed_end,
            "returned_at": None if back >= now else back,
            "return_condition": None if back >= now else "ok",
        }
        if loan["returned_at"] is not None and rng.random() < 0.01:
            loan["return_condition"] = "lost"
        if rng.random() < 0.1:
            # Extended: mostly before it was due, a third of them late.
            late = rng.random() < 1 / 3
            asked = datetime.combine(agreed_end, out.timetz()) + timedelta(
                days=rng.randint(1, 10) if late else -rng.randint(1, 10)
            )
            if asked > out and (loan["returned_at"] is None or asked < loan["returned_at"]):
                new_end = agreed_end + timedelta(days=rng.randint(14, 30))
                loan["extension"] = (agreed_end, new_end, asked)
                loan["agreed_end"] = new_end
        yield loan
        if loan["returned_at"] is None or loan["return_condition"] == "lost":
            return
        moment = back + timedelta(days=rng.uniform(3, 20))


#: Course periods: two months each, from this many days before now, in every region.
COURSE_DAYS = 61


def _course_of(region_index: int, day: date, origin: date) -> int:
    """The index of the course period containing ``day`` (each region's periods are shifted by
    a few days, as regions' dates differ)."""
    return ((day - origin).days - region_index * 3) // COURSE_DAYS


def _course_name(region_index: int, k: int) -> str:
    return f"{DEFAULT_REGIONS[region_index]} {k:03d}"


def _courses(conn: sa.Connection, origin: date, now: datetime) -> int:
    rows: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    ident = 0
    last = (now.date() - origin).days // COURSE_DAYS + 2
    for r in range(len(DEFAULT_REGIONS)):
        for k in range(-1, last + 1):
            ident += 1
            first = origin + timedelta(days=k * COURSE_DAYS + r * 3)
            rows.append(
                {
                    "id": ident,
                    "name": _course_name(r, k),
                    "first_day": first,
                    "last_day": first + timedelta(days=COURSE_DAYS - 1),
                    "created_at": now,
                }
            )
            links.append({"course_id": ident, "region": DEFAULT_REGIONS[r]})
    conn.execute(sa.insert(CoursePeriod), rows)
    conn.execute(sa.insert(CoursePeriodRegion), links)
    # The next course period of each region: 1,000 open reservations each, 10 % needing data.
    nexts: dict[str, int] = {}
    for c, link in zip(rows, links, strict=True):
        if c["first_day"] > now.date() and link["region"] not in nexts:
            nexts[link["region"]] = c["id"]
    conn.execute(
        sa.insert(Reservation),
        [
            {
                "course_id": course_id,
                "borrower": f"R-{region[:3]}-{i}",
                "region": region,
                "needs_data": i % 10 == 0,
                "status": "open",
                "created_at": now,
            }
            for region, course_id in nexts.items()
            for i in range(1000)
        ],
    )
    return len(rows)


def build(ledger: Ledger, devices: int, loans: int, now: datetime) -> int:
    """Write ``devices`` devices and about ``loans`` loans; returns how many loans."""
    rng = random.Random(20261123)
    start = now - timedelta(days=730)
    region_count = len(DEFAULT_REGIONS)
    # ~10 loans per device in two years; scale the history to the loans asked for.
    span = timedelta(days=730 * loans / (devices * 9.4))
    with ledger.engine.begin() as conn:
        device_rows: list[dict[str, Any]] = []
        borrower_rows: list[dict[str, Any]] = []
        for i in range(1, devices + 1):
            device_rows.append(
                {
                    "id": i,
                    "serial": f"5CD{i:07d}",
                    "asset_tag": f"CB-{i:06d}",
                    "model": "Acer C733",
                    "region": DEFAULT_REGIONS[i % region_count],
                    "connectivity": "4g" if i % 10 == 0 else "wifi",
                    "state": "spare",
                    "state_since": start,
                    "created_at": start,
                    # Delivered in four batches in the first months.
                    "available_from": (start + timedelta(days=30 * (i % 4))).date(),
                }
            )
            borrower_rows.append(
                {
                    "id": i,
                    "desk_id": f"B-{i:07d}",
                    "region": DEFAULT_REGIONS[i % region_count],
                    "account_status": "suspended",
                    "created_at": start,
                }
            )
        conn.execute(sa.insert(Device), device_rows)
        conn.execute(sa.insert(Borrower), borrower_rows)
        origin = (now - span).date() - timedelta(days=20)
        _courses(conn, origin, now)

        # Every device's history first, then the loans in checkout order: a ledger's loan ids
        # grow with time, and so the reports' range scans read the table in order.
        histories: list[dict[str, Any]] = []
        for device in device_rows:
            moved = rng.random() < 0.01
            last: dict[str, Any] | None = None
            for loan in _history(rng, device["id"], now - span, now):
                if moved and loan["checked_out_at"] > now - span / 2:
                    device["region"] = DEFAULT_REGIONS[(device["id"] + 1) % region_count]
                r = DEFAULT_REGIONS.index(device["region"])
                k = _course_of(r, loan["checked_out_at"].date(), origin)
                loan.update(
                    borrower_id=device["id"],
                    needs_data=device["connectivity"] == "4g",
                    region=device["region"],
                    connectivity=device["connectivity"],
                    # One loan in twenty for no course period (a partner's loan).
                    course_period=None if rng.random() < 0.05 else _course_name(r, k),
                )
                histories.append(loan)
                last = loan
            if last is not None:
                device["state"] = (
                    "on_loan"
                    if last["returned_at"] is None
                    else "lost"
                    if last["return_condition"] == "lost"
                    else "in_refurbishment"
                    if now - last["returned_at"] < timedelta(days=10)
                    else "spare"
                )
        histories.sort(key=lambda loan: loan["checked_out_at"])
        for first in range(0, len(histories), BATCH):
            batch = histories[first : first + BATCH]
            extensions = []
            for loan_id, loan in enumerate(batch, start=first + 1):
                loan["id"] = loan_id
                extension = loan.pop("extension", None)
                if extension is not None:
                    previous, new, asked = extension
                    extensions.append(
                        {
                            "loan_id": loan_id,
                            "previous_end": previous,
                            "new_end": new,
                            "extended_at": asked,
                            "actor": "webhook:bench",
                        }
                    )
            conn.execute(sa.insert(Loan), batch)
            if extensions:
                conn.execute(sa.insert(LoanExtension), extensions)
        # Where each device ended up (its state, its region if it moved).
        devices_table = sa.table(
            "devices", sa.column("id"), sa.column("state"), sa.column("region")
        )
        conn.execute(
            sa.update(devices_table)
            .where(devices_table.c.id == sa.bindparam("device"))
            .values(state=sa.bindparam("state"), region=sa.bindparam("region")),
            [{"device": d["id"], "state": d["state"], "region": d["region"]} for d in device_rows],
        )
        conn.execute(sa.text("ANALYZE"))
    return len(histories)


def best(action: Callable[[], T]) -> tuple[float, T]:
    """The shortest of RUNS timed runs of ``action``, and its result."""
    timings = []
    for _ in range(RUNS):
        with measure() as timed:
            result = action()
        timings.append(timed["seconds"])
    return min(timings), result


def run(url: str, devices: int, loans: int, figures: Figures) -> None:
    settings = Settings(database_url=url, data_dir=Path(tempfile.mkdtemp(prefix="fleetsync-")))
    now = datetime.now(UTC).replace(microsecond=0)
    ledger = open_ledger(settings)
    with measure() as built:
        written = build(ledger, devices, loans, now)
    figures.add(f"write {devices:,} devices and {written:,} loans (Core bulk inserts)",
                built["seconds"], "s")  # fmt: skip

    today = now.astimezone().date()
    year, month = divmod(today.year * 12 + today.month - 12, 12)
    first = date(year, month + 1, 1)
    for grouping in (Grouping.MONTH_REGION, Grouping.MONTH):

        def report_by(grouping: Grouping = grouping) -> LoanReport:
            with ledger.read() as session:
                return loan_report(
                    session, first=first, last=today, grouping=grouping,
                    regions=DEFAULT_REGIONS, title="bench", now=now,
                )  # fmt: skip

        seconds, report = best(report_by)
        figures.add(
            f"loan_report() {first} to {today}, by {grouping.value} ({len(report.rows)} rows)",
            seconds,
            "s",
        )
    total = report.find(None, None)

    def fleet_now() -> FleetReport:
        with ledger.read() as session:
            return fleet_report(session, regions=DEFAULT_REGIONS, title="bench", now=now)

    seconds, fleet = best(fleet_now)
    figures.add("fleet_report()", seconds * 1000, "ms")

    def courses_now() -> CourseReport:
        with ledger.read() as session:
            return course_report(session, regions=DEFAULT_REGIONS, title="bench", now=now)

    seconds, courses = best(courses_now)
    figures.add(f"course_report() ({len(courses.rows)} rows)", seconds, "s")
    ledger.close()

    env = {
        **os.environ,
        "FLEETSYNC_DATABASE_URL": url,
        "FLEETSYNC_DATA_DIR": str(settings.data_dir),
        "FLEETSYNC_LOG_LEVEL": "warning",
    }
    fleetsync = Path(sys.executable).parent / "fleetsync"
    for args in (
        ["--version"],
        ["report", "loans", "--format", "json"],
        ["report", "loans", "--format", "html", "--out", os.devnull],
        ["report", "fleet", "--format", "json"],
        ["report", "courses", "--format", "json"],
        ["report", "courses", "--lang", "nl", "--format", "html", "--out", os.devnull],
    ):

        def command(args: list[str] = args) -> str:
            return subprocess.run(
                [str(fleetsync), *args], env=env, check=True, capture_output=True, text=True
            ).stdout

        seconds, out = best(command)
        figures.add(f"`fleetsync {' '.join(args[:4])}` (whole command)", seconds, "s")
        if args[:4] == ["report", "loans", "--format", "json"]:
            cli_total = json.loads(out)["rows"][-1]
            assert cli_total["devices_lent"] == total.devices_lent, "CLI and library disagree"
    lent = f"{total.devices_lent:,} ({total.devices_wifi:,} / {total.devices_4g:,})"
    figures.add("  twelve months: devices lent (wifi / 4G)", lent)
    figures.add("  agreed / actual days (average)", f"{total.avg_agreed_days} / "
                f"{total.avg_actual_days}")  # fmt: skip
    figures.add("  open / overdue today", f"{total.open_at_end:,} / {total.overdue_at_end:,}")
    figures.add("  lendable devices", fleet.find(None, None).lendable)
    everything = courses.find(None, None)
    figures.add(
        "  courses: used (wifi / 4G), reserved (wifi / 4G)",
        f"{everything.used_wifi:,} / {everything.used_4g:,}, "
        f"{everything.reserved_wifi:,} / {everything.reserved_4g:,}",
    )
    figures.add("peak memory of this process", peak_rss_mib(), "MiB")


def import_history(url: str, loans: int, figures: Figures) -> None:
    """`loan import` of ``loans`` closed loans (ten per device, back to back) into a ledger that
    has the devices and nothing else."""
    from fleetsync import services
    from fleetsync.domain.inventory import parse_devices_csv
    from fleetsync.services.loan_import import import_loans, parse_loans_csv

    devices = max(1, loans // 10)
    settings = Settings(database_url=url, data_dir=Path(tempfile.mkdtemp(prefix="fleetsync-")))
    ledger = open_ledger(settings)
    inventory = "serial,asset_tag,model,region,connectivity,available_from\n" + "".join(
        f"9CD{i:07d},IM-{i:06d},Acer,{DEFAULT_REGIONS[i % 6]},{'4g' if i % 10 == 0 else 'wifi'},"
        "2020-05-11\n"
        for i in range(devices)
    )
    with ledger.transaction() as session:
        services.import_devices(
            session, parse_devices_csv(inventory, regions=DEFAULT_REGIONS), actor="cli:bench"
        )
    lines = ["serial;borrower_id;given_name;family_name;region;checked_out;agreed_end;returned;"
             "condition;course;needs_data"]  # fmt: skip
    origin = date(2020, 6, 1)
    for n in range(loans):
        device, turn = n % devices, n // devices
        out = origin + timedelta(days=70 * turn + device % 5)
        lines.append(
            f"9CD{device:07d};H-{n};Naam;Test;{DEFAULT_REGIONS[device % 6]};{out};"
            f"{out + timedelta(days=65)};{out + timedelta(days=60)};ok;;"
        )
    text = "\ufeff" + "\n".join(lines) + "\n"
    programme = services.Programme.from_settings(settings)
    for label in ("", " again (all unchanged)"):
        with measure() as timed, ledger.transaction() as session:
            report = import_loans(
                session,
                parse_loans_csv(text, regions=DEFAULT_REGIONS),
                programme=programme,
                actor="cli:bench",
            )
        done = report.imported_closed + report.unchanged
        assert done == loans, (report.imported_closed, report.unchanged)
        figures.add(f"loan import of {loans:,} past loans{label}", timed["seconds"], "s")
    ledger.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--import-loans", type=int, default=100_000)
    args = parser.parse_args()
    backend = "PostgreSQL" if args.postgres else "SQLite"
    figures = Figures(f"Reports on {backend}")
    with database(args.postgres) as url:
        run(url, args.devices, args.loans, figures)
    with database(args.postgres) as url:
        import_history(url, args.import_loans, figures)
    figures.print()


if __name__ == "__main__":
    main()
