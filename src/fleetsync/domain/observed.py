"""What fleetsync observed in Google: immutable snapshots, read by the planner.

The Google adapters (``fleetsync.google``) build these from Google's answers after validating
them; nothing here knows the wire format. Slotted, frozen dataclasses: a 100,000-device tenant
must fit comfortably in memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "Observation",
    "ObservedAccount",
    "ObservedCommand",
    "ObservedDevice",
    "ObservedOrgUnit",
    "ObservedPolicy",
]


@dataclass(frozen=True, slots=True)
class ObservedDevice:
    device_id: str
    serial: str
    #: ACTIVE, DISABLED, DEPROVISIONED, ... as Google reports it.
    status: str
    org_unit_path: str
    model: str = ""
    annotated_user: str = ""
    annotated_asset_id: str = ""
    annotated_location: str = ""
    notes: str = ""
    last_sync: datetime | None = None
    last_enrollment: datetime | None = None


@dataclass(frozen=True, slots=True)
class ObservedAccount:
    user_id: str
    email: str
    org_unit_path: str
    suspended: bool
    #: The borrower this account was created for (an external id fleetsync writes), if any.
    borrower_id: str | None = None
    given_name: str = ""
    family_name: str = ""
    created: datetime | None = None


@dataclass(frozen=True, slots=True)
class ObservedOrgUnit:
    path: str
    #: Google's id without the ``id:`` prefix (what the Chrome Policy API wants).
    org_unit_id: str
    parent_path: str | None


@dataclass(frozen=True, slots=True)
class ObservedCommand:
    device_id: str
    command_id: str
    type: str
    #: PENDING, SENT_TO_CLIENT, ACKED_BY_CLIENT, EXECUTED_BY_CLIENT, EXPIRED, CANCELLED.
    state: str
    #: SUCCESS, FAILURE, IGNORED once executed; None before.
    result: str | None = None
    issued: datetime | None = None
    executed: datetime | None = None
    expires: datetime | None = None
    error_message: str = ""


@dataclass(frozen=True, slots=True)
class ObservedPolicy:
    """A resolved policy value at an org unit, and where it comes from."""

    #: The org unit asked about (its path), and the one that set the value (may be an ancestor).
    org_unit_path: str
    schema: str
    value: Mapping[str, Any]
    additional_keys: tuple[tuple[str, str], ...] = ()
    source_org_unit_path: str | None = None


PolicySlot = tuple[str, str, tuple[tuple[str, str], ...]]
"""(org unit path, schema, additional target keys)."""


@dataclass(frozen=True)
class Observation:
    """Everything one observe read, for the planner.

    A *complete* observation listed every device of the customer and every account under the
    students' org unit: what it does not contain does not exist, and devices the ledger does not
    know can be reported. A targeted one read only the devices and accounts it was asked about.
    """

    devices: Mapping[str, ObservedDevice]
    """By Google's device id."""
    accounts: Mapping[str, ObservedAccount]
    """By address, lower case."""
    org_units: Mapping[str, ObservedOrgUnit]
    """By path."""
    policies: Mapping[PolicySlot, ObservedPolicy] = field(default_factory=dict)
    #: The org units whose policies were resolved (the others' are unknown, not absent).
    policy_org_units: frozenset[str] = frozenset()
    complete: bool = True
