"""Observe: read Google into an immutable :class:`~fleetsync.domain.observed.Observation`.

A full observation pages through every device of the customer (300 a page, a ``fields`` mask:
ledger devices are found wherever they are) and every account under the students' org unit (500
a page), lists the org units and resolves the standard policies where the config sets them: about
⌈devices/300⌉ + ⌈accounts/500⌉ calls plus a few. A targeted one reads just the devices (by id, or
by exact serial) and accounts it is asked about.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

from fleetsync.domain.desired import DesiredAccount, DesiredDevice, Layout
from fleetsync.domain.observed import (
    Observation,
    ObservedAccount,
    ObservedDevice,
    ObservedOrgUnit,
    ObservedPolicy,
    PolicySlot,
)
from fleetsync.domain.plan import DesiredPolicies
from fleetsync.google import Google

__all__ = ["Progress", "observe_full", "observe_targeted", "policy_filters"]

#: ``progress(what, done, total)``: ``total`` is ``None`` while unknown.
Progress = Callable[[str, int, int | None], None]


def _quiet(_what: str, _done: int, _total: int | None) -> None:
    pass


def policy_filters(policies: DesiredPolicies) -> list[str]:
    """The resolve filters that cover an org unit's standard policies: a namespace wildcard
    for per-app policies, the schema itself otherwise."""
    filters = {
        f"{value.namespace}.*" if value.additional_keys else value.schema
        for value in policies.values
    }
    return sorted(filters)


def _org_units(google: Google) -> dict[str, ObservedOrgUnit]:
    return {unit.path: unit for unit in google.directory.list_org_units()}


def _policies(
    google: Google, policies: Sequence[DesiredPolicies], org_units: dict[str, ObservedOrgUnit]
) -> tuple[dict[PolicySlot, ObservedPolicy], frozenset[str]]:
    found: dict[PolicySlot, ObservedPolicy] = {}
    looked: set[str] = set()
    paths_by_id = {unit.org_unit_id: path for path, unit in org_units.items()}
    for wanted in policies:
        unit = org_units.get(wanted.org_unit)
        if unit is None:
            continue  # created by this run: nothing is set there yet
        for schema_filter in policy_filters(wanted):
            for policy in google.policy.resolve(
                unit.org_unit_id, unit.path, schema_filter, paths_by_id=paths_by_id
            ):
                found[(unit.path, policy.schema, policy.additional_keys)] = policy
        looked.add(unit.path)
    return found, frozenset(looked)


def _read_devices(google: Google, progress: Progress) -> dict[str, ObservedDevice]:
    devices: dict[str, ObservedDevice] = {}
    for device in google.directory.iter_devices():
        devices[device.device_id] = device
        if len(devices) % 300 == 0:
            progress("reading devices", len(devices), None)
    progress("reading devices", len(devices), len(devices))
    return devices


def _read_accounts(google: Google, root: str, progress: Progress) -> dict[str, ObservedAccount]:
    accounts: dict[str, ObservedAccount] = {}
    for account in google.directory.iter_accounts(root):
        accounts[account.email] = account
        if len(accounts) % 500 == 0:
            progress("reading accounts", len(accounts), None)
    progress("reading accounts", len(accounts), len(accounts))
    return accounts


def observe_full(
    google: Google,
    layout: Layout,
    policies: Sequence[DesiredPolicies],
    *,
    progress: Progress = _quiet,
) -> Observation:
    # Devices and accounts are two independent chains of pages: read side by side, each
    # waits for Google while the other's pages are validated (the session keeps a connection
    # per thread, and its throttle and call count are shared).
    lock = threading.Lock()

    def report(what: str, done: int, total: int | None) -> None:
        with lock:
            progress(what, done, total)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="observe") as pool:
        reading = pool.submit(_read_accounts, google, layout.students_root, report)
        devices = _read_devices(google, report)
        accounts = reading.result()
    org_units = _org_units(google)
    found, looked = _policies(google, policies, org_units)
    progress("reading policies", len(looked), len(looked))
    return Observation(
        devices=devices,
        accounts=accounts,
        org_units=org_units,
        policies=found,
        policy_org_units=looked,
        complete=True,
    )


def observe_targeted(
    google: Google,
    devices: Iterable[DesiredDevice],
    accounts: Iterable[DesiredAccount],
) -> Observation:
    seen_devices: dict[str, ObservedDevice] = {}
    wanted = list(devices)
    by_id = [d.google_device_id for d in wanted if d.google_device_id]
    for seen in google.directory.get_devices(by_id).values():
        if seen is not None:
            seen_devices[seen.device_id] = seen
    for unlinked in wanted:
        if unlinked.google_device_id is None:
            found = google.directory.find_device_by_serial(unlinked.serial)
            if found is not None:
                seen_devices[found.device_id] = found
    seen_accounts: dict[str, ObservedAccount] = {}
    for account in accounts:
        found_account = google.directory.get_account(account.google_user_id or account.email)
        if found_account is not None:
            seen_accounts[found_account.email] = found_account
    return Observation(
        devices=seen_devices,
        accounts=seen_accounts,
        org_units=_org_units(google),
        complete=False,
    )
