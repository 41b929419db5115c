"""The planner: what must change in Google so that it matches the ledger. A pure function.

    plan(desired, observed, config) -> Plan

The plan is a sorted tuple of typed actions (``actions.py``), each with the reason it exists,
findings a person should look at (devices the ledger does not know, a device Google deprovisioned
behind the ledger's back, an address taken by someone else), and the safety verdict
(``safety.py``). The same inputs always give the same plan.

What the planner refuses to do, whatever the inputs:
- act on a device it matched only loosely: a ledger device is Google's device with exactly its
  serial, or the device whose id the ledger recorded (and whose serial still agrees);
- suspend or delete an account that does not carry the borrower's id (fleetsync writes it on
  every account it creates): an address alone never names the person to act on;
- powerwash a device that is not in refurbishment with a request for it in the ledger.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fleetsync.domain.actions import (
    AccountGone,
    Action,
    AdoptDevice,
    AnnotateDevice,
    CreateAccount,
    DeleteAccount,
    DeprovisionDevices,
    DisableDevices,
    EnsureOrgUnit,
    IssuePowerwash,
    LinkDevice,
    MoveAccount,
    MoveDevices,
    PolicyValue,
    ReenableDevices,
    SetAccountPassword,
    SetPolicy,
    SuspendAccount,
    TargetDevice,
    UnsuspendAccount,
)
from fleetsync.domain.desired import (
    AccountWanted,
    DesiredAccount,
    DesiredDevice,
    DeviceStatus,
    Layout,
)
from fleetsync.domain.inventory import (
    DeviceIdentities,
    observed_problems,
    quoted,
    record_problems,
)
from fleetsync.domain.lifecycle import Connectivity, DeviceState
from fleetsync.domain.observed import (
    Observation,
    ObservedAccount,
    ObservedDevice,
    ObservedPolicy,
)
from fleetsync.domain.safety import Budget, Limit, Safety, Spent, check_budgets

__all__ = [
    "MAX_DEVICES_PER_CALL",
    "Desired",
    "DesiredPolicies",
    "Finding",
    "Plan",
    "PlanConfig",
    "plan",
    "policy_difference",
]

#: Google's limit for moveDevicesToOu and batchChangeStatus.
MAX_DEVICES_PER_CALL = 50


@dataclass(frozen=True, slots=True)
class DesiredPolicies:
    """The standard policies of one org unit (its children inherit them)."""

    org_unit: str
    values: tuple[PolicyValue, ...]


@dataclass(frozen=True)
class Desired:
    devices: tuple[DesiredDevice, ...]
    accounts: tuple[DesiredAccount, ...]
    policies: tuple[DesiredPolicies, ...] = ()
    #: Org units that must exist whatever is in them (every state's, every region's students'),
    #: each with why (the reason the plan gives when it creates one).
    org_units: Mapping[str, str] = field(default_factory=dict)
    #: Every serial and asset tag the ledger knows (asset tag → its device's serial), also of
    #: devices outside this plan's scope: a targeted plan must not mistake them for strangers.
    known_serials: frozenset[str] = frozenset()
    known_asset_tags: Mapping[str, str] = field(default_factory=dict)
    #: How many devices and accounts fleetsync manages in all.
    managed_devices: int = 0
    managed_accounts: int = 0


@dataclass(frozen=True)
class PlanConfig:
    layout: Layout
    limits: Mapping[Budget, Limit]
    regions: tuple[str, ...]
    adopt: bool = False
    #: What each budget already spent in its windows (the ledger counts it; nothing: all left).
    spent: Mapping[Budget, Spent] = field(default_factory=dict)
    #: Budgets a person forced for this run: their actions all go ahead.
    forced: frozenset[Budget] = frozenset()


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    """Something a person should know or do; fleetsync does not act on it by itself."""

    kind: str
    target: str
    message: str


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]
    findings: tuple[Finding, ...]
    safety: Safety

    @property
    def held(self) -> tuple[Action, ...]:
        """The actions the safety budgets held back (not in ``actions``)."""
        return self.safety.held_actions

    @property
    def empty(self) -> bool:
        return not self.actions

    def summary(self) -> dict[str, int]:
        """Devices or accounts touched per kind of action (what a person counts)."""
        counts: dict[str, int] = defaultdict(int)
        for action in self.actions:
            counts[action.kind] += action.weight
        return dict(sorted(counts.items()))

    def to_json(self) -> dict[str, Any]:
        return {
            "actions": [{**a.detail(), "reason": a.reason} for a in self.actions],
            "summary": self.summary(),
            "findings": [
                {"kind": f.kind, "target": f.target, "message": f.message} for f in self.findings
            ],
            "held": [{**a.detail(), "reason": a.reason} for a in self.held],
            "safety": self.safety.to_json(),
        }


# ------------------------------------------------------------------------------ planner
def plan(desired: Desired, observed: Observation, config: PlanConfig) -> Plan:
    """Everything that must change in Google for it to match ``desired``."""
    work = _Planner(desired, observed, config)
    work.org_units()
    work.names()
    work.devices()
    if observed.complete:
        work.strangers()
    work.device_groups()
    work.accounts()
    work.policies()
    actions, safety = check_budgets(
        sorted(work.actions, key=lambda a: a.sort_key()),
        config.limits,
        spent=config.spent,
        forced=config.forced,
    )
    return Plan(actions=actions, findings=tuple(sorted(work.findings)), safety=safety)


class _Planner:
    def __init__(self, desired: Desired, observed: Observation, config: PlanConfig) -> None:
        self.desired = desired
        self.observed = observed
        self.config = config
        self.layout = config.layout
        self.actions: list[Action] = []
        self.findings: list[Finding] = []
        self.adopted = 0
        self._moves: dict[str, list[TargetDevice]] = defaultdict(list)
        self._status: dict[tuple[type[_StatusGroup], str], list[TargetDevice]] = defaultdict(list)
        self._by_serial = _index_by_serial(observed.devices.values())
        self._claimed: set[str] = set()

    def find(self, kind: str, target: str, message: str) -> None:
        self.findings.append(Finding(kind, target, message))

    # ---------------------------------------------------------------- org units
    def org_units(self) -> None:
        # Why each is wanted: what the config says it is for, else what the ledger puts there.
        wanted = dict(self.desired.org_units)
        for device in self.desired.devices:
            wanted.setdefault(device.org_unit, "devices fleetsync manages are kept there")
        for account in self.desired.accounts:
            wanted.setdefault(account.org_unit, "borrowers' accounts live there")
        for policies in self.desired.policies:
            wanted.setdefault(policies.org_unit, "the config sets its standard policies there")
        missing = {
            path: why
            for path, why in wanted.items()
            if path not in ("", "/") and path not in self.observed.org_units
        }
        for path in sorted(wanted):
            child, parent = path, path.rsplit("/", 1)[0]
            while parent not in ("", "/") and parent not in self.observed.org_units:
                missing.setdefault(parent, f"{child} goes in it")
                child, parent = parent, parent.rsplit("/", 1)[0]
        for path, why in missing.items():
            self.actions.append(EnsureOrgUnit(path=path, reason=why))

    # ------------------------------------------------------------------ devices
    def names(self) -> None:
        """Ledger devices a person (or the command tracker) cannot name: one's asset tag is
        another's serial. From a ledger older than the rule that now refuses it."""
        serials = self.desired.known_serials
        tags = self.desired.known_asset_tags
        for tag in sorted(serials.intersection(tags)):
            owner = tags[tag]
            if tag != owner:
                self.find(
                    "ambiguous_device",
                    tag,
                    f"device {owner}'s asset tag {tag} is the serial of device {tag}, so "
                    f"{tag} names two devices and device {tag} cannot be made ready or lent; "
                    f"give device {owner} another asset tag (`fleetsync device import --update`)",
                )

    def devices(self) -> None:
        for device in self.desired.devices:
            seen = self._match(device)
            if seen is not None:
                self._claimed.add(seen.device_id)
                self._check_fits(device.serial, seen)
                self._device(device, seen)

    def _check_fits(self, serial: str, seen: ObservedDevice) -> None:
        # The ledger keeps what Google last confirmed of its devices; a value that does not fit
        # is not kept (services/confirmed.py), and a person hears of it.
        problems = observed_problems(seen)
        if problems:
            self.find(
                "bad_google_data",
                serial,
                f"Google's record of device {serial} does not fit the ledger: "
                f"{'; '.join(problems)}; fix it in the Admin console",
            )

    def _match(self, device: DesiredDevice) -> ObservedDevice | None:
        serial = device.serial.upper()
        if device.google_device_id is not None:
            seen = self.observed.devices.get(device.google_device_id)
            if seen is None:
                if self.observed.complete:
                    self.find(
                        "missing_device",
                        device.serial,
                        f"Google has no device with id {device.google_device_id} (serial "
                        f"{device.serial}) any more; check the Admin console",
                    )
                return None
            if seen.serial.upper() != serial:
                # Neither this ledger device's nor a stranger to adopt: a person decides.
                self._claimed.add(seen.device_id)
                self.find(
                    "serial_mismatch",
                    device.serial,
                    f"Google's device {seen.device_id} reports serial {seen.serial}, not "
                    f"{device.serial}; fleetsync leaves it alone until a person checks",
                )
                return None
            return seen
        candidates = self._by_serial.get(serial, [])
        if len(candidates) > 1:
            self.find(
                "duplicate_serial",
                device.serial,
                f"Google has {len(candidates)} devices with serial {device.serial}; fleetsync "
                "acts on none of them until a person resolves it in the Admin console",
            )
            return None
        if not candidates:
            if self.observed.complete:
                self.find(
                    "not_enrolled",
                    device.serial,
                    f"device {device.serial} is in the ledger but not enrolled in Google",
                )
            return None
        seen = candidates[0]
        self.actions.append(
            LinkDevice(
                device=TargetDevice(device.serial, seen.device_id),
                reason="found in Google by its exact serial",
            )
        )
        return seen

    def _device(self, device: DesiredDevice, seen: ObservedDevice) -> None:
        ref = TargetDevice(device.serial, seen.device_id)
        state = device.state.value
        if seen.status == DeviceStatus.DEPROVISIONED:
            if device.status is not DeviceStatus.DEPROVISIONED:
                self.find(
                    "deprovisioned",
                    device.serial,
                    f"Google has deprovisioned device {device.serial} but the ledger has it "
                    f"{state}; retire it (`fleetsync device retire {device.serial}`) or "
                    "re-enrol it",
                )
            return
        if seen.org_unit_path != device.org_unit:
            self._moves[device.org_unit].append(ref)
        if device.annotations is not None:
            changes = device.annotations.differences(
                user=seen.annotated_user,
                asset_id=seen.annotated_asset_id,
                location=seen.annotated_location,
                notes=seen.notes,
            )
            if changes:
                self.actions.append(
                    AnnotateDevice(
                        device=ref,
                        changes=changes,
                        reason=f"the device is {state}: "
                        + ", ".join(name for name, _ in changes)
                        + " differ",
                    )
                )
        active = seen.status == DeviceStatus.ACTIVE
        if device.status is DeviceStatus.DEPROVISIONED:
            self._status[DeprovisionDevices, _RETIRED].append(ref)
        elif device.status is DeviceStatus.DISABLED and active:
            self._status[DisableDevices, _OVERDUE if device.locked else _LOST].append(ref)
        elif device.status is DeviceStatus.ACTIVE and seen.status == DeviceStatus.DISABLED:
            self._status[ReenableDevices, _ACTIVE_AGAIN].append(ref)
            active = True
        if device.powerwash_request is not None:
            if active:
                self.actions.append(
                    IssuePowerwash(
                        device=ref,
                        request_id=device.powerwash_request,
                        reason="returned to refurbishment: wipe it before it is lent again",
                    )
                )
            else:
                self.find(
                    "powerwash_waits",
                    device.serial,
                    f"device {device.serial} waits for a powerwash but Google reports it "
                    f"{seen.status}; it is sent once the device is active",
                )

    def device_groups(self) -> None:
        """Moves and status changes, grouped per target, 50 devices a call."""
        for org_unit, refs in sorted(self._moves.items()):
            for chunk in _chunks(sorted(refs)):
                self.actions.append(
                    MoveDevices(
                        devices=chunk,
                        org_unit=org_unit,
                        reason=f"the ledger has these devices where {org_unit} holds them",
                    )
                )
        for (kind, reason), refs in sorted(self._status.items(), key=lambda i: i[0][1]):
            for chunk in _chunks(sorted(refs)):
                self.actions.append(kind(devices=chunk, reason=reason))

    # --------------------------------------------------------- unknown devices
    def strangers(self) -> None:
        """Devices in fleetsync's org units that the ledger does not know. Each is adopted, or
        refused with a finding that says why, by the rules of an inventory import: one device's
        bad data never keeps the others out."""
        known = self.desired.known_serials
        strangers = sorted(
            (
                seen
                for seen in self.observed.devices.values()
                if seen.device_id not in self._claimed
                and seen.serial.upper() not in known
                and seen.status != DeviceStatus.DEPROVISIONED
                and self.layout.is_managed_device_org_unit(seen.org_unit_path)
            ),
            key=lambda seen: (seen.serial.upper(), seen.device_id),
        )
        identities = DeviceIdentities(
            {*known, *(seen.serial.upper() for seen in strangers)},
            self.desired.known_asset_tags,
        )
        for seen in strangers:
            if not self.config.adopt:
                self.find(
                    "unknown_device",
                    seen.serial,
                    f"device {seen.serial} is in {seen.org_unit_path} but not in the ledger; "
                    "`fleetsync sync --adopt` takes it in as spare",
                )
                continue
            serial = seen.serial.upper()
            if len(self._by_serial.get(serial, [])) > 1:
                self.find(
                    "duplicate_serial",
                    seen.serial,
                    f"Google has {len(self._by_serial[serial])} devices with serial "
                    f"{seen.serial}; fleetsync adopts none of them until a person resolves it "
                    "in the Admin console",
                )
                continue
            region = _region_of(seen.annotated_location, self.config.regions)
            tag = seen.annotated_asset_id.strip().upper() or None
            problems = [
                *record_problems(serial, tag, seen.model or _UNKNOWN_MODEL),
                *observed_problems(seen),
            ]
            if region is None:
                problems.append(
                    "its location annotation names no region of the programme "
                    f"({quoted(seen.annotated_location)})"
                )
            problems += identities.conflicts(serial, tag)
            if problems or region is None:
                self.find(
                    "cannot_adopt",
                    seen.serial,
                    f"device {seen.serial} cannot be adopted: {'; '.join(problems)}; fix its "
                    "annotations in the Admin console, or import it with `fleetsync device "
                    "import`",
                )
                continue
            if tag is not None:
                identities.claim(serial, tag)
            self._adopt(seen, region, tag)

    def _adopt(self, seen: ObservedDevice, region: str, tag: str | None) -> None:
        self.adopted += 1
        ref = TargetDevice(seen.serial.upper(), seen.device_id)
        connectivity = Connectivity.FOUR_G if _is_mobile(seen.model) else Connectivity.WIFI
        self.actions.append(
            AdoptDevice(
                device=ref,
                model=seen.model or _UNKNOWN_MODEL,
                region=region,
                connectivity=connectivity,
                asset_tag=tag,
                reason=f"in {seen.org_unit_path} and not in the ledger (--adopt)",
            )
        )
        spare = self.layout.device_org_unit(DeviceState.SPARE)
        if seen.org_unit_path != spare:
            self._moves[spare].append(ref)
        if seen.annotated_location != region:
            self.actions.append(
                AnnotateDevice(
                    device=ref,
                    changes=(("annotatedLocation", region),),
                    reason="adopted: its region, as the ledger spells it",
                )
            )

    # ----------------------------------------------------------------- accounts
    def accounts(self) -> None:
        for account in self.desired.accounts:
            seen = self.observed.accounts.get(account.email)
            if seen is None and account.google_user_id is not None:
                seen = next(
                    (
                        a
                        for a in self.observed.accounts.values()
                        if a.user_id == account.google_user_id
                    ),
                    None,
                )
            self._account(account, seen)

    def _account(self, account: DesiredAccount, seen: ObservedAccount | None) -> None:
        who = {"borrower": account.borrower, "email": account.email}
        adopted = account.adopt and seen is not None and seen.borrower_id is None
        if seen is not None and seen.borrower_id != account.borrower and not adopted:
            # The address exists but not as this borrower's account: never act on it.
            if account.wanted is AccountWanted.ACTIVE or seen.borrower_id is not None:
                self.find(
                    "foreign_account",
                    account.email,
                    f"the account {account.email} in Google does not carry borrower id "
                    f"{account.borrower} (it carries {seen.borrower_id or 'none'}); fleetsync "
                    "leaves it alone",
                )
            return
        if account.wanted is AccountWanted.ACTIVE:
            if seen is None and account.adopt:
                if self.observed.complete or account.google_user_id is None:
                    self.find(
                        "adopt_missing",
                        account.email,
                        f"borrower {account.borrower}'s account {account.email}, to be adopted "
                        "(loan import), does not exist in Google; fleetsync creates no account "
                        "for it: create it in the Admin console, or import the loan again with "
                        "the right account_email",
                    )
                return
            if seen is None:
                if self.observed.complete or account.google_user_id is None:
                    self.actions.append(
                        CreateAccount(
                            **who,
                            org_unit=account.org_unit,
                            given_name=account.given_name,
                            family_name=account.family_name,
                            reason="the borrower has a device on loan and no account yet",
                        )
                    )
                return
            if seen.suspended:
                self.actions.append(
                    UnsuspendAccount(**who, reason="the borrower has a device on loan again")
                )
            if account.new_password is not None:
                self.actions.append(
                    SetAccountPassword(
                        **who,
                        credential=account.new_password,
                        reason="the desk issued a new first password (the borrower lost theirs)",
                    )
                )
            if seen.org_unit_path != account.org_unit:
                self.actions.append(
                    MoveAccount(
                        **who,
                        org_unit=account.org_unit,
                        reason=f"the borrower's region is served from {account.org_unit}",
                    )
                )
        elif account.wanted is AccountWanted.SUSPENDED:
            if seen is not None and not seen.suspended:
                self.actions.append(
                    SuspendAccount(**who, reason="the borrower has no device on loan any more")
                )
        elif seen is not None:
            self.actions.append(
                DeleteAccount(
                    **who,
                    user_id=seen.user_id,
                    reason="the retention period after the return has passed",
                )
            )
        elif not account.recorded_deleted:
            self.actions.append(
                AccountGone(
                    **who,
                    user_id=account.google_user_id,
                    reason="the retention period after the return has passed and Google has "
                    "no such account (never created, or deleted already)",
                )
            )

    # ----------------------------------------------------------------- policies
    def policies(self) -> None:
        for wanted in self.desired.policies:
            looked = wanted.org_unit in self.observed.policy_org_units
            if not looked and wanted.org_unit in self.observed.org_units:
                continue  # its policies were not read in this (targeted) run: no opinion
            by_namespace: dict[str, list[PolicyValue]] = defaultdict(list)
            differences: dict[str, list[str]] = defaultdict(list)
            for value in wanted.values:
                seen = self.observed.policies.get(
                    (wanted.org_unit, value.schema, value.additional_keys)
                )
                if seen is None or not value.matches(seen.value):
                    by_namespace[value.namespace].append(value)
                    differences[value.namespace].append(policy_difference(value, seen))
            for namespace, values in sorted(by_namespace.items()):
                self.actions.append(
                    SetPolicy(
                        org_unit=wanted.org_unit,
                        namespace=namespace,
                        values=tuple(sorted(values)),
                        reason="; ".join(sorted(differences[namespace])),
                    )
                )


#: A policy field's value is quoted in a reason when it is this short; longer ones are summed up.
_SHOWN = 60


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return repr(value) if len(value) <= _SHOWN else f"a text of {len(value)} characters"
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    if len(text) <= _SHOWN:
        return text
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return f"a setting of {len(value)} fields"
    return text[:_SHOWN] + "…"


def policy_difference(value: PolicyValue, seen: ObservedPolicy | None) -> str:
    """What differs between the config's value and Google's, field by field, in words: a plan's
    reason for a policy change (``ManagedBookmarksSetting: managedBookmarks: Google has a
    setting of 2 fields (inherited from /), the config {...}``)."""
    name = value.schema.rsplit(".", 1)[-1]
    target = "".join(f" for {key} {item}" for key, item in value.additional_keys)
    if seen is None:
        return f"{name}{target} is not set in Google (the config sets {_shown(value.value)})"
    inherited = (
        f" (inherited from {seen.source_org_unit_path})"
        if seen.source_org_unit_path and seen.source_org_unit_path != seen.org_unit_path
        else ""
    )
    fields = []
    for field_name, wanted_value in sorted(value.value.items()):
        if field_name not in seen.value:
            fields.append(
                f"{field_name} is not set in Google, the config sets {_shown(wanted_value)}"
            )
        elif seen.value[field_name] != wanted_value:
            fields.append(
                f"{field_name} is {_shown(seen.value[field_name])} in Google{inherited}, "
                f"{_shown(wanted_value)} in the config"
            )
    return f"{name}{target}: " + ", ".join(fields or ["differs from the config"])


_UNKNOWN_MODEL = "unknown"
_StatusGroup = DisableDevices | ReenableDevices | DeprovisionDevices
_LOST = "marked lost in the ledger"
_OVERDUE = "their loans are overdue: locked until they are returned"
_ACTIVE_AGAIN = "no longer lost or locked: the ledger needs them active"
_RETIRED = "retired in the ledger: they leave the programme for good"


def _chunks(refs: Sequence[TargetDevice]) -> Iterable[tuple[TargetDevice, ...]]:
    for start in range(0, len(refs), MAX_DEVICES_PER_CALL):
        yield tuple(refs[start : start + MAX_DEVICES_PER_CALL])


def _index_by_serial(devices: Iterable[ObservedDevice]) -> dict[str, list[ObservedDevice]]:
    index: dict[str, list[ObservedDevice]] = defaultdict(list)
    for device in devices:
        if device.serial:
            index[device.serial.upper()].append(device)
    return index


def _region_of(location: str, regions: Sequence[str]) -> str | None:
    wanted = location.strip().casefold()
    return next((region for region in regions if region.casefold() == wanted), None)


def _is_mobile(model: str) -> bool:
    upper = model.upper()
    return "LTE" in upper or "4G" in upper
