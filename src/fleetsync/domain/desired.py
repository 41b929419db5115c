"""What Google should look like: derived from the ledger's facts and the programme's layout.

The ledger says where each device is in its life and whether each borrower should have a working
account; the layout says which org unit each state lives in. Nothing here reads the ledger or
Google: the sync layer hands in plain facts (:class:`LedgerDevice`, :class:`LedgerBorrower`) and
gets back what Google must show (:class:`DesiredDevice`, :class:`DesiredAccount`).

Annotations written on a device (``annotatedUser``, ``annotatedAssetId``, ``annotatedLocation``,
``notes``): a device on loan carries its borrower's account, its asset tag, its region and a note
naming the loan and its end date. Off loan, the borrower's address and fleetsync's note are
cleared (a borrower's data must not outlive the loan), and a note a person wrote is left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from sys import intern

from fleetsync.domain.lifecycle import AccountStatus, DeviceState

__all__ = [
    "NOTE_PREFIX",
    "AccountWanted",
    "Annotations",
    "DesiredAccount",
    "DesiredDevice",
    "DeviceStatus",
    "Layout",
    "LedgerBorrower",
    "LedgerDevice",
    "LedgerLoan",
    "desired_account",
    "desired_device",
    "is_under",
    "loan_note",
]

#: fleetsync's notes on a device start with this; notes that don't are a person's and stay.
NOTE_PREFIX = "fleetsync:"


class DeviceStatus(StrEnum):
    """A Chrome device's status as Google reports it (the ones fleetsync sets or meets)."""

    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"
    DEPROVISIONED = "DEPROVISIONED"


class AccountWanted(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    #: Deleted: the retention after the return has passed (or the ledger deleted it already).
    ABSENT = "absent"


def is_under(path: str, root: str) -> bool:
    """``path`` is the org unit ``root`` or one below it."""
    return root == "/" or path == root or path.startswith(root.rstrip("/") + "/")


@dataclass(frozen=True, slots=True)
class Layout:
    """Where things live in Google: an org unit per device state, one per region for accounts."""

    device_org_units: Mapping[DeviceState, str]
    #: The students' org unit, ``{region}`` replaced by the borrower's region.
    students: str
    #: Devices found here (besides the state org units) and unknown to the ledger are reported,
    #: and adopted on request.
    adopt_from: tuple[str, ...] = ()
    #: Where a loan device locked for being overdue is filed (disabled, its return message set
    #: on this org unit); ``None``: loans are never locked.
    locked_org_unit: str | None = None

    def device_org_unit(self, state: DeviceState) -> str:
        return self.device_org_units[state]

    def students_org_unit(self, region: str) -> str:
        # Interned: every account of a region shares one string.
        return intern(self.students.replace("{region}", region))

    @property
    def students_root(self) -> str:
        """The org unit above every borrower's account (where accounts are listed from)."""
        if "{region}" not in self.students:
            return self.students
        # The last whole segment before the region: "/Students/{region}" and
        # "/Students/Region-{region}" both → "/Students".
        head = self.students.split("{region}", 1)[0]
        return head.rsplit("/", 1)[0] or "/"

    @property
    def managed_device_roots(self) -> tuple[str, ...]:
        locked = () if self.locked_org_unit is None else (self.locked_org_unit,)
        return tuple(sorted({*self.device_org_units.values(), *self.adopt_from, *locked}))

    def is_managed_device_org_unit(self, path: str) -> bool:
        return any(is_under(path, root) for root in self.managed_device_roots)


# ------------------------------------------------------------------------- ledger facts
@dataclass(frozen=True, slots=True)
class LedgerLoan:
    ref: str
    borrower: str
    account_email: str | None
    agreed_end: date


@dataclass(frozen=True, slots=True)
class LedgerDevice:
    serial: str
    asset_tag: str | None
    region: str
    state: DeviceState
    google_device_id: str | None = None
    loan: LedgerLoan | None = None
    #: The ledger id of a powerwash asked for and not yet sent to Google.
    powerwash_request: int | None = None
    #: Its open loan is overdue and the ledger wants the device locked (disabled).
    locked: bool = False


@dataclass(frozen=True, slots=True)
class LedgerBorrower:
    desk_id: str
    account_email: str | None
    given_name: str
    family_name: str
    region: str
    account_status: AccountStatus
    account_status_since: datetime | None = None
    google_user_id: str | None = None
    #: ``account_email`` is an existing account to take over (``loan import``), not to create.
    adopt_account: bool = False
    #: A first password sealed for the borrower that Google does not have yet (its id), while
    #: Google has the account: one a desk issued because the borrower lost theirs.
    new_password: int | None = None


# ------------------------------------------------------------------------ desired state
@dataclass(frozen=True, slots=True)
class Annotations:
    """The writable annotations fleetsync manages. ``None``: fleetsync has no opinion."""

    user: str
    asset_id: str | None
    location: str
    #: fleetsync's note, or "" for none (a person's note is then left alone).
    notes: str

    def differences(
        self, *, user: str, asset_id: str, location: str, notes: str
    ) -> tuple[tuple[str, str], ...]:
        """The Google fields to write (name, value) so the device carries these annotations."""
        changes: list[tuple[str, str]] = []
        if user != self.user:
            changes.append(("annotatedUser", self.user))
        if self.asset_id is not None and asset_id != self.asset_id:
            changes.append(("annotatedAssetId", self.asset_id))
        if location != self.location:
            changes.append(("annotatedLocation", self.location))
        ours = notes.startswith(NOTE_PREFIX)
        if self.notes and notes != self.notes:
            changes.append(("notes", self.notes))
        elif not self.notes and ours:
            changes.append(("notes", ""))
        return tuple(changes)


@dataclass(frozen=True, slots=True)
class DesiredDevice:
    serial: str
    google_device_id: str | None
    state: DeviceState
    org_unit: str
    status: DeviceStatus
    #: ``None`` for a retired device: it is deprovisioned, its record no longer matters.
    annotations: Annotations | None
    powerwash_request: int | None = None
    #: Disabled because its loan is overdue (not because it is lost).
    locked: bool = False


def loan_note(loan: LedgerLoan) -> str:
    return (
        f"{NOTE_PREFIX} loan {loan.ref} to borrower {loan.borrower} until "
        f"{loan.agreed_end.isoformat()}"
    )


def desired_device(device: LedgerDevice, layout: Layout) -> DesiredDevice:
    state = device.state
    status = {
        DeviceState.LOST: DeviceStatus.DISABLED,
        DeviceState.RETIRED: DeviceStatus.DEPROVISIONED,
    }.get(state, DeviceStatus.ACTIVE)
    annotations: Annotations | None = None
    if state is not DeviceState.RETIRED:
        loan = device.loan if state is DeviceState.ON_LOAN else None
        annotations = Annotations(
            user=(loan.account_email or "") if loan else "",
            asset_id=device.asset_tag,
            location=device.region,
            notes=loan_note(loan) if loan else "",
        )
    org_unit = layout.device_org_unit(state)
    locked = device.locked and state is DeviceState.ON_LOAN and layout.locked_org_unit is not None
    if locked:
        assert layout.locked_org_unit is not None
        org_unit, status = layout.locked_org_unit, DeviceStatus.DISABLED
    return DesiredDevice(
        serial=device.serial,
        google_device_id=device.google_device_id,
        state=state,
        org_unit=org_unit,
        status=status,
        locked=locked,
        annotations=annotations,
        powerwash_request=device.powerwash_request
        if state is DeviceState.IN_REFURBISHMENT
        else None,
    )


@dataclass(frozen=True, slots=True)
class DesiredAccount:
    borrower: str
    email: str
    org_unit: str
    wanted: AccountWanted
    given_name: str
    family_name: str
    #: Google's id for it, once fleetsync created or found it.
    google_user_id: str | None = None
    #: The ledger already records it deleted (nothing left to settle when Google has none).
    recorded_deleted: bool = False
    #: An existing account adopted by its address (``loan import``): never created, and acted
    #: on although it carries no borrower id.
    adopt: bool = False
    #: A new first password (its id in the ledger) to set as the account's password.
    new_password: int | None = None


def desired_account(
    borrower: LedgerBorrower, layout: Layout, *, now: datetime, delete_after: timedelta
) -> DesiredAccount | None:
    """The account a borrower should have in Google; ``None`` when the ledger never asked for
    one (so fleetsync has nothing to say about any account of theirs)."""
    if borrower.account_email is None or borrower.account_status is AccountStatus.NONE:
        return None
    wanted = {
        AccountStatus.ACTIVE: AccountWanted.ACTIVE,
        AccountStatus.SUSPENDED: AccountWanted.SUSPENDED,
        AccountStatus.DELETED: AccountWanted.ABSENT,
    }[borrower.account_status]
    since = borrower.account_status_since
    if wanted is AccountWanted.SUSPENDED and since is not None and now - since >= delete_after:
        wanted = AccountWanted.ABSENT
    return DesiredAccount(
        borrower=borrower.desk_id,
        email=borrower.account_email.lower(),
        org_unit=layout.students_org_unit(borrower.region),
        wanted=wanted,
        given_name=borrower.given_name,
        family_name=borrower.family_name,
        google_user_id=borrower.google_user_id,
        recorded_deleted=borrower.account_status is AccountStatus.DELETED,
        adopt=borrower.adopt_account,
        new_password=borrower.new_password if wanted is AccountWanted.ACTIVE else None,
    )
