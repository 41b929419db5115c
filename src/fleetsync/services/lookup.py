"""What a loan desk looks up: a device, a borrower, borrowers by name, its loans, spare devices.

Read-only queries for the desk API (``/v1/devices``, ``/v1/borrowers``, ``/v1/loans``) and the
desk web app, in one place so that both answer alike. Each takes the **scope**: the desk whose
staff or software asks (``desk_of(actor)``), or ``None`` for all desks (an admin, a technician).

Within a scope a desk sees its own loans (``loans.desk``) and the borrowers it has lent to,
nothing else: a borrower who never had a loan at this desk is answered exactly like one that does
not exist, a device on another desk's loan shows no loan (only ``on_loan_elsewhere``). Devices are
shared: any desk finds any device, by its exact serial or asset tag, never by a prefix.

Lists are paged by a **cursor** (keyset: the position after the last item, opaque to callers):
``page.next_cursor`` is ``None`` on the last page. Every list answers in one query per page.
"""

from __future__ import annotations

import base64
import binascii
import json
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute, Session, aliased

from fleetsync.domain.borrowers import search_words
from fleetsync.domain.errors import InvalidInput, NotFound
from fleetsync.domain.lifecycle import AccountStatus, Condition, Connectivity, DeviceState
from fleetsync.ledger import queries
from fleetsync.ledger.models import (
    Borrower,
    BorrowerDeskWord,
    BorrowerWord,
    Device,
    Loan,
    loan_ref,
)

__all__ = [
    "MAX_PAGE",
    "BorrowerInfo",
    "BorrowerMatch",
    "DeviceInfo",
    "LoanLine",
    "LoanState",
    "Page",
    "SpareDevice",
    "find_borrower",
    "find_device",
    "list_loans",
    "search_borrowers",
    "spare_devices",
]

T = TypeVar("T")

#: The most items one page holds.
MAX_PAGE = 500
#: The most characters of a name search (two names of at most 120).
MAX_SEARCH = 241


class LoanState(StrEnum):
    """Which loans a list holds: ``open`` ones, ``overdue`` ones (open past their agreed end),
    or ``all`` (ended ones too)."""

    OPEN = "open"
    OVERDUE = "overdue"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class LoanLine:
    """One loan as a desk's list shows it."""

    loan: str
    serial: str
    asset_tag: str | None
    model: str
    borrower: str
    #: ``None`` once the borrower was pseudonymised.
    given_name: str | None
    family_name: str | None
    region: str
    connectivity: Connectivity
    needs_data: bool
    course_period: str | None
    checked_out_at: datetime
    agreed_end: date
    returned_at: datetime | None
    condition: Condition | None
    #: The desk it belongs to (``None``: a technician's loan).
    desk: str | None
    #: Days past the agreed end on ``today`` (0 when not overdue, or ended).
    days_overdue: int

    @property
    def open(self) -> bool:
        return self.returned_at is None

    @property
    def overdue(self) -> bool:
        return self.days_overdue > 0


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    #: Pass it back for the next page; ``None`` on the last one.
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    serial: str
    asset_tag: str | None
    model: str
    state: DeviceState
    state_since: datetime
    region: str
    connectivity: Connectivity
    #: Its open loan, when the scope may see it.
    loan: LoanLine | None
    #: On an open loan the scope may not see (another desk's, or a technician's).
    on_loan_elsewhere: bool

    @property
    def lendable(self) -> bool:
        return self.state == DeviceState.SPARE


@dataclass(frozen=True, slots=True)
class BorrowerInfo:
    id: str
    given_name: str | None
    family_name: str | None
    region: str
    account: str | None
    account_status: AccountStatus
    pseudonymised: bool
    #: Their loans the scope may see, newest first; the open one (if it is the scope's) first.
    loans: tuple[LoanLine, ...]
    #: They hold a device on a loan the scope may not see: a checkout here would be refused.
    on_loan_elsewhere: bool

    @property
    def open_loan(self) -> LoanLine | None:
        return next((loan for loan in self.loans if loan.open), None)


@dataclass(frozen=True, slots=True)
class BorrowerMatch:
    """A borrower a name search found."""

    id: str
    given_name: str | None
    family_name: str | None
    region: str
    #: Their open loan at this desk (``L-88``; any desk's in a search of every desk), if any.
    open_loan: str | None
    #: The desk of that open loan, or else of their last loan (``None``: a technician's, or
    #: none yet). A desk's own search: that desk.
    desk: str | None = None


@dataclass(frozen=True, slots=True)
class SpareDevice:
    serial: str
    asset_tag: str | None
    model: str
    region: str
    connectivity: Connectivity
    spare_since: datetime


# --------------------------------------------------------------------------- devices
def find_device(session: Session, ref: str, *, desk: str | None, today: date) -> DeviceInfo:
    """The device whose serial or asset tag is exactly ``ref`` (any case, never a prefix), with
    its open loan when ``desk`` may see it. Raises :class:`NotFound` or :class:`InvalidInput`
    (an empty reference; a value that is one device's serial and another's asset tag)."""
    device = queries.find_device(session, _typed(ref, "a serial or asset tag"))
    stmt = _lines().where(Loan.device_id == device.id, Loan.returned_at.is_(None))
    open_loan = session.execute(stmt).first()
    visible = open_loan is not None and (desk is None or open_loan.desk == desk)
    line = _line(open_loan, today) if open_loan is not None and visible else None
    return DeviceInfo(
        serial=device.serial,
        asset_tag=device.asset_tag,
        model=device.model,
        state=device.state,
        state_since=device.state_since,
        region=device.region,
        connectivity=device.connectivity,
        loan=line,
        on_loan_elsewhere=open_loan is not None and not visible,
    )


def spare_devices(
    session: Session,
    *,
    region: str | None = None,
    connectivity: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[SpareDevice]:
    """Spare devices (lendable now), of a region and connectivity if given, by serial. Devices
    are shared: every desk sees every spare device."""
    limit = _limit(limit)
    stmt = sa.select(Device).where(Device.state == DeviceState.SPARE)
    if region is not None:
        stmt = stmt.where(Device.region == region)
    if connectivity is not None:
        stmt = stmt.where(Device.connectivity == _connectivity(connectivity))
    if cursor is not None:
        (after,) = _decode(cursor, "s")
        if not isinstance(after, str) or not after or after != after.strip() or _control(after):
            raise InvalidInput(_BAD_CURSOR)
        stmt = stmt.where(Device.serial > after)
    rows = list(session.scalars(stmt.order_by(Device.serial).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(
        items=tuple(
            SpareDevice(
                serial=d.serial,
                asset_tag=d.asset_tag,
                model=d.model,
                region=d.region,
                connectivity=d.connectivity,
                spare_since=d.state_since,
            )
            for d in rows
        ),
        next_cursor=_encode("s", rows[-1].serial) if more else None,
    )


# --------------------------------------------------------------------------- borrowers
def find_borrower(
    session: Session, borrower_id: str, *, desk: str | None, today: date
) -> BorrowerInfo:
    """The borrower with this desk id and their loans that ``desk`` may see. A borrower who
    never had a loan at ``desk`` is :class:`NotFound`, worded as for one who does not exist."""
    key = _typed(borrower_id, "a borrower id").strip()
    if not key:
        raise InvalidInput("give a borrower's id, as the desk gave it at checkout (e.g. B-1017)")
    hidden = NotFound(
        f"{_whose(desk)} no borrower {key}; a desk sees the borrowers it has lent a device to"
    )
    if len(key) > 64:
        raise hidden
    person = queries.find_borrower(session, key)
    if person is None:
        raise hidden
    stmt = _lines().where(Loan.borrower_id == person.id).order_by(Loan.id.desc())
    lines: list[LoanLine] = []
    elsewhere = False
    for row in session.execute(stmt):
        if desk is None or row.desk == desk:
            lines.append(_line(row, today))
        elif row.returned_at is None:
            elsewhere = True
    if desk is not None and not lines:
        raise hidden
    lines.sort(key=lambda line: not line.open)  # the open one first, then newest first
    return BorrowerInfo(
        id=person.desk_id,
        given_name=person.given_name,
        family_name=person.family_name,
        region=person.region,
        account=person.account_email,
        account_status=person.account_status,
        pseudonymised=person.pseudonymised_at is not None,
        loans=tuple(lines),
        on_loan_elsewhere=elsewhere,
    )


def search_borrowers(
    session: Session, text: str, *, desk: str | None, limit: int = 20
) -> list[BorrowerMatch]:
    """Borrowers of ``desk`` (who had a loan there; every borrower for ``None``) with a word of
    their names beginning with each word of ``text``, in any order, whatever the case and the
    accents: "ozturk", "ÖZT" and "ayse oz" find Ayşe Öztürk, "janssens" finds Peeters-Janssens.
    At most ``limit`` (≤ :data:`MAX_PAGE`), by family name then given name; when more match,
    which ones come is by the matching word (type more of the name to narrow it down).

    It reads the words' index by prefix (``borrower_desk_words`` for a desk, ``borrower_words``
    for all) and stops after ``limit``: as fast with a million borrowers as with ten. A part
    inside a word ("zturk") finds nothing."""
    limit = _limit(limit)
    typed = _typed(text, "a name search")
    if len(typed) > MAX_SEARCH:
        raise InvalidInput(f"a name search is at most {MAX_SEARCH} characters")
    words = search_words(typed)
    if not words:
        raise InvalidInput("give part of a borrower's name to search for")
    # A desk's search reads its own words (``borrower_desk_words``: only the borrowers it lent
    # to are there), every desk's search all words: one range of a primary key either way.
    first: Any = aliased(BorrowerWord) if desk is None else aliased(BorrowerDeskWord)
    matches = sa.select(first.word, first.borrower_id).where(*_begins(first.word, words[0]))
    if desk is not None:
        matches = matches.where(first.desk == desk)
    for word in words[1:]:
        other = aliased(BorrowerWord)
        matches = matches.where(
            sa.select(other.word)
            .where(other.borrower_id == first.borrower_id, *_begins(other.word, word))
            .exists()
        )
    # A borrower comes once per word that matches ("peeters-janssens" and "peeters"): a few
    # rows more than asked for, then each borrower once. The page is cut before the borrowers
    # and their open loans are read: with words that always come together ("van den broeck")
    # PostgreSQL expects a row or two, sorts every candidate instead of reading the index in
    # order, and would otherwise read the borrower and the open loan of each of them.
    page = matches.order_by(first.word, first.borrower_id).limit(limit * 3).subquery("matches")
    open_loan = (
        sa.select(Loan.id)
        .where(Loan.borrower_id == page.c.borrower_id, Loan.returned_at.is_(None))
        .limit(1)
    )
    if desk is not None:
        open_loan = open_loan.where(Loan.desk == desk)
    stmt = (
        sa.select(
            Borrower.id,
            Borrower.desk_id,
            Borrower.given_name,
            Borrower.family_name,
            Borrower.region,
            open_loan.scalar_subquery(),
        )
        .select_from(page)
        .join(Borrower, Borrower.id == page.c.borrower_id)
        .order_by(page.c.word, page.c.borrower_id)
    )
    if session.get_bind().dialect.name == "postgresql":
        # With many candidates PostgreSQL plans a parallel scan whose workers take longer to
        # start than the index range takes to read (60 ms instead of 15 for every desk's "ays
        # pe" on 410,000 borrowers): this transaction's remaining queries run in one process.
        session.execute(sa.text("SET LOCAL max_parallel_workers_per_gather = 0"))
    found: dict[int, BorrowerMatch] = {}
    for id_, desk_id, given, family, region, loan_id in session.execute(stmt):
        found.setdefault(
            id_,
            BorrowerMatch(
                id=desk_id,
                given_name=given,
                family_name=family,
                region=region,
                open_loan=None if loan_id is None else loan_ref(loan_id),
                desk=desk,
            ),
        )
        if len(found) == limit:
            break
    if desk is None and found:
        found = _with_desks(session, found)
    return sorted(found.values(), key=lambda m: (m.family_name or "", m.given_name or "", m.id))


def _with_desks(session: Session, found: dict[int, BorrowerMatch]) -> dict[int, BorrowerMatch]:
    """Every desk's search says which desk each borrower is with: their open loan's, or else
    their last loan's. One query for the page (a few loans a borrower, by the borrower index)."""
    stmt = sa.select(Loan.borrower_id, Loan.id, Loan.desk, Loan.returned_at).where(
        Loan.borrower_id.in_(list(found))
    )
    best: dict[int, tuple[bool, int, str | None]] = {}
    for borrower_id, loan_id, desk, returned_at in session.execute(stmt):
        rank = (returned_at is None, loan_id, desk)
        if borrower_id not in best or rank[:2] > best[borrower_id][:2]:
            best[borrower_id] = rank
    return {
        id_: replace(match, desk=best[id_][2]) if id_ in best else match
        for id_, match in found.items()
    }


def _begins(column: QueryableAttribute[str], prefix: str) -> tuple[sa.ColumnElement[bool], ...]:
    """``column`` begins with ``prefix``, as a range an index reads (byte order: see
    :class:`~fleetsync.ledger.models.BorrowerWord`)."""
    prefix = prefix[:MAX_SEARCH]
    if ord(prefix[-1]) == sys.maxunicode:  # nothing sorts after it: no upper bound needed
        return (column >= prefix,)
    return column >= prefix, column < prefix[:-1] + chr(ord(prefix[-1]) + 1)


# --------------------------------------------------------------------------- loans
def list_loans(
    session: Session,
    *,
    desk: str | None,
    today: date,
    state: LoanState | str = LoanState.OPEN,
    borrower: str | None = None,
    due_before: date | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[LoanLine]:
    """The loans of ``desk`` (all desks' for ``None``): ``open`` and ``overdue`` ones by agreed
    end (the most urgent first), ``all`` newest first; of one borrower (their desk id), and/or
    with an agreed end before ``due_before`` (that day excluded). ``days_overdue`` counts from
    ``today``. An unknown borrower, or another desk's, is an empty list."""
    limit = _limit(limit)
    state = _state(state)
    stmt = _lines()
    if desk is not None:
        stmt = stmt.where(Loan.desk == desk)
    if state is not LoanState.ALL:
        stmt = stmt.where(Loan.returned_at.is_(None))
    if state is LoanState.OVERDUE:
        stmt = stmt.where(Loan.agreed_end < today)
    if due_before is not None:
        stmt = stmt.where(Loan.agreed_end < due_before)
    if borrower is not None:
        key = _typed(borrower, "a borrower id").strip()
        if not key:
            raise InvalidInput("give the borrower's id (e.g. B-1017), or leave the filter out")
        borrower_id = sa.select(Borrower.id).where(Borrower.desk_id == key).scalar_subquery()
        stmt = stmt.where(Loan.borrower_id == borrower_id)
    if state is LoanState.ALL:
        if cursor is not None:
            (after,) = _decode(cursor, "a")
            stmt = stmt.where(Loan.id < _int(after))
        stmt = stmt.order_by(Loan.id.desc())
    else:
        if cursor is not None:
            end, after = _decode(cursor, "o", 2)
            end_date, after_id = _date(end), _int(after)
            # A row value: both databases read it as one range of the index, however deep.
            stmt = stmt.where(sa.tuple_(Loan.agreed_end, Loan.id) > sa.tuple_(end_date, after_id))
        stmt = stmt.order_by(Loan.agreed_end, Loan.id)
    rows = session.execute(stmt.limit(limit + 1)).all()
    more = len(rows) > limit
    lines = tuple(_line(row, today) for row in rows[:limit])
    next_cursor = None
    if more:
        last = rows[limit - 1]
        next_cursor = (
            _encode("a", last.id)
            if state is LoanState.ALL
            else _encode("o", last.agreed_end.isoformat(), last.id)
        )
    return Page(items=lines, next_cursor=next_cursor)


# --------------------------------------------------------------------------- helpers
def _whose(desk: str | None) -> str:
    return "there is" if desk is None else f"desk {desk} has"


def _lines() -> sa.Select[*tuple[Any, ...]]:
    """A loan line's columns (plain rows: no ORM objects to build, a list of 50 reads in about
    a millisecond), from loans joined with their device and borrower."""
    return (
        sa.select(
            Loan.id,
            Device.serial,
            Device.asset_tag,
            Device.model,
            Borrower.desk_id,
            Borrower.given_name,
            Borrower.family_name,
            Loan.region,
            Loan.connectivity,
            Loan.needs_data,
            Loan.course_period,
            Loan.checked_out_at,
            Loan.agreed_end,
            Loan.returned_at,
            Loan.return_condition,
            Loan.desk,
        )
        .join(Device, Device.id == Loan.device_id)
        .join(Borrower, Borrower.id == Loan.borrower_id)
    )


def _line(row: sa.Row[*tuple[Any, ...]], today: date) -> LoanLine:
    open_ = row.returned_at is None
    return LoanLine(
        loan=loan_ref(row.id),
        serial=row.serial,
        asset_tag=row.asset_tag,
        model=row.model,
        borrower=row.desk_id,
        given_name=row.given_name,
        family_name=row.family_name,
        region=row.region,
        connectivity=row.connectivity,
        needs_data=row.needs_data,
        course_period=row.course_period,
        checked_out_at=row.checked_out_at,
        agreed_end=row.agreed_end,
        returned_at=row.returned_at,
        condition=row.return_condition,
        desk=row.desk,
        days_overdue=max((today - row.agreed_end).days, 0) if open_ else 0,
    )


def _typed(value: str, what: str) -> str:
    """``value`` when a person or a scanner could have typed it: no control characters (which
    no serial, id or name holds, and which PostgreSQL refuses in a query) once the spaces and
    line ends around it are gone."""
    if _control(value.strip()):
        raise InvalidInput(
            f"{what} has a control character (a scanner's prefix or suffix?); send the "
            "characters of the label only"
        )
    return value


def _control(text: str) -> bool:
    return any(unicodedata.category(c) in {"Cc", "Cs"} for c in text)


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"a page holds 1 to {MAX_PAGE} items, not {limit}")
    return limit


def _state(state: LoanState | str) -> LoanState:
    try:
        return LoanState(state)
    except ValueError:
        raise InvalidInput(
            f"state {state!r} is not one of {', '.join(s.value for s in LoanState)}"
        ) from None


def _connectivity(value: str) -> Connectivity:
    try:
        return Connectivity(value.strip().lower())
    except ValueError:
        raise InvalidInput(
            f"connectivity {value!r} is not one of {', '.join(c.value for c in Connectivity)}"
        ) from None


# A cursor: its list's letter and the last item's sort key, as URL-safe base64 of JSON.
_BAD_CURSOR = "the cursor is not one this list gave; start again from the first page without it"


def _encode(kind: str, *key: Any) -> str:
    raw = json.dumps([kind, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, kind: str, size: int = 1) -> Sequence[Any]:
    """The sort key in a cursor of list ``kind`` (``size`` values); :class:`InvalidInput` for
    anything else, a cursor of another list included."""
    try:
        text = cursor.strip()
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidInput(_BAD_CURSOR) from None
    if not isinstance(value, list) or len(value) != size + 1 or value[0] != kind:
        raise InvalidInput(_BAD_CURSOR)
    return value[1:]


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 2**31:
        raise InvalidInput(_BAD_CURSOR)
    return value


def _date(value: Any) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInput(_BAD_CURSOR) from None
