"""The ledger's tables: devices, borrowers, loans, the audit trail, the outbox, device commands
and the first passwords waiting to be handed over.

The schema itself is made by the Alembic migrations in ``migrations/`` (a test checks the two
agree on both databases). Times are stored in UTC and always come back timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from fleetsync.domain.actions import Budget
from fleetsync.domain.borrowers import MAX_NAME_KEY, name_key, name_words
from fleetsync.domain.inventory import (
    MAX_ANNOTATED_USER,
    MAX_GOOGLE_ID,
    MAX_GOOGLE_STATUS,
    MAX_IDENTIFIER,
    MAX_MODEL,
    MAX_ORG_UNIT_PATH,
    MAX_REGION,
)
from fleetsync.domain.lifecycle import (
    AccountStatus,
    CommandState,
    Condition,
    Connectivity,
    DeviceState,
)
from fleetsync.domain.overdue import EscalationState, EscalationStep
from fleetsync.domain.runs import JournalState, RunStatus
from fleetsync.domain.staff import MAX_USERNAME, StaffRole

__all__ = [
    "APSCHEDULER_JOBS",
    "STOPPED_PREFIX",
    "AuditEvent",
    "Base",
    "Borrower",
    "BorrowerDeskWord",
    "BorrowerWord",
    "BudgetHold",
    "BudgetSpend",
    "CoursePeriod",
    "CoursePeriodRegion",
    "DaemonReplica",
    "Device",
    "DeviceCommand",
    "IssuedUsername",
    "Loan",
    "LoanContact",
    "LoanEscalation",
    "LoanExtension",
    "OutboxEntry",
    "PendingCredential",
    "PolicyState",
    "Repair",
    "Reservation",
    "StaffAccount",
    "SyncJournalEntry",
    "SyncRun",
    "UtcDateTime",
    "WebhookDelivery",
    "loan_ref",
]

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database (SQLite keeps no zone: store UTC there)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the ledger stores aware UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JsonColumn = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JsonColumn,
    }


def _values(vocabulary: type[StrEnum]) -> list[str]:
    return [member.value for member in vocabulary]


def _vocabulary(values: type[StrEnum], length: int) -> sa.Enum:
    """A column that holds one word of a domain vocabulary (:class:`~enum.StrEnum`): stored as
    the member's value in a ``VARCHAR(length)``, exactly as a plain string column would (no
    native enum type, no constraint of its own: the table declares its CHECK with
    :func:`_check_in`), read back as the member. A string that is not one of the words is
    refused before it reaches the database, in a write and in a comparison alike."""
    return sa.Enum(
        values,
        native_enum=False,
        create_constraint=False,
        values_callable=_values,
        validate_strings=True,
        length=length,
    )


def _check_in(column: str, values: type[Any], name: str) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=name)


def loan_ref(loan_id: int) -> str:
    """How people see a loan: ``L-88``."""
    return f"L-{loan_id}"


class Device(Base):
    __tablename__ = "devices"
    __table_args__ = (
        _check_in("state", DeviceState, "state"),
        _check_in("connectivity", Connectivity, "connectivity"),
        # The desk's lists: the spare devices of a region and connectivity, by serial.
        sa.Index(
            "ix_devices_state_region_connectivity", "state", "region", "connectivity", "serial"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Upper case, as Google reports it. References match exactly, never by prefix.
    serial: Mapped[str] = mapped_column(sa.String(MAX_IDENTIFIER), unique=True)
    #: Upper case. Optional: a device adopted from Google may have none yet.
    asset_tag: Mapped[str | None] = mapped_column(sa.String(MAX_IDENTIFIER), unique=True)
    model: Mapped[str] = mapped_column(sa.String(MAX_MODEL))
    region: Mapped[str] = mapped_column(sa.String(MAX_REGION), index=True)
    connectivity: Mapped[Connectivity] = mapped_column(_vocabulary(Connectivity, 8))
    google_device_id: Mapped[str | None] = mapped_column(sa.String(MAX_GOOGLE_ID), unique=True)
    state: Mapped[DeviceState] = mapped_column(_vocabulary(DeviceState, 20), index=True)
    state_since: Mapped[datetime]
    created_at: Mapped[datetime]
    #: What Google last confirmed about the device (read by a sync, or a change it made): the
    #: loan desk's status page compares it with what the ledger wants. Never the truth.
    google_org_unit: Mapped[str | None] = mapped_column(sa.String(MAX_ORG_UNIT_PATH))
    google_status: Mapped[str | None] = mapped_column(sa.String(MAX_GOOGLE_STATUS))
    google_annotated_user: Mapped[str | None] = mapped_column(sa.String(MAX_ANNOTATED_USER))
    google_checked_at: Mapped[datetime | None]
    #: The delivery date: available to lend from that day until retired or lost. ``None``: from
    #: the (local) day it entered the ledger.
    available_from: Mapped[date | None]

    loans: Mapped[list[Loan]] = relationship(back_populates="device", order_by="Loan.id")


class Borrower(Base):
    __tablename__ = "borrowers"
    __table_args__ = (_check_in("account_status", AccountStatus, "account_status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The loan desk's id for this person (``B-1017``): how the audit trail refers to them.
    desk_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: Personal data: emptied when the borrower is pseudonymised after the retention period.
    given_name: Mapped[str | None] = mapped_column(sa.String(120))
    family_name: Mapped[str | None] = mapped_column(sa.String(120))
    #: Both names folded (:func:`fleetsync.domain.borrowers.name_key`): kept in step with them
    #: on every ORM write (below), emptied with them. Personal data too.
    name_key: Mapped[str | None] = mapped_column(sa.String(MAX_NAME_KEY))
    region: Mapped[str] = mapped_column(sa.String(64))
    #: ``username@domain`` of their Workspace account, once one was asked for.
    account_email: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    #: The account as the ledger wants it; the reconciler makes Google agree.
    account_status: Mapped[AccountStatus] = mapped_column(
        _vocabulary(AccountStatus, 12), default=AccountStatus.NONE
    )
    account_status_since: Mapped[datetime | None]
    google_user_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    #: What Google last confirmed about the account (see ``Device.google_org_unit``); ``None``
    #: while Google has no account for this borrower.
    google_suspended: Mapped[bool | None]
    google_org_unit: Mapped[str | None] = mapped_column(sa.String(255))
    google_checked_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    pseudonymised_at: Mapped[datetime | None]
    #: ``account_email`` names an account that already exists in Google (a programme brought in
    #: with ``loan import``): the reconciler takes it over instead of creating one.
    adopt_account: Mapped[bool] = mapped_column(server_default=sa.false())
    #: The intent of deleting the account in Google: committed (after checking, under the row's
    #: lock, that the borrower has no open loan) before Google is called, cleared when Google's
    #: answer is recorded. A checkout that meets it is refused until the deletion is settled.
    account_deleting_since: Mapped[datetime | None]

    loans: Mapped[list[Loan]] = relationship(back_populates="borrower", order_by="Loan.id")


@sa.event.listens_for(Borrower, "before_insert")
@sa.event.listens_for(Borrower, "before_update")
def _fold_names(_mapper: Any, _connection: Any, borrower: Borrower) -> None:
    borrower.name_key = name_key(borrower.given_name, borrower.family_name)


#: Byte order on PostgreSQL too, whatever the database's collation: a search reads a range of
#: words (``word >= 'oz' AND word < 'o{'``), which only byte order makes a prefix.
_WORD = sa.String(MAX_NAME_KEY).with_variant(sa.String(MAX_NAME_KEY, collation="C"), "postgresql")


class BorrowerWord(Base):
    """The words of a borrower's names, folded (:func:`fleetsync.domain.borrowers.name_words`):
    what the desk's name search reads, by prefix, through the primary key. Kept in step with the
    names by the events below (emptied when the names are: pseudonymisation). Personal data."""

    __tablename__ = "borrower_words"
    __table_args__ = (sa.Index("ix_borrower_words_borrower_id_word", "borrower_id", "word"),)

    word: Mapped[str] = mapped_column(_WORD, primary_key=True)
    borrower_id: Mapped[int] = mapped_column(sa.ForeignKey("borrowers.id"), primary_key=True)


class BorrowerDeskWord(Base):
    """The words of :class:`BorrowerWord` once per desk that lent to the borrower (a loan of
    theirs with that ``desk``, open or ended): a desk's name search reads one range of the
    primary key, ``(desk, word)``, instead of asking of every borrower with a matching word
    whether this desk lent to them. Kept in step by the events below: a loan with a desk adds
    its borrower's words for that desk, new names replace them, pseudonymisation erases them
    with the names. Personal data."""

    __tablename__ = "borrower_desk_words"
    __table_args__ = (sa.Index("ix_borrower_desk_words_borrower_id", "borrower_id"),)

    desk: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    word: Mapped[str] = mapped_column(_WORD, primary_key=True)
    borrower_id: Mapped[int] = mapped_column(sa.ForeignKey("borrowers.id"), primary_key=True)


@sa.event.listens_for(Borrower, "after_insert")
@sa.event.listens_for(Borrower, "after_update")
def _index_words(_mapper: Any, connection: sa.Connection, borrower: Borrower) -> None:
    state = sa.inspect(borrower)
    if state.attrs.name_key.history.unchanged:
        return  # an update of something else (the account, Google's view)
    connection.execute(
        sa.delete(BorrowerDeskWord).where(BorrowerDeskWord.borrower_id == borrower.id)
    )
    connection.execute(sa.delete(BorrowerWord).where(BorrowerWord.borrower_id == borrower.id))
    words = name_words(borrower.given_name, borrower.family_name)
    if words:
        connection.execute(
            sa.insert(BorrowerWord),
            [{"word": w, "borrower_id": borrower.id} for w in sorted(words)],
        )
        # The desks that lent to them (none yet for a new borrower: their loan comes after).
        connection.execute(
            sa.insert(BorrowerDeskWord).from_select(
                ["desk", "word", "borrower_id"],
                sa.select(Loan.desk, BorrowerWord.word, BorrowerWord.borrower_id)
                .join(BorrowerWord, BorrowerWord.borrower_id == Loan.borrower_id)
                .where(Loan.borrower_id == borrower.id, Loan.desk.is_not(None))
                .distinct(),
            )
        )


class Loan(Base):
    __tablename__ = "loans"
    __table_args__ = (
        # The lifecycle's first rule, held by the database too: one open loan per device and
        # per borrower, whatever runs concurrently.
        sa.Index(
            "uq_loans_open_device",
            "device_id",
            unique=True,
            sqlite_where=sa.text("returned_at IS NULL"),
            postgresql_where=sa.text("returned_at IS NULL"),
        ),
        sa.Index(
            "uq_loans_open_borrower",
            "borrower_id",
            unique=True,
            sqlite_where=sa.text("returned_at IS NULL"),
            postgresql_where=sa.text("returned_at IS NULL"),
        ),
        # The desks' lists (services.lookup): open loans by agreed end, of one desk or of all,
        # and every loan of a desk, newest first.
        sa.Index(
            "ix_loans_open_agreed_end",
            "agreed_end",
            "id",
            sqlite_where=sa.text("returned_at IS NULL"),
            postgresql_where=sa.text("returned_at IS NULL"),
        ),
        sa.Index(
            "ix_loans_open_desk_agreed_end",
            "desk",
            "agreed_end",
            "id",
            sqlite_where=sa.text("returned_at IS NULL"),
            postgresql_where=sa.text("returned_at IS NULL"),
        ),
        sa.Index("ix_loans_desk_id", "desk", "id"),
        sa.Index("ix_loans_borrower_id_desk", "borrower_id", "desk"),
        _check_in("connectivity", Connectivity, "connectivity"),
        _check_in("return_condition", Condition, "return_condition"),
        sa.CheckConstraint(
            "(returned_at IS NULL) = (return_condition IS NULL)", name="returned_with_condition"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(sa.ForeignKey("devices.id"), index=True)
    #: Indexed with the desk (``ix_loans_borrower_id_desk``): whether a desk lent to a borrower
    #: is read from the index alone (the desk's name search asks it of every candidate).
    borrower_id: Mapped[int] = mapped_column(sa.ForeignKey("borrowers.id"))
    checked_out_at: Mapped[datetime]
    #: The latest agreed end date (the last day of the loan); extensions are in loan_extensions.
    agreed_end: Mapped[date] = mapped_column(index=True)
    course_period: Mapped[str | None] = mapped_column(sa.String(100))
    needs_data: Mapped[bool]
    #: The device's region and connectivity at checkout: reports never change afterwards.
    region: Mapped[str] = mapped_column(sa.String(64), index=True)
    connectivity: Mapped[Connectivity] = mapped_column(_vocabulary(Connectivity, 8))
    #: When the loan ended: the device came back, or was lost (``return_condition = 'lost'``).
    returned_at: Mapped[datetime | None]
    return_condition: Mapped[Condition | None] = mapped_column(_vocabulary(Condition, 10))
    return_note: Mapped[str | None] = mapped_column(sa.Text)
    #: The loan desk that checked it out (``webhook:<desk>``, ``desk:<desk>:<person>``); ``None``
    #: for a technician's loan. Only that desk sees and changes it (``services.desks``).
    desk: Mapped[str | None] = mapped_column(sa.String(64))
    #: The loan agreement the borrower accepted at checkout (``[agreement] version``), and when.
    agreement_version: Mapped[str | None] = mapped_column(sa.String(40))
    agreement_signed_at: Mapped[datetime | None]

    device: Mapped[Device] = relationship(back_populates="loans")
    borrower: Mapped[Borrower] = relationship(back_populates="loans")
    extensions: Mapped[list[LoanExtension]] = relationship(order_by="LoanExtension.id")

    @property
    def ref(self) -> str:
        return loan_ref(self.id)


@sa.event.listens_for(Loan, "after_insert")
@sa.event.listens_for(Loan, "after_update")
def _index_desk_words(_mapper: Any, connection: sa.Connection, loan: Loan) -> None:
    """A loan with a desk: its borrower's words for that desk, unless they are there already
    (the desk lent to them before)."""
    state = sa.inspect(loan)
    if loan.desk is None or (
        state.attrs.desk.history.unchanged and state.attrs.borrower_id.history.unchanged
    ):
        return
    there = sa.select(BorrowerDeskWord.word).where(
        BorrowerDeskWord.desk == loan.desk,
        BorrowerDeskWord.word == BorrowerWord.word,
        BorrowerDeskWord.borrower_id == BorrowerWord.borrower_id,
    )
    connection.execute(
        sa.insert(BorrowerDeskWord).from_select(
            ["desk", "word", "borrower_id"],
            sa.select(sa.literal(loan.desk), BorrowerWord.word, BorrowerWord.borrower_id).where(
                BorrowerWord.borrower_id == loan.borrower_id, ~there.exists()
            ),
        )
    )


class CoursePeriod(Base):
    """A course period (``2026 Sept-Oct``): loans are lent for it, reservations made for it. A
    region's course periods do not overlap (``services.courses`` checks it)."""

    __tablename__ = "course_periods"
    __table_args__ = (sa.CheckConstraint("last_day >= first_day", name="ordered"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: How people name it; unique, and what a loan's ``course_period`` refers to.
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    first_day: Mapped[date]
    last_day: Mapped[date]
    created_at: Mapped[datetime]

    regions: Mapped[list[CoursePeriodRegion]] = relationship(
        order_by="CoursePeriodRegion.region", cascade="all, delete-orphan"
    )

    @property
    def region_names(self) -> tuple[str, ...]:
        return tuple(r.region for r in self.regions)


class CoursePeriodRegion(Base):
    __tablename__ = "course_period_regions"

    course_id: Mapped[int] = mapped_column(sa.ForeignKey("course_periods.id"), primary_key=True)
    region: Mapped[str] = mapped_column(sa.String(64), primary_key=True, index=True)


class Reservation(Base):
    """A person registered for a course period who needs a device: demand, never a particular
    device. Open until a checkout of that borrower for that course fulfils it, or cancelled."""

    __tablename__ = "reservations"
    __table_args__ = (
        sa.CheckConstraint("status IN ('open', 'fulfilled', 'cancelled')", name="status"),
        sa.Index(
            "uq_reservations_open",
            "course_id",
            "borrower",
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("course_periods.id"), index=True)
    #: The loan desk's id for the person (``B-1017``).
    borrower: Mapped[str] = mapped_column(sa.String(64), index=True)
    #: Personal data, as in ``borrowers``.
    given_name: Mapped[str | None] = mapped_column(sa.String(120))
    family_name: Mapped[str | None] = mapped_column(sa.String(120))
    region: Mapped[str] = mapped_column(sa.String(64))
    needs_data: Mapped[bool]
    status: Mapped[str] = mapped_column(sa.String(10))
    #: The desk that made it (``None``: a technician).
    desk: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    #: When it was fulfilled or cancelled.
    closed_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text)
    #: The loan that fulfilled it.
    loan_id: Mapped[int | None] = mapped_column(sa.ForeignKey("loans.id"))

    course: Mapped[CoursePeriod] = relationship()

    @property
    def ref(self) -> str:
        return f"R-{self.id}"


class LoanExtension(Base):
    __tablename__ = "loan_extensions"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(sa.ForeignKey("loans.id"), index=True)
    previous_end: Mapped[date]
    new_end: Mapped[date]
    extended_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(sa.String(100))
    reason: Mapped[str | None] = mapped_column(sa.Text)


class LoanContact(Base):
    """How to reach the borrower of a loan outside their Workspace mailbox (phone, another
    email) and in which language: sealed (Fernet, like first passwords) as one JSON document,
    erased by retention with the borrower's other personal data."""

    __tablename__ = "loan_contacts"

    loan_id: Mapped[int] = mapped_column(sa.ForeignKey("loans.id"), primary_key=True)
    sealed: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime]


class LoanEscalation(Base):
    """One step of an overdue loan's escalation (``reminder``, ``notice``, ``lock``), recorded
    once per loan: the row is written (committed) before the message is sent or the device is
    disabled, so a restart never takes the same step twice."""

    __tablename__ = "loan_escalations"
    __table_args__ = (sa.UniqueConstraint("loan_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(sa.ForeignKey("loans.id"), index=True)
    step: Mapped[EscalationStep] = mapped_column(_vocabulary(EscalationStep, 16))
    #: ``sending`` → ``sent``/``failed``/``unknown`` for a message; ``locking`` → ``locked`` →
    #: ``unlocking`` → ``unlocked`` for a lock.
    state: Mapped[EscalationState] = mapped_column(_vocabulary(EscalationState, 16))
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    #: Why the lock was lifted (returned, extended, withdrawn), or the error of a failed send.
    detail: Mapped[str | None] = mapped_column(sa.Text)
    #: The desk was told (a signed webhook event), for every state the desk hears about.
    notified_state: Mapped[EscalationState | None] = mapped_column(_vocabulary(EscalationState, 16))


class Repair(Base):
    """A device out of circulation until a technician has repaired it (or written it off)."""

    __tablename__ = "repairs"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(sa.ForeignKey("devices.id"), index=True)
    #: The loan whose damaged return opened it (``None``: a technician opened it).
    loan_id: Mapped[int | None] = mapped_column(sa.ForeignKey("loans.id"))
    opened_at: Mapped[datetime]
    opened_by: Mapped[str] = mapped_column(sa.String(100))
    note: Mapped[str | None] = mapped_column(sa.Text)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(sa.String(100))
    close_note: Mapped[str | None] = mapped_column(sa.Text)
    #: ``repaired`` or ``written_off`` once closed.
    outcome: Mapped[str | None] = mapped_column(sa.String(16))


class AuditEvent(Base):
    """Append-only (database triggers refuse UPDATE and DELETE). No personal data: borrowers
    appear by their desk id only, so pseudonymising the borrowers table is enough."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    #: ``cli:<user>``, ``webhook:<desk>``, ``sync``.
    actor: Mapped[str] = mapped_column(sa.String(100))
    action: Mapped[str] = mapped_column(sa.String(40))
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("devices.id"), index=True)
    borrower_id: Mapped[int | None] = mapped_column(sa.ForeignKey("borrowers.id"), index=True)
    loan_id: Mapped[int | None] = mapped_column(sa.ForeignKey("loans.id"), index=True)
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    reason: Mapped[str | None] = mapped_column(sa.Text)


class OutboxEntry(Base):
    """A device or borrower the reconciler must look at: written in the same transaction as the
    change, so a crash between the change and the wake-up loses nothing."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.CheckConstraint("entity_kind IN ('device', 'borrower')", name="entity_kind"),
        sa.Index(
            "ix_outbox_pending",
            "id",
            sqlite_where=sa.text("done_at IS NULL"),
            postgresql_where=sa.text("done_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_kind: Mapped[str] = mapped_column(sa.String(16))
    #: The device's serial or the borrower's desk id.
    entity_key: Mapped[str] = mapped_column(sa.String(64))
    reason: Mapped[str] = mapped_column(sa.String(40))
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    #: Held back by a safety budget: not drained again before this time (when the budget's
    #: window has room again); ``None`` for an entry to drain now.
    retry_after: Mapped[datetime | None]


class BudgetSpend(Base):
    """One device or account a destructive action was issued for (a safety budget spent): the
    windows count these rows, whatever run or process issued the action. Written in the
    transaction that decides to act, before Google is called; removed when Google refused."""

    __tablename__ = "budget_spend"
    __table_args__ = (
        _check_in("budget", Budget, "budget"),
        sa.Index("ix_budget_spend_budget_at", "budget", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    budget: Mapped[Budget] = mapped_column(_vocabulary(Budget, 16))
    #: The device's serial or the borrower's desk id (never a name or an address).
    target: Mapped[str] = mapped_column(sa.String(MAX_IDENTIFIER))
    at: Mapped[datetime]
    #: A person forced this budget: recorded, not counted against the window.
    forced: Mapped[bool]
    run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sync_runs.id"))


class BudgetHold(Base):
    """A device or account whose destructive action a safety budget holds back now: what
    ``fleetsync status`` and ``/metrics`` show, until a run carries it out or no longer wants it."""

    __tablename__ = "budget_holds"
    __table_args__ = (_check_in("budget", Budget, "budget"),)

    budget: Mapped[Budget] = mapped_column(_vocabulary(Budget, 16), primary_key=True)
    target: Mapped[str] = mapped_column(sa.String(MAX_IDENTIFIER), primary_key=True)
    since: Mapped[datetime]
    run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sync_runs.id"))


class DeviceCommand(Base):
    """A command for a device. The ledger records the intent (``REQUESTED``); the reconciler
    issues it, stores Google's command id and follows its state until it executes."""

    __tablename__ = "device_commands"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(sa.ForeignKey("devices.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    #: Why it was asked for: ``return``, ``reprovision``, ``found``.
    reason: Mapped[str] = mapped_column(sa.String(20))
    #: The loan whose return it belongs to (``None`` for a re-provision or a found device).
    loan_id: Mapped[int | None] = mapped_column(sa.ForeignKey("loans.id"))
    google_command_id: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    state: Mapped[CommandState] = mapped_column(
        _vocabulary(CommandState, 24), default=CommandState.REQUESTED
    )
    requested_at: Mapped[datetime]
    requested_by: Mapped[str] = mapped_column(sa.String(100))
    issued_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    executed_at: Mapped[datetime | None]
    #: ``SUCCESS``, ``FAILURE``, ``IGNORED`` once executed.
    result: Mapped[str | None] = mapped_column(sa.String(16))
    error: Mapped[str | None] = mapped_column(sa.Text)
    #: For an UNKNOWN powerwash (Google's answer was lost): the device's last check-in the tracker
    #: saw after the attempt. A check-in is no proof the command never arrived (the device may be
    #: executing it); a second one long after this one, without enrolling again, is.
    checkin_seen_at: Mapped[datetime | None]


class PendingCredential(Base):
    """A first password, sealed (Fernet), until the reconciler has used it to create the account
    and the desk has collected it, or until it expires."""

    __tablename__ = "pending_credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    borrower_id: Mapped[int] = mapped_column(sa.ForeignKey("borrowers.id"), index=True)
    #: The loan it was sealed for: only that loan's desk (or a technician, or the admin)
    #: collects it. ``None`` only for a password sealed while the borrower had no open loan.
    loan_id: Mapped[int | None] = mapped_column(sa.ForeignKey("loans.id"), index=True)
    account_email: Mapped[str] = mapped_column(sa.String(255))
    sealed_password: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    #: The reconciler created the Google account with it.
    used_at: Mapped[datetime | None]
    #: Handed over to the borrower (by the desk through the API, or on the CLI's checkout output).
    collected_at: Mapped[datetime | None]
    collected_by: Mapped[str | None] = mapped_column(sa.String(100))


class IssuedUsername(Base):
    """Every account address the ledger ever issued, as a keyed digest (HMAC-SHA256): a deleted
    account's address is never reused, and this table holds no personal data to pseudonymise."""

    __tablename__ = "issued_usernames"

    digest: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    issued_at: Mapped[datetime]


class SyncRun(Base):
    """One reconcile: full (scheduled or ``fleetsync sync``) or targeted (after a ledger change)."""

    __tablename__ = "sync_runs"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('full', 'targeted')", name="kind"),
        sa.CheckConstraint(
            "status IN ('running', 'converged', 'failed', 'refused', 'planned', 'crashed', "
            "'stopped')",
            name="status",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    actor: Mapped[str] = mapped_column(sa.String(100))
    started_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime | None]
    #: ``running`` until it ends; ``crashed`` when a later run found it unfinished; ``stopped``
    #: when the daemon was told to stop (the action in flight was finished, the rest not begun).
    status: Mapped[RunStatus] = mapped_column(_vocabulary(RunStatus, 10))
    dry_run: Mapped[bool]
    forced: Mapped[bool]
    #: Actions planned / done / failed per kind, Google calls, what the safety check said.
    summary: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(sa.Text)


class SyncJournalEntry(Base):
    """One planned action of a run: its intent is written before Google is called and its
    outcome after, so a crash leaves a record of exactly what may have happened."""

    __tablename__ = "sync_journal"
    __table_args__ = (
        sa.CheckConstraint(
            "state IN ('intent', 'done', 'failed', 'unknown', 'skipped')", name="state"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("sync_runs.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    #: What it acts on, as people name it: a serial, an account address, an org unit path.
    target: Mapped[str] = mapped_column(sa.String(255), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    #: The action as planned (never a secret: passwords are not part of any action).
    detail: Mapped[dict[str, Any] | None]
    state: Mapped[JournalState] = mapped_column(_vocabulary(JournalState, 10))
    error: Mapped[str | None] = mapped_column(sa.Text)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class PolicyState(Base):
    """Whether the standard policies of one org unit and namespace were found in place."""

    __tablename__ = "policy_state"
    __table_args__ = (sa.UniqueConstraint("org_unit", "namespace"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit: Mapped[str] = mapped_column(sa.String(255))
    namespace: Mapped[str] = mapped_column(sa.String(100))
    in_place: Mapped[bool]
    checked_at: Mapped[datetime]


class WebhookDelivery(Base):
    """A webhook a loan desk sent, by its ``webhook-id``: recorded in the transaction that applied
    it, so a redelivery is answered as the first delivery was and changes nothing. Holds no
    personal data: the answer names the loan, the device and the borrower's desk id at most."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (sa.UniqueConstraint("desk", "webhook_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The desk whose secret signed it (``[api.desks.<desk>]``).
    desk: Mapped[str] = mapped_column(sa.String(64))
    webhook_id: Mapped[str] = mapped_column(sa.String(255))
    event_type: Mapped[str] = mapped_column(sa.String(40))
    #: SHA-256 of the body: the same id with another body is the sender's mistake, not a retry.
    payload_digest: Mapped[str] = mapped_column(sa.String(64))
    received_at: Mapped[datetime] = mapped_column(index=True)
    #: The first answer, replayed to every redelivery: the JSON as it was sent (text, not JSONB,
    #: so that a replay is the same to the byte).
    status_code: Mapped[int]
    answer: Mapped[str] = mapped_column(sa.Text)


#: The row of the daemon that stopped last (``stopped:host:pid``, its heartbeat the moment it
#: stopped): a running replica's name is ``host:pid``.
STOPPED_PREFIX = "stopped:"


class DaemonReplica(Base):
    """A running ``fleetsync daemon``: its heartbeat, and whether it leads (runs the scheduler).
    And one row (named ``STOPPED_PREFIX`` + its name) for the daemon that stopped last."""

    __tablename__ = "daemon_replicas"

    #: ``host:pid``.
    replica: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    leader: Mapped[bool]
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]


class StaffAccount(Base):
    """A member of a loan desk's staff who signs in to the desk web app (``fleetsync staff``).
    The audit trail names what they do ``desk:<desk>:<username>``."""

    __tablename__ = "staff_accounts"
    __table_args__ = (_check_in("role", StaffRole, "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(MAX_USERNAME), unique=True)
    #: How the pages greet them; personal data of the staff member, never in the audit trail.
    display_name: Mapped[str] = mapped_column(sa.String(120))
    desk: Mapped[str] = mapped_column(sa.String(64), index=True)
    role: Mapped[StaffRole] = mapped_column(_vocabulary(StaffRole, 12))
    #: argon2id (argon2-cffi's encoded form, parameters and salt included).
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime]
    password_set_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]
    #: Raised by a password reset, a sign-out and disabling: every older session cookie is void.
    session_epoch: Mapped[int] = mapped_column(default=0)
    #: Failed sign-ins in a row (a success resets it): the throttle's count.
    failed_sign_ins: Mapped[int] = mapped_column(default=0)
    last_failed_sign_in_at: Mapped[datetime | None]
    last_sign_in_at: Mapped[datetime | None]


#: APScheduler 3's job store (``SQLAlchemyJobStore``): its jobs live in the ledger's database.
#: Declared here so the migrations and the models agree; only APScheduler reads and writes it.
APSCHEDULER_JOBS = sa.Table(
    "apscheduler_jobs",
    Base.metadata,
    sa.Column("id", sa.Unicode(191), primary_key=True),
    sa.Column("next_run_time", sa.Float(25), index=True),
    sa.Column("job_state", sa.LargeBinary, nullable=False),
)
