"""Bringing a running programme in: its open and past loans, from a CSV file.

All or nothing: every row is checked first (the device exists, the dates make sense, the course
period is known, no two loans of one device overlap, one open loan per device and borrower),
every problem is listed by line number, and nothing is written while any row is bad. A row the
ledger already holds (the same device lent to the same borrower on the same day) changes nothing,
so importing the file again is harmless.

A closed loan (``returned`` given) is history only: no device changes state, nothing is asked of
Google. An open loan puts its device on loan and gives the borrower an account: with
``account_email``, their existing Workspace account, which the reconciler adopts (by address)
instead of creating one; without, a new one as at a checkout.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fleetsync.domain.inventory import read_table, refuse_rows
from fleetsync.domain.lifecycle import AccountStatus, Condition, Connectivity, DeviceState
from fleetsync.ledger.audit import wake
from fleetsync.ledger.models import AuditEvent, Borrower, CoursePeriod, Device, Loan
from fleetsync.services._effects import check_actor, local_date, now_or
from fleetsync.services.accounts import provide_account
from fleetsync.services.programme import Programme

__all__ = ["LOAN_COLUMNS", "LoanImportReport", "LoanRow", "import_loans", "parse_loans_csv"]

LOAN_COLUMNS = (
    "serial", "asset_tag", "borrower_id", "given_name", "family_name", "region", "checked_out",
    "agreed_end", "returned", "condition", "course", "needs_data", "account_email",
)  # fmt: skip
_REQUIRED = ("borrower_id", "given_name", "region", "checked_out", "agreed_end")
_DESK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_TRUE = {"true", "yes", "1", "ja", "y", "x"}
_FALSE = {"false", "no", "0", "nee", "n", ""}
_FAR = 10**9


@dataclass(frozen=True, slots=True)
class LoanRow:
    line: int
    device: str
    borrower: str
    given_name: str
    family_name: str
    region: str
    checked_out: date
    agreed_end: date
    returned: date | None
    condition: Condition | None
    course: str | None
    needs_data: bool
    account_email: str | None


@dataclass
class LoanImportReport:
    imported_closed: int = 0
    imported_open: int = 0
    unchanged: int = 0
    new_borrowers: int = 0
    #: Open loans whose borrower's existing account is adopted at the next reconcile.
    adopted_accounts: list[str] = field(default_factory=list)
    loans: list[str] = field(default_factory=list)


def _date(value: str, column: str, problems: list[str]) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append(f"{column} {value[:40]!r} is not a date (YYYY-MM-DD)")
        return None


def parse_loans_csv(text: str, *, regions: Sequence[str]) -> list[LoanRow]:
    """The rows of a loans file (UTF-8 with or without BOM, ``,``, ``;`` or tab), or
    :class:`~fleetsync.domain.errors.InvalidRows` listing every bad line."""
    table = read_table(text, columns=LOAN_COLUMNS)
    header = table.header
    unknown = [c for c in header if c not in LOAN_COLUMNS]
    missing = [c for c in _REQUIRED if c not in header]
    if "serial" not in header and "asset_tag" not in header:
        missing.insert(0, "serial or asset_tag")
    if unknown or missing or len(set(header)) != len(header):
        raise refuse_rows(
            [
                "line 1: the columns are "
                + ", ".join(LOAN_COLUMNS)
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(unknown)}" if unknown else "")
                + ("; a column appears twice" if len(set(header)) != len(header) else "")
            ]
        )
    canonical = {r.casefold(): r for r in regions}
    rows: list[LoanRow] = []
    problems: list[str] = []
    for line, v in table.rows(problems):
        bad: list[str] = []
        device = (v.get("serial") or v.get("asset_tag") or "").upper()
        if not device:
            bad.append("give the device's serial or asset_tag")
        borrower = v["borrower_id"]
        if not _DESK_ID.match(borrower):
            bad.append(f"borrower_id {borrower[:40]!r} is not a loan desk id (e.g. B-1017)")
        given, family = (
            " ".join(v["given_name"].split()),
            " ".join(v.get("family_name", "").split()),
        )
        if not given and not family:
            bad.append("give the borrower's given_name or family_name")
        if len(given) > 120 or len(family) > 120:
            bad.append("a name is longer than 120 characters")
        region = canonical.get(v["region"].casefold())
        if region is None:
            bad.append(
                f"unknown region {v['region'][:40]!r} (the regions are {', '.join(regions)})"
            )
        out = _date(v["checked_out"], "checked_out", bad)
        end = _date(v["agreed_end"], "agreed_end", bad)
        returned = _date(v["returned"], "returned", bad) if v.get("returned") else None
        if out and end and end < out:
            bad.append(f"agreed_end {end} is before checked_out {out}")
        if out and returned and returned < out:
            bad.append(f"returned {returned} is before checked_out {out}")
        condition: Condition | None = None
        if v.get("condition"):
            try:
                condition = Condition(v["condition"].lower())
            except ValueError:
                bad.append(f"condition {v['condition'][:20]!r} is not ok, damaged or lost")
        if condition is not None and returned is None:
            bad.append("a condition without a returned date: an open loan has none")
        if returned is not None and condition is None:
            condition = Condition.OK
        needs = v.get("needs_data", "").lower()
        if needs not in _TRUE | _FALSE:
            bad.append(f"needs_data {v.get('needs_data', '')[:20]!r} is not true or false")
        email = v.get("account_email") or None
        if email is not None and not _EMAIL.match(email):
            bad.append(f"account_email {email[:60]!r} is not an address")
        if email is not None and returned is not None:
            bad.append("account_email on a closed loan: only an open loan adopts an account")
        problems.extend(f"line {line}: {p}" for p in bad)
        if not bad and out and end and region:
            rows.append(
                LoanRow(
                    line, device, borrower, given, family, region, out, end, returned, condition,
                    v.get("course") or None, needs in _TRUE,
                    None if email is None else email.lower(),
                )
            )  # fmt: skip
    if problems:
        raise refuse_rows(problems)
    return rows


def _noon(day: date) -> datetime:
    """The moment a day of the file stands for: local noon (clear of midnight and DST)."""
    return datetime.combine(day, time(12)).astimezone().astimezone(UTC)


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return (a[0] < b[1] and b[0] < a[1]) or a[0] == b[0]


def import_loans(
    session: Session,
    rows: Sequence[LoanRow],
    *,
    programme: Programme,
    actor: str,
    now: datetime | None = None,
) -> LoanImportReport:
    """Take ``rows`` into the ledger, all or nothing (see the module's documentation)."""
    check_actor(actor)
    now = now_or(now)
    today = local_date(now)
    devices: dict[str, dict[str, Any]] = {}
    for d in session.execute(
        sa.select(Device.id, Device.serial, Device.asset_tag, Device.state, Device.connectivity)
    ).mappings():
        devices[d["serial"]] = dict(d)
        if d["asset_tag"]:
            devices[d["asset_tag"]] = devices[d["serial"]]
    borrowers = {
        b["desk_id"]: dict(b)
        for b in session.execute(
            sa.select(
                Borrower.id, Borrower.desk_id, Borrower.given_name, Borrower.family_name,
                Borrower.account_email,
            )
        ).mappings()
    }  # fmt: skip
    by_id = {b["id"]: desk for desk, b in borrowers.items()}
    courses = {c.casefold(): c for c in session.scalars(sa.select(CoursePeriod.name))}
    emails = {b["account_email"]: desk for desk, b in borrowers.items() if b["account_email"]}
    # Every loan the ledger holds, per device: (out day, end day or far, borrower).
    spans: dict[int, list[tuple[int, int, str, int | None]]] = defaultdict(list)
    open_of_borrower: dict[str, int] = {}
    for device_id, borrower_id, out, back in session.execute(
        sa.select(Loan.device_id, Loan.borrower_id, Loan.checked_out_at, Loan.returned_at)
    ):
        desk = by_id[borrower_id]
        start = local_date(out).toordinal()
        spans[device_id].append(
            (start, _FAR if back is None else local_date(back).toordinal(), desk, None)
        )
        if back is None:
            open_of_borrower[desk] = device_id
    problems: list[str] = []
    new: list[tuple[LoanRow, dict[str, Any], str | None]] = []
    report = LoanImportReport()
    for row in rows:
        bad: list[str] = []
        device = devices.get(row.device)
        if device is None:
            problems.append(f"line {row.line}: no device has serial or asset tag {row.device}")
            continue
        span = (
            row.checked_out.toordinal(),
            _FAR if row.returned is None else row.returned.toordinal(),
        )
        same = [s for s in spans[device["id"]] if s[0] == span[0] and s[2] == row.borrower]
        if same and same[0][3] is None:
            report.unchanged += 1
            continue
        clash = [s for s in spans[device["id"]] if _overlap(span, s[:2])]
        for start, _end, desk, line in clash:
            where = f"line {line}" if line is not None else "a loan in the ledger"
            bad.append(
                f"device {device['serial']} is lent to {desk} from "
                f"{date.fromordinal(start).isoformat()} ({where}): its loans overlap"
            )
        course = None
        if row.course is not None:
            course = courses.get(row.course.casefold())
            if course is None:
                bad.append(
                    f"unknown course period {row.course!r}; add it first with `fleetsync course "
                    "add` (the known ones: `fleetsync course list`)"
                )
        if row.needs_data and device["connectivity"] != Connectivity.FOUR_G:
            bad.append(f"the borrower needs data and device {device['serial']} has no 4G")
        known = borrowers.get(row.borrower)
        if known is not None and (known["given_name"], known["family_name"]) not in (
            (row.given_name, row.family_name),
            (None, None),
        ):
            bad.append(f"borrower {row.borrower} is known with other names")
        if row.returned is None:
            if row.checked_out > today:
                bad.append(f"checked_out {row.checked_out} is after today")
            if device["state"] != DeviceState.SPARE:
                bad.append(
                    f"device {device['serial']} is {device['state']}: an open loan needs a "
                    "spare device"
                )
            if row.borrower in open_of_borrower:
                bad.append(f"borrower {row.borrower} has an open loan already")
            if row.account_email is not None:
                owner = emails.get(row.account_email)
                if owner is not None and owner != row.borrower:
                    bad.append(f"account_email {row.account_email} is another borrower's")
                if known is not None and known["account_email"] not in (None, row.account_email):
                    bad.append(
                        f"borrower {row.borrower} has the account {known['account_email']} already"
                    )
        elif row.returned > today:
            bad.append(f"returned {row.returned} is after today")
        if bad:
            problems.extend(f"line {row.line}: {p}" for p in bad)
            continue
        spans[device["id"]].append((*span, row.borrower, row.line))
        if row.returned is None:
            open_of_borrower[row.borrower] = device["id"]
            if row.account_email is not None:
                emails[row.account_email] = row.borrower
        new.append((row, device, course))
    if problems:
        raise refuse_rows(sorted(problems, key=lambda p: int(p.split(":", 1)[0][5:])))
    _write(session, new, borrowers, report, programme=programme, actor=actor, now=now)
    return report


def _write(
    session: Session,
    new: list[tuple[LoanRow, dict[str, Any], str | None]],
    borrowers: dict[str, dict[str, Any]],
    report: LoanImportReport,
    *,
    programme: Programme,
    actor: str,
    now: datetime,
) -> None:
    if not new:
        return
    # New borrowers, in one statement (their latest row's names and region).
    latest: dict[str, LoanRow] = {}
    for row, _device, _course in new:
        if row.borrower not in borrowers:
            latest[row.borrower] = row
    if latest:
        ids = session.scalars(
            sa.insert(Borrower).returning(Borrower.id, sort_by_parameter_order=True),
            [
                {
                    "desk_id": r.borrower,
                    "given_name": r.given_name,
                    "family_name": r.family_name,
                    "region": r.region,
                    "account_status": AccountStatus.NONE,
                    "created_at": now,
                }
                for r in latest.values()
            ],
        ).all()
        for desk, borrower_id in zip(latest, ids, strict=True):
            borrowers[desk] = {"id": borrower_id, "desk_id": desk}
        report.new_borrowers = len(ids)
    values = [
        {
            "device_id": device["id"],
            "borrower_id": borrowers[row.borrower]["id"],
            "checked_out_at": _noon(row.checked_out),
            "agreed_end": row.agreed_end,
            "course_period": course,
            "needs_data": row.needs_data,
            "region": row.region,
            "connectivity": device["connectivity"],
            "returned_at": None if row.returned is None else _noon(row.returned),
            "return_condition": row.condition,
        }
        for row, device, course in new
    ]
    loan_ids = session.scalars(
        sa.insert(Loan).returning(Loan.id, sort_by_parameter_order=True), values
    ).all()
    session.execute(
        sa.insert(AuditEvent),
        [
            {
                "at": now,
                "actor": actor,
                "action": "loan_import",
                "device_id": v["device_id"],
                "borrower_id": v["borrower_id"],
                "loan_id": loan_id,
                "after": {
                    "loan": f"L-{loan_id}",
                    "borrower": row.borrower,
                    "checked_out": row.checked_out.isoformat(),
                    "agreed_end": row.agreed_end.isoformat(),
                    "returned": None if row.returned is None else row.returned.isoformat(),
                    "condition": row.condition,
                    "course": v["course_period"],
                },
            }
            for (row, _d, _c), v, loan_id in zip(new, values, loan_ids, strict=True)
        ],
    )
    report.loans = [f"L-{i}" for i in loan_ids]
    for (row, device, _course), loan_id in zip(new, loan_ids, strict=True):
        if row.returned is not None:
            report.imported_closed += 1
            continue
        report.imported_open += 1
        _open(session, row, device, loan_id, programme=programme, report=report, now=now)


def _open(
    session: Session,
    row: LoanRow,
    device: dict[str, Any],
    loan_id: int,
    *,
    programme: Programme,
    report: LoanImportReport,
    now: datetime,
) -> None:
    """An open loan: the device goes on loan, the borrower gets their account (adopted or new)."""
    record_ = session.get_one(Device, device["id"])
    record_.state = DeviceState.ON_LOAN
    record_.state_since = _noon(row.checked_out)
    person = session.scalars(sa.select(Borrower).where(Borrower.desk_id == row.borrower)).one()
    person.region = row.region
    if row.account_email is not None:
        person.account_email = row.account_email
        person.adopt_account = True
        person.account_status = AccountStatus.ACTIVE
        person.account_status_since = now
        report.adopted_accounts.append(row.account_email)
    else:
        provide_account(
            session, person, loan=session.get_one(Loan, loan_id), programme=programme, now=now
        )
    wake(session, "device", record_.serial, "loan_import", at=now)
    wake(session, "borrower", row.borrower, "loan_import", at=now)
