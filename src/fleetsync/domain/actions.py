"""The actions a plan is made of: value objects, sorted, printable and serialisable.

Each action says what it does to which target and why (``reason``). Its ``phase`` orders the plan
the way Google's dependencies require: org units exist before anything is put in them; accounts
exist before a device is annotated with one; a device is re-enabled before it can receive a
powerwash; commands come last, once everything else is in place. ``limit`` names the safety budget
an irreversible or disruptive action counts against.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import IntEnum, StrEnum
from typing import Any, ClassVar

from fleetsync.domain.lifecycle import Connectivity

__all__ = [
    "AccountGone",
    "Action",
    "AdoptDevice",
    "AnnotateDevice",
    "Budget",
    "CreateAccount",
    "DeleteAccount",
    "DeprovisionDevices",
    "DisableDevices",
    "EnsureOrgUnit",
    "IssuePowerwash",
    "LinkDevice",
    "MoveAccount",
    "MoveDevices",
    "Phase",
    "PolicyValue",
    "ReenableDevices",
    "SetAccountPassword",
    "SetPolicy",
    "SuspendAccount",
    "TargetDevice",
    "UnsuspendAccount",
    "canonical_json",
]


def canonical_json(value: Mapping[str, Any]) -> str:
    """Sorted keys, no spaces: equal values give equal text."""
    return json.dumps(dict(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class Budget(StrEnum):
    """The destructive kinds of action, each with its own safety budget (``[safety.<name>]`` in
    the config). The one place these names are spelt: the actions, the settings, the planner's
    check and the ledger all use this enum, so a misspelt name is an error, never a limit
    silently switched off."""

    SUSPENSIONS = "suspensions"
    DELETIONS = "deletions"
    POWERWASHES = "powerwashes"
    DISABLES = "disables"
    DEPROVISIONS = "deprovisions"

    @classmethod
    def known(cls) -> str:
        """The names, for an error message: ``suspensions, deletions, ...``."""
        return ", ".join(member.value for member in cls)


class Phase(IntEnum):
    LEDGER = 0
    ORG_UNITS = 1
    ACCOUNTS = 2
    MOVES = 3
    ANNOTATIONS = 4
    STATUS = 5
    POLICIES = 6
    COMMANDS = 7


@dataclass(frozen=True, slots=True, order=True)
class TargetDevice:
    """The device an action targets, as Google knows it (its id) and as people know it (its
    serial). Not the API's ``DeviceRef`` (a device named by serial or asset tag)."""

    serial: str
    device_id: str


@dataclass(frozen=True, slots=True)
class Action:
    kind: ClassVar[str] = ""
    phase: ClassVar[Phase] = Phase.LEDGER
    #: The safety budget this action spends (per device or account it touches).
    limit: ClassVar[Budget | None] = None

    reason: str = field(kw_only=True)

    @property
    def target(self) -> str:
        """What it acts on, as a person names it."""
        raise NotImplementedError

    @property
    def weight(self) -> int:
        """How many devices or accounts it touches (what the safety budgets count)."""
        return 1

    def sort_key(self) -> tuple[int, str, str]:
        return (int(self.phase), self.kind, self.target)

    def detail(self) -> dict[str, Any]:
        """The action as JSON data (for ``--json``, the journal); never holds a secret."""
        data: dict[str, Any] = {"kind": self.kind, "target": self.target}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, tuple) and value and isinstance(value[0], TargetDevice):
                value = [ref.serial for ref in value]
            elif isinstance(value, TargetDevice):
                value = value.serial
            elif isinstance(value, PolicyValue):
                value = value.detail()
            elif isinstance(value, tuple) and value and isinstance(value[0], PolicyValue):
                value = [v.detail() for v in value]
            elif isinstance(value, tuple):
                value = [list(v) if isinstance(v, tuple) else v for v in value]
            data[item.name] = value
        return data

    def describe(self) -> str:
        """One line for a person: ``suspend account amira.haddad@example.org``."""
        return f"{self.kind.replace('_', ' ')} {self.target}"


# ------------------------------------------------------------------------------ ledger
@dataclass(frozen=True, slots=True)
class LinkDevice(Action):
    """Record Google's id of a ledger device found by its exact serial."""

    kind: ClassVar[str] = "link_device"
    device: TargetDevice

    @property
    def target(self) -> str:
        return self.device.serial


@dataclass(frozen=True, slots=True)
class AdoptDevice(Action):
    """Take a device Google has in a managed org unit into the ledger, as spare."""

    kind: ClassVar[str] = "adopt_device"
    device: TargetDevice
    model: str
    region: str
    connectivity: Connectivity
    asset_tag: str | None

    @property
    def target(self) -> str:
        return self.device.serial


# --------------------------------------------------------------------------- org units
@dataclass(frozen=True, slots=True)
class EnsureOrgUnit(Action):
    kind: ClassVar[str] = "create_org_unit"
    phase: ClassVar[Phase] = Phase.ORG_UNITS
    path: str

    @property
    def target(self) -> str:
        return self.path

    def sort_key(self) -> tuple[int, str, str]:
        # Parents before children: sort by depth first.
        return (int(self.phase), self.kind, f"{self.path.count('/'):03d}{self.path}")


# ----------------------------------------------------------------------------- accounts
@dataclass(frozen=True, slots=True)
class _AccountAction(Action):
    phase: ClassVar[Phase] = Phase.ACCOUNTS
    borrower: str
    email: str

    @property
    def target(self) -> str:
        return self.email


@dataclass(frozen=True, slots=True)
class CreateAccount(_AccountAction):
    kind: ClassVar[str] = "create_account"
    org_unit: str
    given_name: str
    family_name: str

    def detail(self) -> dict[str, Any]:
        # Names are personal data: the journal and --json keep the borrower id and address only.
        data = Action.detail(self)
        data.pop("given_name", None)
        data.pop("family_name", None)
        return data


@dataclass(frozen=True, slots=True)
class UnsuspendAccount(_AccountAction):
    kind: ClassVar[str] = "unsuspend_account"


@dataclass(frozen=True, slots=True)
class MoveAccount(_AccountAction):
    kind: ClassVar[str] = "move_account"
    org_unit: str


@dataclass(frozen=True, slots=True)
class SetAccountPassword(_AccountAction):
    """Set the new first password a desk issued (the borrower lost theirs) as the account's
    password. The action names the ledger's sealed password by its id, never the password."""

    kind: ClassVar[str] = "set_account_password"
    #: The ``pending_credentials`` row whose password Google must get.
    credential: int


@dataclass(frozen=True, slots=True)
class SuspendAccount(_AccountAction):
    kind: ClassVar[str] = "suspend_account"
    limit: ClassVar[Budget | None] = Budget.SUSPENSIONS


@dataclass(frozen=True, slots=True)
class DeleteAccount(_AccountAction):
    kind: ClassVar[str] = "delete_account"
    limit: ClassVar[Budget | None] = Budget.DELETIONS
    #: Google's id, when the account was seen: the delete names it, not just the address.
    user_id: str | None


@dataclass(frozen=True, slots=True)
class AccountGone(_AccountAction):
    """The ledger wants the account deleted and Google has none: record it deleted (a deletion
    whose answer was lost, an account never created, one deleted by a person). Google is asked
    once more, by id and address, before the ledger says so."""

    kind: ClassVar[str] = "record_account_gone"
    user_id: str | None


# ------------------------------------------------------------------------------ devices
@dataclass(frozen=True, slots=True)
class _DeviceGroup(Action):
    """Up to 50 devices in one call (Google's limit for moves and status changes)."""

    devices: tuple[TargetDevice, ...]

    @property
    def weight(self) -> int:
        return len(self.devices)


@dataclass(frozen=True, slots=True)
class MoveDevices(_DeviceGroup):
    kind: ClassVar[str] = "move_devices"
    phase: ClassVar[Phase] = Phase.MOVES
    org_unit: str

    @property
    def target(self) -> str:
        return f"{self.org_unit} ({len(self.devices)} devices, from {self.devices[0].serial})"

    def sort_key(self) -> tuple[int, str, str]:
        return (int(self.phase), self.kind, f"{self.org_unit}\0{self.devices[0].serial}")

    def describe(self) -> str:
        return f"move {len(self.devices)} devices to {self.org_unit}"


@dataclass(frozen=True, slots=True)
class AnnotateDevice(Action):
    kind: ClassVar[str] = "annotate_device"
    phase: ClassVar[Phase] = Phase.ANNOTATIONS
    device: TargetDevice
    #: (Google field, new value), e.g. ("annotatedUser", "amira.haddad@example.org").
    changes: tuple[tuple[str, str], ...]

    @property
    def target(self) -> str:
        return self.device.serial


@dataclass(frozen=True, slots=True)
class _StatusChange(_DeviceGroup):
    phase: ClassVar[Phase] = Phase.STATUS

    @property
    def target(self) -> str:
        if len(self.devices) == 1:
            return self.devices[0].serial
        return f"{len(self.devices)} devices, from {self.devices[0].serial}"


@dataclass(frozen=True, slots=True)
class ReenableDevices(_StatusChange):
    kind: ClassVar[str] = "reenable_devices"


@dataclass(frozen=True, slots=True)
class DisableDevices(_StatusChange):
    kind: ClassVar[str] = "disable_devices"
    limit: ClassVar[Budget | None] = Budget.DISABLES


@dataclass(frozen=True, slots=True)
class DeprovisionDevices(_StatusChange):
    kind: ClassVar[str] = "deprovision_devices"
    limit: ClassVar[Budget | None] = Budget.DEPROVISIONS


@dataclass(frozen=True, slots=True)
class IssuePowerwash(Action):
    kind: ClassVar[str] = "issue_powerwash"
    phase: ClassVar[Phase] = Phase.COMMANDS
    limit: ClassVar[Budget | None] = Budget.POWERWASHES
    device: TargetDevice
    #: The ledger's record of the request: it is what makes the powerwash happen once.
    request_id: int

    @property
    def target(self) -> str:
        return self.device.serial


# ----------------------------------------------------------------------------- policies
@dataclass(frozen=True, slots=True, order=True)
class PolicyValue:
    schema: str
    #: The value, as canonical JSON (sorted keys): comparable and hashable.
    value_json: str
    update_mask: str
    additional_keys: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(
        cls,
        schema: str,
        value: Mapping[str, Any],
        additional_keys: tuple[tuple[str, str], ...] = (),
    ) -> PolicyValue:
        """The value to set for ``schema``; its fields are the update mask."""
        return cls(schema, canonical_json(value), ",".join(sorted(value)), additional_keys)

    def matches(self, observed: Mapping[str, Any]) -> bool:
        """Whether an observed value already has these fields (other fields don't matter)."""
        masked = {name: observed.get(name) for name in self.update_mask.split(",")}
        return canonical_json(masked) == self.value_json

    @property
    def namespace(self) -> str:
        return self.schema.rsplit(".", 1)[0]

    @property
    def value(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.value_json)
        return loaded

    def detail(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "value": self.value,
            "update_mask": self.update_mask,
            "additional_keys": dict(self.additional_keys),
        }


@dataclass(frozen=True, slots=True)
class SetPolicy(Action):
    """Set values at one org unit in one namespace: one ``batchModify`` call."""

    kind: ClassVar[str] = "set_policy"
    phase: ClassVar[Phase] = Phase.POLICIES
    org_unit: str
    namespace: str
    values: tuple[PolicyValue, ...]

    @property
    def target(self) -> str:
        return f"{self.org_unit} [{self.namespace}]"
