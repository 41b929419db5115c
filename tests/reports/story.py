"""A small programme's winter, told through the service functions, and every figure the loan
report must give for it (December 2024 to March 2025, by month and region, in Brussels time).

The loans, with what each one is there to test (times are UTC; Brussels is UTC+1 in winter):

- L1  CB-A1 Antwerpen wifi, out 2024-11-20 (before the report), agreed end 2024-12-10, back
      2024-12-15: open when the report starts, overdue four days within December only.
- L6  CB-AX Antwerpen wifi, out 2024-12-05, agreed end 2024-12-20, back 2024-12-19; the device
      then moves to Limburg (`set_region`) and goes out again there (L7).
- L2  CB-A1 again, out 2024-12-20, agreed end 2025-01-31, extended on 2025-01-25 (before it was
      due) to 2025-02-20, back 2025-02-20 late in the day: crosses the year; agreed period = the
      latest agreed end; returned on its last day is not overdue.
- L3  CB-L1 Limburg wifi, out 2024-12-31 23:30 UTC = 2025-01-01 00:30 in Brussels: a January
      loan. Agreed end 2025-01-15, extended late (on 2025-02-05) to 2025-02-28, never returned:
      overdue at the end of January (the agreed end then in force), not at the end of February,
      overdue again at the end of March.
- L5  CB-A2 Antwerpen 4G, out 2025-01-05, agreed end 2025-01-20, lost on 2025-02-02: overdue at
      the end of January, ended (lost) in February, no actual period.
- L4  CB-B1 Brussel wifi, out and back on 2025-01-10: an actual period of 0 days.
- L7  CB-AX, now of Limburg, out 2025-02-10 until 2025-04-30, still open.

Besides: CB-L2 (Limburg 4G) stays spare, CB-B2 (Brussel 4G) joins the ICT test pool, CB-L3
(Limburg wifi) is retired.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from fleetsync import services
from fleetsync.ledger import Ledger
from tests.ledger.conftest import add_devices

__all__ = [
    "EXPECTED",
    "FIRST",
    "FLEET_EXPECTED",
    "LAST",
    "REGIONS",
    "Expected",
    "expected_rows",
    "fleet_rows",
    "tell",
]

REGIONS = ("Antwerpen", "Brussel", "Limburg")
FIRST = date(2024, 12, 1)
LAST = date(2025, 3, 31)
ACTOR = "cli:tester"

#: Every row of `report loans --from 2024-12-01 --to 2025-03-31 --by month,region`, as the
#: table shows it. Columns: month, region, devices lent (= loans started), wifi, 4G, ended, lost,
#: agreed days, returned, actual days, open at end, overdue at end.
EXPECTED = """
2024-12 Antwerpen 2 2 0 2 0 38.5 2 38.0 1 0
2024-12 Brussel   0 0 0 0 0 -    0 -    0 0
2024-12 Limburg   0 0 0 0 0 -    0 -    0 0
2024-12 all       2 2 0 2 0 38.5 2 38.0 1 0
2025-01 Antwerpen 1 0 1 0 0 15.0 0 -    2 1
2025-01 Brussel   1 1 0 1 0 80.0 1 0.0  0 0
2025-01 Limburg   1 1 0 0 0 58.0 0 -    1 1
2025-01 all       3 2 1 1 0 51.0 1 0.0  3 2
2025-02 Antwerpen 0 0 0 2 1 -    0 -    0 0
2025-02 Brussel   0 0 0 0 0 -    0 -    0 0
2025-02 Limburg   1 1 0 0 0 79.0 0 -    2 0
2025-02 all       1 1 0 2 1 79.0 0 -    2 0
2025-03 Antwerpen 0 0 0 0 0 -    0 -    0 0
2025-03 Brussel   0 0 0 0 0 -    0 -    0 0
2025-03 Limburg   0 0 0 0 0 -    0 -    2 1
2025-03 all       0 0 0 0 0 -    0 -    2 1
all     Antwerpen 3 2 1 4 1 30.7 2 38.0 0 0
all     Brussel   1 1 0 1 0 80.0 1 0.0  0 0
all     Limburg   2 2 0 0 0 68.5 0 -    2 1
all     all       6 5 1 5 1 51.5 3 25.3 2 1
"""

#: Every row of `report fleet` after the story. Columns: region, connectivity, spare, on loan,
#: in refurbishment, ICT test, lost, retired, in repair, lendable, total.
FLEET_EXPECTED = """
Antwerpen wifi 0 0 1 0 0 0 0 1 1
Antwerpen 4g   0 0 0 0 1 0 0 0 1
Antwerpen all  0 0 1 0 1 0 0 1 2
Brussel   wifi 0 0 1 0 0 0 0 1 1
Brussel   4g   0 0 0 1 0 0 0 0 1
Brussel   all  0 0 1 1 0 0 0 1 2
Limburg   wifi 0 2 0 0 0 1 0 2 3
Limburg   4g   1 0 0 0 0 0 0 1 1
Limburg   all  1 2 0 0 0 1 0 3 4
all       wifi 0 2 2 0 0 1 0 4 5
all       4g   1 0 0 1 1 0 0 1 3
all       all  1 2 2 1 1 1 0 5 8
"""
FLEET_FIGURES = (
    "spare",
    "on_loan",
    "in_refurbishment",
    "ict_test",
    "lost",
    "retired",
    "in_repair",
    "lendable",
    "total",
)

FIGURES = (
    "devices_lent",
    "devices_wifi",
    "devices_4g",
    "loans_ended",
    "loans_lost",
    "avg_agreed_days",
    "loans_returned",
    "avg_actual_days",
    "open_at_end",
    "overdue_at_end",
)

Expected = dict[str, str]


def expected_rows(text: str = EXPECTED) -> list[Expected]:
    """The expected rows as records of text (``-``: nothing to average), keyed like the CSV."""
    rows = []
    for line in text.strip().splitlines():
        month, region, *values = line.split()
        rows.append({"month": month, "region": region, **dict(zip(FIGURES, values, strict=True))})
    return rows


def fleet_rows(text: str = FLEET_EXPECTED) -> list[Expected]:
    rows = []
    for line in text.strip().splitlines():
        region, connectivity, *values = line.split()
        figures = dict(zip(FLEET_FIGURES, values, strict=True))
        rows.append({"region": region, "connectivity": connectivity, **figures})
    return rows


def at(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def tell(ledger: Ledger, programme: services.Programme) -> None:
    """Write the story above into an empty ledger."""
    add_devices(
        ledger,
        "5CDA1,CB-A1,Acer C733,Antwerpen,wifi",
        "5CDA2,CB-A2,Acer C733,Antwerpen,4g",
        "5CDAX,CB-AX,Acer C733,Antwerpen,wifi",
        "5CDB1,CB-B1,HP 11 G9,Brussel,wifi",
        "5CDB2,CB-B2,HP 11 G9,Brussel,4g",
        "5CDL1,CB-L1,HP 11 G9,Limburg,wifi",
        "5CDL2,CB-L2,HP 11 G9,Limburg,4g",
        "5CDL3,CB-L3,HP 11 G9,Limburg,wifi",
    )

    def lend(device: str, borrower: str, region: str, when: datetime, until: date) -> None:
        with ledger.transaction() as session:
            services.checkout(
                session,
                device=device,
                borrower=borrower,
                given_name="Test",
                family_name=borrower,
                region=region,
                until=until,
                needs_data=device == "CB-A2",
                programme=programme,
                actor=ACTOR,
                now=when,
            )

    def back(device: str, when: datetime, *, ready: bool = False) -> None:
        with ledger.transaction() as session:
            services.return_device(session, device=device, actor=ACTOR, now=when)
            if ready:  # the powerwash is not what is under test here
                services.mark_ready(
                    session, device=device, actor=ACTOR, force=True, reason="wiped", now=when
                )

    def extend(device: str, when: datetime, until: date) -> None:
        with ledger.transaction() as session:
            services.extend_loan(session, device=device, until=until, actor=ACTOR, now=when)

    lend("CB-A1", "B-1", "Antwerpen", at(2024, 11, 20), date(2024, 12, 10))
    lend("CB-AX", "B-6", "Antwerpen", at(2024, 12, 5), date(2024, 12, 20))
    back("CB-A1", at(2024, 12, 15, 10), ready=True)
    back("CB-AX", at(2024, 12, 19), ready=True)
    with ledger.transaction() as session:
        services.set_region(
            session,
            device="CB-AX",
            region="Limburg",
            programme=programme,
            actor=ACTOR,
            now=at(2024, 12, 23),
        )
    lend("CB-A1", "B-2", "Antwerpen", at(2024, 12, 20), date(2025, 1, 31))
    lend("CB-L1", "B-3", "Limburg", at(2024, 12, 31, 23, 30), date(2025, 1, 15))
    lend("CB-A2", "B-5", "Antwerpen", at(2025, 1, 5, 10), date(2025, 1, 20))
    lend("CB-B1", "B-4", "Brussel", at(2025, 1, 10, 9), date(2025, 3, 31))
    back("CB-B1", at(2025, 1, 10, 15))
    extend("CB-A1", at(2025, 1, 25), date(2025, 2, 20))
    with ledger.transaction() as session:
        services.mark_lost(session, device="CB-A2", actor=ACTOR, now=at(2025, 2, 2))
    extend("CB-L1", at(2025, 2, 5), date(2025, 2, 28))
    lend("CB-AX", "B-7", "Limburg", at(2025, 2, 10), date(2025, 4, 30))
    back("CB-A1", at(2025, 2, 20, 16))
    with ledger.transaction() as session:
        services.assign_ict_test(session, device="CB-B2", actor=ACTOR, now=at(2025, 1, 2))
        services.retire(session, device="CB-L3", actor=ACTOR, reason="screen", now=at(2025, 1, 2))
