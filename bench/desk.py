"""The loan desk's look-ups at scale: a ledger of 100,000 devices and 1,000,000 loans (six desks,
one per region), then the p95 of every search and list a desk makes (``services.lookup``), and of
the desk API's endpoints answered by a running ``fleetsync serve`` over loopback.

    .venv/bin/python bench/desk.py                       # SQLite in a temporary directory
    .venv/bin/python bench/desk.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

The ledger is written straight into the tables (SQLAlchemy Core, bulk inserts), as
bench/reports.py does: two years of back-to-back loans per device, each by a borrower of the
device's region (some 3 loans per borrower, names drawn from Belgian given and family names with
their accents), a desk per region (one loan in twenty a technician's, of no desk); a device's last
loan may still be open, some of them overdue. Each query runs ``--samples`` times with a
different device, borrower, name fragment or desk; the goal is p95 ≤ 50 ms. On PostgreSQL the
run uses a schema of its own, dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Figures, database, measure, peak_rss_mib
from fleetsync.domain.borrowers import name_key, name_words
from fleetsync.ledger import Ledger, open_ledger
from fleetsync.ledger.models import Borrower, BorrowerDeskWord, BorrowerWord, Device, Loan
from fleetsync.services import lookup
from fleetsync.settings import DEFAULT_REGIONS, Settings
from reports import _history
from webhooks import serve

BATCH = 50_000
GOAL_MS = 50.0
GIVEN = (
    "Ayşe", "Jan", "Els", "Mohamed", "Sofie", "Lucas", "Noor", "Léa", "Emre", "Fatima", "Wout",
    "Zoë", "Amélie", "Bram", "Inès", "Karim", "Lotte", "Maël", "Nour", "Ruben", "Yasmine", "Şule",
)  # fmt: skip
FAMILY = (
    "Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters",
    "De Smet", "Dubois", "Öztürk", "Y\u0131lmaz", "El Amrani", "Lambert", "Dupont",
    "Van den Broeck", "Vermeulen", "Desmet", "Lemaître", "Çelik", "Nowak", "Łukaszewicz",
    "Hermans", "Martens",
    "Aerts", "Bogaert", "Cools", "Coppens", "D'Hondt", "Eeckhout", "François", "Gérard",
    "Hendrickx",
)  # fmt: skip


def desk_of(region: str) -> str:
    """The region's desk, named to fit an environment variable: ``Oost-Vlaanderen`` →
    ``oostvlaanderen``."""
    return region.lower().replace("-", "")


def build(ledger: Ledger, devices: int, loans: int, now: datetime) -> dict[str, Any]:
    """Write ``devices`` devices, about ``loans`` loans and their borrowers; returns what the
    samples draw from (devices, borrowers by desk, open-loan borrowers)."""
    rng = random.Random(20261205)
    start = now - timedelta(days=730)
    regions = DEFAULT_REGIONS
    span = timedelta(days=730 * loans / (devices * 9.4))
    device_rows: list[dict[str, Any]] = []
    for i in range(1, devices + 1):
        device_rows.append(
            {
                "id": i,
                "serial": f"5CD{i:07d}",
                "asset_tag": f"CB-{i:06d}",
                "model": "Acer C733",
                "region": regions[i % len(regions)],
                "connectivity": "4g" if i % 10 == 0 else "wifi",
                "state": "spare",
                "state_since": start,
                "created_at": start,
            }
        )
    histories: list[dict[str, Any]] = []
    for device in device_rows:
        last = None
        for loan in _history(rng, device["id"], now - span, now):
            loan.pop("extension", None)
            loan.update(
                needs_data=device["connectivity"] == "4g",
                region=device["region"],
                connectivity=device["connectivity"],
                desk=None if rng.random() < 0.05 else desk_of(device["region"]),
            )
            histories.append(loan)
            last = loan
        if last is not None:
            device["state"] = (
                "on_loan"
                if last["returned_at"] is None
                else "lost"
                if last["return_condition"] == "lost"
                else "spare"
            )
    histories.sort(key=lambda loan: loan["checked_out_at"])
    # Borrowers: ended loans share a pool of returning borrowers per region (some 3 loans each);
    # each open loan has a borrower of its own (one open loan per borrower).
    pool_size = {r: max(1, len(histories) // (3 * len(regions))) for r in regions}
    borrower_rows: list[dict[str, Any]] = []
    pools: dict[str, list[int]] = {r: [] for r in regions}

    def new_borrower(region: str) -> int:
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        number = len(borrower_rows) + 1
        borrower_rows.append(
            {
                "id": number,
                "desk_id": f"B-{number:07d}",
                "given_name": given,
                "family_name": family,
                "name_key": name_key(given, family),
                "region": region,
                "account_email": f"b{number}@example.org",
                "account_status": "suspended",
                "created_at": start,
            }
        )
        return number

    for region in regions:
        pools[region] = [new_borrower(region) for _ in range(pool_size[region])]
    for loan in histories:
        if loan["returned_at"] is None:
            loan["borrower_id"] = new_borrower(loan["region"])
            borrower_rows[loan["borrower_id"] - 1]["account_status"] = "active"
        else:
            loan["borrower_id"] = rng.choice(pools[loan["region"]])
    with ledger.engine.begin() as conn:
        conn.execute(sa.insert(Device), device_rows)
        for first in range(0, len(borrower_rows), BATCH):
            conn.execute(sa.insert(Borrower), borrower_rows[first : first + BATCH])
        # The words of their names, as the ORM's events keep them (the desk's name search).
        word_rows = [
            {"word": word, "borrower_id": row["id"]}
            for row in borrower_rows
            for word in sorted(name_words(row["given_name"], row["family_name"]))
        ]
        for first in range(0, len(word_rows), BATCH):
            conn.execute(sa.insert(BorrowerWord), word_rows[first : first + BATCH])
        for first in range(0, len(histories), BATCH):
            batch = histories[first : first + BATCH]
            for loan_id, loan in enumerate(batch, start=first + 1):
                loan["id"] = loan_id
            conn.execute(sa.insert(Loan), batch)
        # Those words again for each desk that lent to the borrower (a desk's name search), as
        # migration 0014 fills them.
        conn.execute(
            sa.insert(BorrowerDeskWord).from_select(
                ["desk", "word", "borrower_id"],
                sa.select(Loan.desk, BorrowerWord.word, BorrowerWord.borrower_id)
                .join(BorrowerWord, BorrowerWord.borrower_id == Loan.borrower_id)
                .where(Loan.desk.is_not(None))
                .distinct(),
            )
        )
        devices_table = sa.table("devices", sa.column("id"), sa.column("state"))
        conn.execute(
            sa.update(devices_table)
            .where(devices_table.c.id == sa.bindparam("device"))
            .values(state=sa.bindparam("state")),
            [
                {"device": d["id"], "state": d["state"]}
                for d in device_rows
                if d["state"] != "spare"
            ],
        )
        conn.execute(sa.text("ANALYZE"))
    if ledger.engine.dialect.name == "postgresql":
        # A ledger in use is vacuumed by autovacuum (after inserts too, PostgreSQL 13+), which
        # marks its pages all-visible: index-only scans then skip the table. The test server
        # runs with autovacuum off, so without this every such scan read the table's pages
        # too (a desk's name search: p95 30 ms instead of 9 in the same ledger).
        with ledger.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            tables = "devices, borrowers, borrower_words, loans, borrower_desk_words"
            conn.execute(sa.text(f"VACUUM (ANALYZE) {tables}"))  # this schema's, not others'
    by_desk: dict[str, set[int]] = {desk_of(r): set() for r in regions}
    for loan in histories:
        if loan["desk"] is not None:
            by_desk[loan["desk"]].add(loan["borrower_id"])
    return {
        "devices": len(device_rows),
        "loans": len(histories),
        "open": sum(1 for loan in histories if loan["returned_at"] is None),
        "overdue": sum(
            1
            for loan in histories
            if loan["returned_at"] is None and loan["agreed_end"] < now.astimezone().date()
        ),
        "borrowers": len(borrower_rows),
        "borrowers_by_desk": {d: sorted(ids) for d, ids in by_desk.items()},
    }


def percentiles(timings: list[float]) -> tuple[float, float, float]:
    """p50, p95 and the maximum, in milliseconds."""
    ordered = sorted(t * 1000 for t in timings)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    return statistics.median(ordered), p95, ordered[-1]


class Timings:
    def __init__(self, figures: Figures) -> None:
        self.figures = figures
        self.worst = 0.0

    def sample(self, what: str, samples: int, call: Callable[[int], object]) -> None:
        call(0)  # warm: the first call pays for compiling the statement
        timings = []
        for i in range(samples):
            started = time.perf_counter()
            call(i)
            timings.append(time.perf_counter() - started)
        p50, p95, top = percentiles(timings)
        self.worst = max(self.worst, p95)
        mark = "" if p95 <= GOAL_MS else " ✗"
        self.figures.add(what, f"{p50:.1f} / {p95:.1f} / {top:.1f}{mark}", "ms p50 / p95 / max")


def service_queries(
    ledger: Ledger, facts: dict[str, Any], samples: int, timings: Timings, today: date
) -> None:
    rng = random.Random(7)
    desks = sorted(facts["borrowers_by_desk"])
    devices = facts["devices"]
    pick_desk = [rng.choice(desks) for _ in range(samples + 1)]
    # What a clerk types: the start of a family name, a given and a family name's starts, a
    # whole family name, two letters (thousands match: the first 20 come), or a name nobody has.
    fragments = [
        rng.choice([f[:4], f"{g[:3]} {f[:2]}", f, f[:2], "Zwxq"])
        for g, f in ((rng.choice(GIVEN), rng.choice(FAMILY)) for _ in range(samples + 1))
    ]

    def read(action: Callable[[Any], object]) -> Callable[[int], object]:
        def run(i: int) -> object:
            with ledger.read() as session:
                return action((session, i))

        return run

    def device(args: Any) -> object:
        session, i = args
        ref = f"CB-{rng.randint(1, devices):06d}" if i % 2 else f"5cd{rng.randint(1, devices):07d}"
        return lookup.find_device(session, ref, desk=pick_desk[i], today=today)

    def borrower(args: Any) -> object:
        session, i = args
        desk = pick_desk[i]
        chosen = rng.choice(facts["borrowers_by_desk"][desk])
        return lookup.find_borrower(session, f"B-{chosen:07d}", desk=desk, today=today)

    def search(scope: str | None) -> Callable[[Any], object]:
        def run(args: Any) -> object:
            session, i = args
            desk = pick_desk[i] if scope == "desk" else None
            return lookup.search_borrowers(session, fragments[i], desk=desk)

        return run

    def loans(state: str, *, admin: bool = False, **filters: Any) -> Callable[[Any], object]:
        def run(args: Any) -> object:
            session, i = args
            return lookup.list_loans(
                session,
                desk=None if admin else pick_desk[i],
                today=today,
                state=state,
                limit=50,
                **filters,
            )

        return run

    cursors: dict[int, str | None] = {}

    def deep_page(args: Any) -> object:
        # Page 2, 3, ... of a desk's open loans: each call follows the previous cursor.
        session, i = args
        desk = pick_desk[0]
        page = lookup.list_loans(
            session, desk=desk, today=today, limit=50, cursor=cursors.get(i - 1)
        )
        cursors[i] = page.next_cursor
        return page

    def own_borrower_loans(args: Any) -> object:
        session, i = args
        desk = pick_desk[i]
        chosen = rng.choice(facts["borrowers_by_desk"][desk])
        return lookup.list_loans(
            session, desk=desk, today=today, state="all", borrower=f"B-{chosen:07d}"
        )

    def spares(args: Any) -> object:
        session, i = args
        region = DEFAULT_REGIONS[i % len(DEFAULT_REGIONS)]
        return lookup.spare_devices(session, region=region, connectivity=("4g", "wifi")[i % 2])

    week = today + timedelta(days=7 - today.weekday())
    timings.sample("find_device (serial or asset tag)", samples, read(device))
    timings.sample("find_borrower (with the desk's loans)", samples, read(borrower))
    timings.sample("search_borrowers, a desk's (name starts)", samples, read(search("desk")))
    timings.sample("search_borrowers, every desk's (admin)", samples, read(search(None)))
    timings.sample("list_loans open, first page of 50", samples, read(loans("open")))
    timings.sample("list_loans open, pages 2 to n (cursor)", samples, read(deep_page))
    timings.sample("list_loans overdue", samples, read(loans("overdue")))
    timings.sample("list_loans due this week", samples, read(loans("open", due_before=week)))
    timings.sample("list_loans all (newest first)", samples, read(loans("all")))
    timings.sample("list_loans all of one borrower", samples, read(own_borrower_loans))
    timings.sample("list_loans open, every desk (admin)", samples, read(loans("open", admin=True)))
    timings.sample(
        "list_loans overdue, every desk (admin)", samples, read(loans("overdue", admin=True))
    )
    timings.sample(
        "list_loans due this week, every desk (admin)",
        samples,
        read(loans("open", admin=True, due_before=week)),
    )
    timings.sample("spare_devices of a region and connectivity", samples, read(spares))


@contextmanager
def server(url: str, data: Path, tokens: dict[str, str]) -> Iterator[str]:
    """``fleetsync serve`` on a free loopback port, each desk with its token (environment)."""
    config = data / "fleetsync.toml"
    desks = "".join(f"[api.desks.{desk}]\n" for desk in tokens)
    config.write_text(
        f'data_dir = "{data}"\ndatabase_url = "{url}"\nlog_level = "warning"\n'
        f'log_format = "json"\n\n[google]\nendpoint = "http://127.0.0.1:9/"\n\n{desks}',
        encoding="utf-8",
    )
    env = {f"FLEETSYNC_API__DESKS__{desk.upper()}__TOKEN": token for desk, token in tokens.items()}
    with serve(config, env, attempts=600) as (base, _pid):
        yield base


def endpoints(url: str, data: Path, facts: dict[str, Any], samples: int, timings: Timings) -> None:
    rng = random.Random(11)
    desks = sorted(facts["borrowers_by_desk"])
    tokens = {desk: secrets.token_urlsafe(32) for desk in desks}
    devices = facts["devices"]
    with server(url, data, tokens) as base, httpx.Client(base_url=base, timeout=30) as client:

        def get(path: str, desk: str, **params: Any) -> Any:
            response = client.get(
                path, params=params, headers={"Authorization": f"Bearer {tokens[desk]}"}
            )
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code} {response.text}")
            return response.json()

        pick = [rng.choice(desks) for _ in range(samples + 1)]

        def device(i: int) -> object:
            return get(f"/v1/devices/CB-{rng.randint(1, devices):06d}", pick[i])

        def borrower(i: int) -> object:
            chosen = rng.choice(facts["borrowers_by_desk"][pick[i]])
            return get(f"/v1/borrowers/B-{chosen:07d}", pick[i])

        def listing(state: str) -> Callable[[int], object]:
            return lambda i: get("/v1/loans", pick[i], state=state)

        cursors: dict[int, str | None] = {}

        def deep(i: int) -> object:
            params = {} if cursors.get(i - 1) is None else {"cursor": cursors[i - 1]}
            body = get("/v1/loans", pick[0], **params)
            cursors[i] = body["next_cursor"]
            return body

        timings.sample("GET /v1/devices/{asset tag}", samples, device)
        timings.sample("GET /v1/borrowers/{id}", samples, borrower)
        timings.sample("GET /v1/loans (open, 50)", samples, listing("open"))
        timings.sample("GET /v1/loans?cursor=... (pages 2 to n)", samples, deep)
        timings.sample("GET /v1/loans?state=overdue", samples, listing("overdue"))
        timings.sample("GET /v1/loans?state=all", samples, listing("all"))


def run(url: str, devices: int, loans: int, samples: int, figures: Figures) -> float:
    data = Path(tempfile.mkdtemp(prefix="fleetsync-desk-"))
    settings = Settings(database_url=url, data_dir=data)
    now = datetime.now(UTC).replace(microsecond=0)
    ledger = open_ledger(settings)
    with measure() as built:
        facts = build(ledger, devices, loans, now)
    figures.add(
        f"write {facts['devices']:,} devices, {facts['loans']:,} loans, "
        f"{facts['borrowers']:,} borrowers (Core bulk inserts)",
        built["seconds"],
        "s",
    )
    figures.add("  open / overdue loans", f"{facts['open']:,} / {facts['overdue']:,}")
    timings = Timings(figures)
    service_queries(ledger, facts, samples, timings, now.astimezone().date())
    ledger.close()
    endpoints(url, data, facts, samples, timings)
    figures.add("peak memory of this process", peak_rss_mib(), "MiB")
    figures.add(f"worst p95 (goal ≤ {GOAL_MS:.0f} ms)", f"{timings.worst:.1f}", "ms")
    return timings.worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=200, help="runs of each query")
    args = parser.parse_args()
    backend = "PostgreSQL" if args.postgres else "SQLite"
    figures = Figures(f"Desk look-ups on {backend}")
    with database(args.postgres) as url:
        worst = run(url, args.devices, args.loans, args.samples, figures)
    figures.print()
    if worst > GOAL_MS:
        print(json.dumps({"goal_ms": GOAL_MS, "worst_p95_ms": round(worst, 1)}), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
