"""`fleetsync report courses`: the table the agency answered parliament with, rebuilt from the
numbers in the brief's CONTEXT.md (Antwerpen: deliveries of 11/05, 3/06, 1/07 and 17/08/2020;
33, 83, 83 and 149 wifi devices and 16 4G available; 6, 46, 5 and 130 wifi and 15 4G devices
used; 90 wifi and 8 4G reserved for November-December; 65 agreed days on average) and a
plausible history of our own for Limburg (other course dates, a device lost before a period, a
loan for no course period), and Brussel lending today (a delivery, a course period around today,
reservations made, fulfilled by a checkout and cancelled, the device lent and returned). The
history comes in through `loan import`, the rest through the services; every cell is checked in
every format, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from fleetsync import services
from fleetsync.domain.inventory import parse_devices_csv
from fleetsync.ledger import Ledger
from fleetsync.services import courses, loan_import, reservations
from fleetsync.settings import Settings
from tests.cli_runner import run_cli
from tests.pinned import PINNED_AT, TODAY

ACTOR = "cli:tester"
AT = datetime(2020, 5, 1, 10, tzinfo=UTC)

#: Antwerpen's course periods, and Limburg's (other dates).
COURSES = {
    "Antwerpen": [
        ("A mei-juni", date(2020, 5, 11), date(2020, 6, 28)),
        ("A juli", date(2020, 6, 29), date(2020, 7, 31)),
        ("A augustus", date(2020, 8, 1), date(2020, 8, 31)),
        ("A sept-okt", date(2020, 9, 1), date(2020, 10, 31)),
        ("A nov-dec", date(2020, 11, 2), date(2020, 12, 23)),
    ],
    "Limburg": [
        ("L zomer", date(2020, 6, 1), date(2020, 8, 14)),
        ("L najaar", date(2020, 9, 15), date(2020, 11, 20)),
    ],
}
#: Deliveries: (region, connectivity, how many, delivery date).
BATCHES = [
    ("Antwerpen", "wifi", 33, date(2020, 5, 11)),
    ("Antwerpen", "wifi", 50, date(2020, 6, 3)),
    ("Antwerpen", "4g", 16, date(2020, 7, 1)),
    ("Antwerpen", "wifi", 66, date(2020, 8, 17)),
    ("Limburg", "wifi", 20, date(2020, 5, 11)),
    ("Limburg", "4g", 5, date(2020, 8, 17)),
]
#: Loans used per course period: (wifi, 4G).
USED = {
    "A mei-juni": (6, 0),
    "A juli": (46, 0),
    "A augustus": (5, 0),
    "A sept-okt": (130, 15),
    "L zomer": (12, 0),
    "L najaar": (15, 3),
}

#: The table under --lang nl, cell by cell: course period, from, to, available wifi, available
#: 4G, available since, used wifi, used 4G, reserved wifi, reserved 4G, agreed days (avg).
DASH = "\N{EN DASH}"
#: "-" stands for the table's en dash (nothing).
_EXPECTED = """
Antwerpen | A mei-juni | 11/05/2020 | 28/06/2020 | 33 | - | 11/05/2020 | 6 | - | - | - | 65,0
Antwerpen | A juli | 29/06/2020 | 31/07/2020 | 83 | - | 3/06/2020 | 46 | - | - | - | 65,0
Antwerpen | A augustus | 1/08/2020 | 31/08/2020 | 83 | 16 | 1/07/2020 | 5 | - | - | - | 65,0
Antwerpen | A sept-okt | 1/09/2020 | 31/10/2020 | 149 | 16 | 17/08/2020 | 130 | 15 | - | - | 65,0
Antwerpen | A nov-dec | 2/11/2020 | 23/12/2020 | 149 | 16 | 17/08/2020 | - | - | 90 | 8 | -
Antwerpen | totaal | | | 149 | 16 | 17/08/2020 | 187 | 15 | 90 | 8 | 65,0
Limburg | L zomer | 1/06/2020 | 14/08/2020 | 20 | - | 11/05/2020 | 12 | - | - | - | 65,0
Limburg | L najaar | 15/09/2020 | 20/11/2020 | 20 | 4 | 17/08/2020 | 15 | 3 | - | - | 65,0
Limburg | (geen cursusperiode) | | | - | - | - | 1 | - | - | - | 30,0
Limburg | totaal | | | 20 | 4 | 17/08/2020 | 28 | 3 | - | - | 63,9
alle regio's | alle regio's | | | 172 | 20 | {delivered} | 216 | 18 | 91 | 8 | 64,8
"""
# Limburg: one 4G device was lost on 1 September, before "L najaar": 4 of the 5 are available;
# a loan for no course period (the partners' way of lending) counts in the totals, in no period.
#: Brussel lends now (the pinned day): three devices delivered a month ago, a course period
#: around today; N-1's reservation fulfilled by their checkout (then the device came back), N-2's
#: cancelled, N-3's still open. The agreed end: the course's last day plus 7 grace days.
NOW_FIRST, NOW_LAST = TODAY - timedelta(days=10), TODAY + timedelta(days=50)
DELIVERED = TODAY - timedelta(days=31)


def _nl(day: date) -> str:
    return f"{day.day}/{day.month:02d}/{day.year}"


_D = _nl(DELIVERED)
_BRUSSEL = f"""
Brussel | B nu | {_nl(NOW_FIRST)} | {_nl(NOW_LAST)} | 3 | - | {_D} | 1 | - | 1 | - | 57,0
Brussel | totaal | | | 3 | - | {_D} | 1 | - | 1 | - | 57,0
"""
EXPECTED_NL: dict[str, list[list[str]]] = {}
for _line in (_EXPECTED.strip().replace("{delivered}", _nl(DELIVERED)) + _BRUSSEL).splitlines():
    if not _line.strip():
        continue
    _region, *_cells = (c.strip() for c in _line.split("|"))
    EXPECTED_NL.setdefault(_region, []).append([DASH if c == "-" else c for c in _cells])


def _history(ledger: Ledger, programme: services.Programme) -> None:
    lines = []
    serials: dict[tuple[str, str], list[str]] = {}
    for n, (region, link, count, day) in enumerate(BATCHES):
        for i in range(count):
            serial = f"{region[0]}{link.upper()}{n}X{i:03d}"
            serials.setdefault((region, link), []).append(serial)
            lines.append(f"{serial},T-{serial},Acer C733,{region},{link},{day.isoformat()}")
    text = "serial,asset_tag,model,region,connectivity,available_from\n" + "\n".join(lines)
    with ledger.transaction() as session:
        services.import_devices(
            session, parse_devices_csv(text, regions=("Antwerpen", "Limburg")), actor=ACTOR, now=AT
        )
        for region, periods in COURSES.items():
            for name, first, last in periods:
                courses.add_course(
                    session,
                    name=name,
                    first=first,
                    last=last,
                    regions=[region],
                    programme=programme,
                    actor=ACTOR,
                    now=AT,
                )
        services.mark_lost(
            session,
            device=serials[("Limburg", "4g")][0],
            actor=ACTOR,
            reason="stolen",
            now=datetime(2020, 9, 1, 10, tzinfo=UTC),
        )
    # The history: each course period's loans out on its first day for 65 days, back on its
    # last day, device after device; and one Limburg loan for no course period.
    rows = [
        "serial,borrower_id,given_name,family_name,region,checked_out,agreed_end,returned,condition,course,needs_data"
    ]
    person = 0
    for region, periods in COURSES.items():
        for name, first, last in periods:
            for link, count in zip(("wifi", "4g"), USED.get(name, (0, 0)), strict=True):
                pool = [s for s in serials[(region, link)] if not s.startswith("L4G5X000")]
                for i in range(count):
                    person += 1
                    rows.append(
                        f"{pool[i]},B-{person},Naam{person},Test,{region},{first},"
                        f"{first + timedelta(days=65)},{last},ok,{name},"
                        + ("true" if link == "4g" else "")
                    )
    rows.append(
        f"{serials[('Limburg', 'wifi')][-1]},B-999,Partner,Test,Limburg,2020-08-20,2020-09-19,"
        "2020-09-10,damaged,,"
    )
    csv_text = "\ufeff" + "\n".join(rows) + "\n"
    parsed = loan_import.parse_loans_csv(csv_text, regions=("Antwerpen", "Limburg"))
    with ledger.transaction() as session:
        report = loan_import.import_loans(
            session, parsed, programme=programme, actor=ACTOR, now=AT.replace(year=2021)
        )
    assert (report.imported_closed, report.imported_open) == (len(rows) - 1, 0)
    # Registrations for November-December, made in October; two more fulfilled or cancelled.
    october = datetime(2020, 10, 15, 9, tzinfo=UTC)
    with ledger.transaction() as session:
        for i in range(99):
            reservations.add_reservation(
                session,
                borrower=f"R-{i}",
                given_name="Res",
                region="Antwerpen",
                course="A nov-dec",
                needs_data=i >= 90,
                programme=programme,
                actor=ACTOR,
                now=october,
            )
        for i in (5, 95):
            reservations.cancel_reservation(
                session, reservation=f"R-{i + 1}", reason="moved", actor=ACTOR, now=october
            )
        reservations.add_reservation(
            session,
            borrower="R-late",
            given_name="Res",
            region="Antwerpen",
            course="A nov-dec",
            programme=programme,
            actor=ACTOR,
            now=october,
        )


def _lending_now(ledger: Ledger, programme: services.Programme) -> None:
    text = "serial,asset_tag,model,region,connectivity,available_from\n" + "".join(
        f"BX{i},BT-{i},HP 11 G9,Brussel,wifi,{DELIVERED.isoformat()}\n" for i in range(3)
    )
    before = PINNED_AT - timedelta(days=20)
    with ledger.transaction() as session:
        services.import_devices(
            session, parse_devices_csv(text, regions=("Brussel",)), actor=ACTOR, now=before
        )
        courses.add_course(
            session,
            name="B nu",
            first=NOW_FIRST,
            last=NOW_LAST,
            regions=["Brussel"],
            programme=programme,
            actor=ACTOR,
            now=before,
        )
        for person in ("N-1", "N-2", "N-3"):
            reservations.add_reservation(
                session,
                borrower=person,
                given_name="Nu",
                region="Brussel",
                course="B nu",
                programme=programme,
                actor=ACTOR,
                now=before,
            )
        reservations.cancel_reservation(
            session, reservation="R-102", reason="no longer needed", actor=ACTOR, now=before
        )
    with ledger.transaction() as session:
        lent = services.checkout(
            session, device="BX0", borrower="N-1", given_name="Nu", region="Brussel",
            programme=programme, actor=ACTOR, now=PINNED_AT,
        )  # fmt: skip
    assert (lent.course, lent.reservation) == ("B nu", "R-101")
    assert lent.agreed_end == NOW_LAST + timedelta(days=7)
    with ledger.transaction() as session:
        services.return_device(session, device="BX0", actor=ACTOR, now=PINNED_AT)


@pytest.fixture
def year(ledger: Ledger, programme: services.Programme, settings: Settings) -> Settings:
    _history(ledger, programme)
    _lending_now(ledger, programme)
    return settings


def _cli(settings: Settings, *args: str) -> str:
    env = {
        "FLEETSYNC_DATABASE_URL": settings.effective_database_url,
        "FLEETSYNC_DATA_DIR": str(settings.data_dir),
        "FLEETSYNC_REGIONS": '["Antwerpen", "Brussel", "Limburg"]',
    }
    result = run_cli("report", "courses", *args, env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def _table_blocks(text: str) -> dict[str, list[list[str]]]:
    """The table's rows, per region block, split on runs of two spaces or more."""
    blocks: dict[str, list[list[str]]] = {}
    current = None
    for line in text.splitlines():
        cells = [c for c in re.split(r"\s{2,}", line.strip()) if c]
        if len(cells) == 1 and cells[0] in ("Antwerpen", "Brussel", "Limburg"):
            current = cells[0]
            blocks[current] = []
        elif current and len(cells) >= 4:
            blocks[current].append(cells)
            if cells[0] == "alle regio's":
                blocks.setdefault("alle regio's", []).append(blocks[current].pop())
    return blocks


def _without_empty(row: list[str]) -> list[str]:
    return [c for c in row if c]


def test_the_parliamentary_answer_cell_by_cell(year: Settings, tmp_path: Path) -> None:
    table = _table_blocks(_cli(year, "--lang", "nl", "--title", "Inburgering"))
    for region, rows in EXPECTED_NL.items():
        assert table[region] == [_without_empty(r) for r in rows], region

    # CSV and JSON: the same figures, keys in English, dates ISO, nothing as an empty cell/null.
    records = list(csv.DictReader(io.StringIO(_cli(year, "--format", "csv").lstrip("\ufeff"))))
    document = json.loads(_cli(year, "--format", "json", "--lang", "nl"))
    assert len(records) == len(document["rows"]) == 13
    for region, rows in EXPECTED_NL.items():
        for expected in rows:
            name = {"totaal": "all", "alle regio's": "all", "(geen cursusperiode)": ""}.get(
                expected[0], expected[0]
            )
            where = "all" if region == "alle regio's" else region
            [found] = [r for r in records if r["region"] == where and r["course"] == name]
            [as_json] = [
                r for r in document["rows"] if r["region"] == where and (r["course"] or "") == name
            ]
            figures = ["" if c == DASH else c.replace(",", ".") for c in expected[3:]]
            since = figures[2]
            if since:
                d, m, y = since.split("/")
                figures[2] = f"{y}-{int(m):02d}-{int(d):02d}"
            keys = ["available_wifi", "available_4g", "available_since", "used_wifi", "used_4g",
                    "reserved_wifi", "reserved_4g", "avg_agreed_days"]  # fmt: skip
            counts = {"available_wifi", "available_4g", "used_wifi", "used_4g", "reserved_wifi",
                      "reserved_4g"}  # fmt: skip
            for key, want in zip(keys, figures, strict=True):
                if key in counts:
                    want = want or "0"
                assert found[key] == want, (region, expected[0], key)
                got = as_json[key]
                assert ("" if got is None else str(got)) == want, (region, expected[0], key)

    # HTML: the same cells, a block per region, Dutch labels, self-contained.
    out = tmp_path / "antwoord.html"
    _cli(year, "--format", "html", "--lang", "nl", "--out", str(out))
    page = out.read_text(encoding="utf-8")
    assert '<html lang="nl">' in page
    assert "beschikbaar sinds" in page
    assert "<script" not in page
    for row in EXPECTED_NL["Antwerpen"]:
        cells = "".join(f"<td{' class=d' if 0 < i < 3 else ''}>{c}</td>" for i, c in enumerate(row))
        assert cells.replace("alle regio's", "alle regio&#x27;s") in page, row[0]

    # Filters: a window keeps the course periods that overlap it; a region keeps its block.
    autumn = json.loads(
        _cli(
            year,
            "--format",
            "json",
            "--from",
            "2020-09-01",
            "--to",
            "2020-10-31",
            "--region",
            "limburg",
        )
    )
    assert [(r["region"], r["course"]) for r in autumn["rows"]] == [
        ("Limburg", "L najaar"), ("Limburg", "all"), ("all", "all")
    ]  # fmt: skip


def test_report_loans_by_course(year: Settings) -> None:
    env = {
        "FLEETSYNC_DATABASE_URL": year.effective_database_url,
        "FLEETSYNC_DATA_DIR": str(year.data_dir),
        "FLEETSYNC_REGIONS": '["Antwerpen", "Brussel", "Limburg"]',
    }
    args = ("report", "loans", "--from", "2020-05-01", "--to", "2020-12-31")
    result = run_cli(*args, "--by", "course,region", "--format", "json", env=env)
    assert result.exit_code == 0, result.output
    rows = {(r["course"], r["region"]): r for r in json.loads(result.stdout)["rows"]}
    autumn = rows[("A sept-okt", "Antwerpen")]
    assert (autumn["devices_lent"], autumn["devices_wifi"], autumn["devices_4g"]) == (145, 130, 15)
    assert (autumn["loans_ended"], autumn["loans_returned"], autumn["open_now"]) == (145, 145, 0)
    # Out on 1 September, back on 31 October: 60 days; agreed 65.
    assert (autumn["avg_agreed_days"], autumn["avg_actual_days"]) == (65.0, 60.0)
    assert rows[("L najaar", "Limburg")]["avg_actual_days"] == 66.0
    # Limburg's periods do not run in Antwerpen: no row for them there.
    assert ("L najaar", "Antwerpen") not in rows
    # Loans for no course period count in no course period.
    assert rows[("all", "all")]["devices_lent"] == 232
    assert rows[("all", "Limburg")]["devices_lent"] == 30
    table = run_cli(*args, "--by", "course", "--lang", "nl", env=env)
    assert table.exit_code == 0, table.output
    assert "cursusperiode" in table.stdout
    assert "1/09/2020" in table.stdout
    # The same words and formats by month (tests/reports/test_dutch_loans.py: every grouping).
    monthly = run_cli(*args, "--lang", "nl", env=env)
    assert monthly.exit_code == 0, monthly.output
    assert "uitgeleende" in monthly.stdout
    assert "1/05/2020" in monthly.stdout
