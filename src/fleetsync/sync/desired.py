"""The ledger's facts, read for the planner: every device with its open loan and waiting
powerwash (one query), every borrower with an account (one query), and the new first passwords
Google does not have yet (one query of the few sealed passwords)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from sys import intern

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fleetsync.domain.desired import (
    LedgerBorrower,
    LedgerDevice,
    LedgerLoan,
    desired_account,
    desired_device,
)
from fleetsync.domain.lifecycle import AccountStatus, CommandState, DeviceState
from fleetsync.domain.overdue import LOCK, LOCK_HELD
from fleetsync.domain.plan import Desired
from fleetsync.ledger.models import (
    Borrower,
    Device,
    DeviceCommand,
    Loan,
    LoanEscalation,
    PendingCredential,
    loan_ref,
)
from fleetsync.ledger.queries import POWERWASH
from fleetsync.settings import Settings
from fleetsync.sync.config import layout_of, policies_of, required_org_units

__all__ = ["Scope", "load_desired", "scope_of_borrowers"]

#: Rows are streamed this many at a time, never all held at once.
_STREAM = 2000


class Scope:
    """What a targeted reconcile looks at: devices by serial, borrowers by desk id."""

    def __init__(self, devices: Collection[str] = (), borrowers: Collection[str] = ()) -> None:
        self.devices = frozenset(s.strip().upper() for s in devices)
        self.borrowers = frozenset(b.strip() for b in borrowers)

    def __bool__(self) -> bool:
        return bool(self.devices or self.borrowers)


def _ledger_devices(session: Session, scope: Scope | None) -> list[LedgerDevice]:
    waiting = (
        sa.select(DeviceCommand.device_id, sa.func.max(DeviceCommand.id).label("request_id"))
        .where(
            DeviceCommand.kind == POWERWASH,
            DeviceCommand.state == CommandState.REQUESTED,
        )
        .group_by(DeviceCommand.device_id)
        .subquery()
    )
    # The loans the ledger wants locked: a lock asked for or done, not lifted.
    locks = (
        sa.select(LoanEscalation.loan_id)
        .where(LoanEscalation.step == LOCK, LoanEscalation.state.in_(LOCK_HELD))
        .subquery()
    )
    stmt = (
        sa.select(
            Device.serial,
            Device.asset_tag,
            Device.region,
            Device.state,
            Device.google_device_id,
            Loan.id,
            Loan.agreed_end,
            Borrower.desk_id,
            Borrower.account_email,
            waiting.c.request_id,
            locks.c.loan_id,
        )
        .outerjoin(Loan, sa.and_(Loan.device_id == Device.id, Loan.returned_at.is_(None)))
        .outerjoin(Borrower, Borrower.id == Loan.borrower_id)
        .outerjoin(waiting, waiting.c.device_id == Device.id)
        .outerjoin(locks, locks.c.loan_id == Loan.id)
        .order_by(Device.serial)
    )
    if scope is not None:
        stmt = stmt.where(Device.serial.in_(scope.devices))
    stmt = stmt.execution_options(yield_per=_STREAM)
    devices = []
    for (
        serial,
        tag,
        region,
        state,
        google_id,
        loan_id,
        end,
        desk,
        email,
        request,
        locked_loan,
    ) in session.execute(stmt):
        loan = None
        if loan_id is not None:
            loan = LedgerLoan(
                ref=loan_ref(loan_id), borrower=desk, account_email=email, agreed_end=end
            )
        devices.append(
            LedgerDevice(
                serial=serial,
                asset_tag=tag,
                region=intern(region),
                state=state,
                google_device_id=google_id,
                loan=loan,
                powerwash_request=request,
                locked=locked_loan is not None,
            )
        )
    return devices


def _new_passwords(session: Session, scope: Scope | None, *, now: datetime) -> dict[str, int]:
    """Per borrower (desk id), the first password sealed for them that Google does not have,
    while Google has their account: a new one a desk issued. (A password sealed before the
    account exists is the one the account is created with.) The table holds a few rows: the
    passwords not yet used or collected."""
    stmt = (
        sa.select(Borrower.desk_id, sa.func.max(PendingCredential.id))
        .join(Borrower, Borrower.id == PendingCredential.borrower_id)
        .where(
            PendingCredential.used_at.is_(None),
            PendingCredential.expires_at > now,
            PendingCredential.account_email == Borrower.account_email,
            Borrower.google_user_id.is_not(None),
            Borrower.account_status == AccountStatus.ACTIVE,
        )
        .group_by(Borrower.desk_id)
    )
    if scope is not None:
        stmt = stmt.where(Borrower.desk_id.in_(scope.borrowers))
    return {str(desk_id): int(credential) for desk_id, credential in session.execute(stmt)}


def _ledger_borrowers(
    session: Session, scope: Scope | None, *, now: datetime
) -> list[LedgerBorrower]:
    new_passwords = _new_passwords(session, scope, now=now)
    stmt = (
        sa.select(
            Borrower.desk_id,
            Borrower.account_email,
            Borrower.given_name,
            Borrower.family_name,
            Borrower.region,
            Borrower.account_status,
            Borrower.account_status_since,
            Borrower.google_user_id,
            Borrower.adopt_account,
        )
        .where(Borrower.account_status != AccountStatus.NONE)
        .order_by(Borrower.desk_id)
    )
    if scope is not None:
        stmt = stmt.where(Borrower.desk_id.in_(scope.borrowers))
    stmt = stmt.execution_options(yield_per=_STREAM)
    # Plain rows, not ORM objects: a no-op sync of 100,000 borrowers builds none.
    return [
        LedgerBorrower(
            desk_id=desk_id,
            account_email=email,
            given_name=given or "",
            family_name=family or "",
            region=intern(region),
            account_status=status,
            account_status_since=since,
            google_user_id=user_id,
            adopt_account=bool(adopt),
            new_password=new_passwords.get(desk_id),
        )
        for desk_id, email, given, family, region, status, since, user_id, adopt in session.execute(
            stmt
        )
    ]


def scope_of_borrowers(session: Session, scope: Scope) -> Scope:
    """A targeted scope widened to the borrowers of its devices' open loans: a checkout that
    names a device also concerns the borrower's account."""
    if not scope.devices:
        return scope
    desk_ids = session.scalars(
        sa.select(Borrower.desk_id)
        .join(Loan, Loan.borrower_id == Borrower.id)
        .join(Device, Device.id == Loan.device_id)
        .where(Device.serial.in_(scope.devices), Loan.returned_at.is_(None))
    ).all()
    return Scope(scope.devices, scope.borrowers | set(desk_ids))


def load_desired(
    session: Session, settings: Settings, *, now: datetime, scope: Scope | None = None
) -> Desired:
    """What Google should look like, for the whole ledger or for ``scope``."""
    layout = layout_of(settings)
    delete_after = timedelta(days=settings.accounts.delete_after_days)
    devices = _ledger_devices(session, scope)
    borrowers = _ledger_borrowers(session, scope, now=now)
    accounts = tuple(
        account
        for account in (
            desired_account(b, layout, now=now, delete_after=delete_after) for b in borrowers
        )
        if account is not None
    )
    retired = DeviceState.RETIRED
    if scope is None:
        known_serials = frozenset(d.serial for d in devices)
        known_tags = {d.asset_tag: d.serial for d in devices if d.asset_tag}
        managed_devices = sum(1 for d in devices if d.state is not DeviceState.RETIRED)
        managed_accounts = sum(
            1
            for b in borrowers
            if b.account_status in (AccountStatus.ACTIVE, AccountStatus.SUSPENDED)
        )
    else:
        # A targeted plan never looks for strangers; the limits' shares still refer to all.
        known_serials, known_tags = frozenset(), {}
        managed_devices = (
            session.scalar(
                sa.select(sa.func.count()).select_from(Device).where(Device.state != retired)
            )
            or 0
        )
        managed_accounts = (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(Borrower)
                .where(Borrower.account_status.in_([AccountStatus.ACTIVE, AccountStatus.SUSPENDED]))
            )
            or 0
        )
    return Desired(
        devices=tuple(desired_device(d, layout) for d in devices),
        accounts=accounts,
        policies=policies_of(settings) if scope is None else (),
        org_units=required_org_units(settings),
        known_serials=known_serials,
        known_asset_tags=known_tags,
        managed_devices=managed_devices,
        managed_accounts=managed_accounts,
    )
