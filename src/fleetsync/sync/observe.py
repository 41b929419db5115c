"""Observe: read Google into an immutable :class:`~fleetsync.domain.observed.Observation`.

A full observation pages through every device of the customer (300 a page, a ``fields`` mask:
ledger devices are found wherever they are) and every account under the students' org unit (500
a page), lists the org units and resolves the standard policies where the config sets them: about
⌈devices/300⌉ + ⌈accounts/500⌉ calls plus a few. A targeted one reads just the devices (by id, or
by exact serial) and accounts it is asked about.

Read concurrently (``[sync] concurrency`` above 1), the listings are partitioned: the devices by
org unit (each unit's own devices, and the root's by its id: every device is in exactly one), the
accounts by the org units right below the students' root, and the partitions are read side by
side. A device (or account) that moves between two partitions while they are read can be listed
twice, or by neither. Twice: the copies are merged by Google's id and the device is read again by
id once the listings are done, so Google's answer after the move is the one kept. Neither: every
device the ledger has linked, and every account the ledger says exists, that no partition listed
is read by id (HTTP batches) before the observation is handed on; one Google no longer has stays
missing, as before. A stranger (a device the ledger does not know) moved by a person while the
partitions are read is seen by the next run. In steady state none of this costs a call.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal, cast

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

__all__ = [
    "Expected",
    "ProgressCallback",
    "devices_in",
    "observe_full",
    "observe_targeted",
    "policy_filters",
]

#: ``progress(what, done, total)``: ``total`` is ``None`` while unknown.
ProgressCallback = Callable[[str, int, int | None], None]


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


def _read_devices(google: Google, progress: ProgressCallback) -> dict[str, ObservedDevice]:
    devices: dict[str, ObservedDevice] = {}
    for device in google.directory.iter_devices():
        devices[device.device_id] = device
        if len(devices) % 300 == 0:
            progress("reading devices", len(devices), None)
    progress("reading devices", len(devices), len(devices))
    return devices


def _read_accounts(
    google: Google, root: str, progress: ProgressCallback
) -> dict[str, ObservedAccount]:
    accounts: dict[str, ObservedAccount] = {}
    for account in google.directory.iter_accounts(root):
        accounts[account.email] = account
        if len(accounts) % 500 == 0:
            progress("reading accounts", len(accounts), None)
    progress("reading accounts", len(accounts), len(accounts))
    return accounts


Stream = Callable[[], Iterator[tuple[str, object]]]
#: An org unit where the ledger expects more devices than this is read in parts, by serial.
SPLIT_ABOVE = 3000
#: Runs of consecutive characters: the serial ranges their prefixes cover have no gaps.
_RUNS = ("0123456789", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
#: Google's ``id:`` query wants at least three characters.
_MIN_PREFIX = 3


@dataclass(frozen=True)
class Expected:
    """What the ledger knows is in Google: read by id when no partition listed it."""

    #: Google's ids of the devices the ledger has linked.
    device_ids: Collection[str] = ()
    #: The accounts the ledger says exist: (address, Google's user id or None).
    accounts: Collection[tuple[str, str | None]] = ()
    #: The serial numbers (upper case) of the devices the ledger expects in each org unit: an
    #: org unit expected to hold many is read in parts, by serial.
    serials: Mapping[str, Sequence[str]] = field(default_factory=dict)
    #: Split an org unit (and each part again) while more devices than this are expected in it.
    split_above: int = SPLIT_ABOVE


@dataclass
class _Partitioned:
    """Items read from several partitions: the first copy of each id, and the ids seen twice."""

    items: dict[str, object] = field(default_factory=dict)
    twice: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, key: str, item: object) -> int:
        with self.lock:
            if key in self.items:
                self.twice.add(key)
            else:
                self.items[key] = item
            return len(self.items)


def _read_partitioned(
    google: Google,
    partitions: Sequence[Callable[[], Iterator[tuple[str, object]]]],
    what: str,
    every: int,
    progress: ProgressCallback,
) -> _Partitioned:
    read = _Partitioned()

    def drain(partition: Callable[[], Iterator[tuple[str, object]]]) -> None:
        count = len(read.items)
        for key, item in partition():
            count = read.add(key, item)
            if count % every == 0:
                progress(what, count, None)
        progress(what, count, None)  # this partition is read

    for outcome in google.session.fan_out(drain, partitions):
        if isinstance(outcome, Exception):
            raise outcome
    return read


def _device_partitions(
    google: Google,
    units: Iterable[ObservedOrgUnit],
    root: str,
    serials: Mapping[str, Sequence[str]],
    split_above: int,
) -> list[Stream]:
    parts = [_listing(google, root, "")]
    for unit in units:
        expected = sorted(serials.get(unit.path, ()))
        parts += _serial_partitions(google, unit.path, "", expected, split_above)
    return parts


def _listing(google: Google, unit: str, prefix: str) -> Stream:
    """The org unit's own devices whose serial starts with ``prefix`` (all of them for "")."""

    def stream() -> Iterator[tuple[str, object]]:
        query = f"id:{prefix}" if prefix else None
        for device in google.directory.iter_devices(org_unit_path=unit, query=query):
            # Google's id: also matches inside a serial: only those it starts with belong here.
            if device.serial.upper().startswith(prefix):
                yield device.device_id, device

    return stream


def _outside(google: Google, unit: str, prefix: str, low: str, high: str) -> list[Stream]:
    """The devices of ``_listing(unit, prefix)`` whose serial is below ``low`` or from ``high``
    on: read in serial order from each end, each stopping where the range begins."""

    def end(order: Literal["ASCENDING", "DESCENDING"]) -> Stream:
        def stream() -> Iterator[tuple[str, object]]:
            query = f"id:{prefix}" if prefix else None
            for device in google.directory.iter_devices(
                org_unit_path=unit, query=query, by_serial=order
            ):
                serial = device.serial.upper()
                if not serial.startswith(prefix):
                    continue
                if (serial >= low) if order == "ASCENDING" else (serial < high):
                    return
                yield device.device_id, device

        return stream

    return [end("ASCENDING"), end("DESCENDING")]


def _starting_with(serials: Sequence[str], prefix: str) -> Sequence[str]:
    """The serials (sorted) that start with ``prefix``: a slice, found by bisection."""
    if not prefix:
        return serials
    following = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return serials[bisect_left(serials, prefix) : bisect_left(serials, following)]


def _stem(prefix: str, serials: Sequence[str]) -> str | None:
    """The longest prefix (of at least three characters, starting with ``prefix``) that most of
    ``serials`` (sorted) share, or None when none is worth splitting on."""
    stem = prefix
    if len(stem) < _MIN_PREFIX:
        heads = Counter(s[:_MIN_PREFIX] for s in serials if len(s) > _MIN_PREFIX)
        if not heads:
            return None
        stem, count = heads.most_common(1)[0]
        if count * 2 < len(serials):
            return None
    group = [s for s in _starting_with(serials, stem) if len(s) > len(stem)]
    if not group:
        return None
    # Sorted: what the first and the last share, every serial between them shares.
    first, last = group[0], group[-1]
    shared = 0
    while shared < min(len(first), len(last)) and first[shared] == last[shared]:
        shared += 1
    return first[:shared]


def _serial_partitions(
    google: Google, unit: str, prefix: str, serials: Sequence[str], split_above: int
) -> list[Stream]:
    """Partitions that together list exactly the org unit's devices whose serial starts with
    ``prefix``, split by serial while the ledger expects more than ``split_above`` devices in one
    (``serials``: those it expects, sorted, upper case, each starting with ``prefix``).

    A split takes the prefix most serials share (the stem) and a run of consecutive characters
    after it: one ``id:`` listing per stem + character (each split again if still big), which
    together cover one range of serials without a gap, and two listings in serial order, from
    the lowest and from the highest, each stopping where that range begins: every serial is in
    one of them, whatever the ledger expected."""
    if len(serials) <= split_above:
        return [_listing(google, unit, prefix)]
    stem = _stem(prefix, serials)
    if stem is None:
        return [_listing(google, unit, prefix)]
    group = _starting_with(serials, stem)
    after = Counter(s[len(stem)] for s in group if len(s) > len(stem))
    run = max(_RUNS, key=lambda chars: sum(after[c] for c in chars))
    present = [c for c in run if after[c]]
    if not present:
        return [_listing(google, unit, prefix)]
    block = run[run.index(present[0]) : run.index(present[-1]) + 1]
    low, high = stem + block[0], stem + chr(ord(block[-1]) + 1)
    parts = _outside(google, unit, prefix, low, high)
    for char in block:
        child = stem + char
        parts += _serial_partitions(google, unit, child, _starting_with(group, child), split_above)
    return parts


def devices_in(
    google: Google, serials: Mapping[str, Sequence[str]], *, split_above: int = SPLIT_ABOVE
) -> dict[str, set[str]]:
    """Google's ids of the devices in each org unit now (each unit's own devices), every
    unit's parts read side by side: ``serials`` are those expected in each unit, to split a big
    one by serial as the observation does."""
    tagged = [
        (unit, part)
        for unit, expected in serials.items()
        for part in _serial_partitions(google, unit, "", sorted(expected), split_above)
    ]

    def drain(item: tuple[str, Stream]) -> list[str]:
        return [key for key, _ in item[1]()]

    found: dict[str, set[str]] = {unit: set() for unit in serials}
    for (unit, _), outcome in zip(tagged, google.session.fan_out(drain, tagged), strict=True):
        if isinstance(outcome, Exception):
            raise outcome
        found[unit].update(outcome)
    return found


def _read_devices_partitioned(
    google: Google,
    units: list[ObservedOrgUnit],
    root: str,
    expected: Expected,
    progress: ProgressCallback,
) -> dict[str, ObservedDevice]:
    partitions = _device_partitions(google, units, root, expected.serials, expected.split_above)
    read = _read_partitioned(google, partitions, "reading devices", 300, progress)
    devices = cast(dict[str, ObservedDevice], read.items)
    again = read.twice | {i for i in expected.device_ids if i not in devices}
    if again:
        for device_id, seen in google.directory.get_devices(sorted(again)).items():
            if seen is None:
                devices.pop(device_id, None)
            else:
                devices[device_id] = seen
    progress("reading devices", len(devices), len(devices))
    return devices


def _read_accounts_partitioned(
    google: Google,
    regions: list[str],
    expected: Expected,
    progress: ProgressCallback,
) -> dict[str, ObservedAccount]:
    def of(unit: str) -> Callable[[], Iterator[tuple[str, object]]]:
        return lambda: ((a.email, a) for a in google.directory.iter_accounts(unit))

    read = _read_partitioned(
        google, [of(unit) for unit in regions], "reading accounts", 500, progress
    )
    accounts = cast(dict[str, ObservedAccount], read.items)
    user_ids = {a.user_id for a in accounts.values()}
    again = sorted(read.twice) + [
        user_id or email
        for email, user_id in expected.accounts
        if email not in accounts and (user_id is None or user_id not in user_ids)
    ]
    # One call each, side by side.
    found = google.session.fan_out(google.directory.get_account, again)
    for key, seen in zip(again, found, strict=True):
        if isinstance(seen, Exception):
            raise seen
        if seen is not None:
            accounts.pop(key, None)
            accounts[seen.email] = seen
    progress("reading accounts", len(accounts), len(accounts))
    return accounts


def _regions(units: Iterable[ObservedOrgUnit], students_root: str) -> list[str]:
    """The org units right below the students' root: each with its subtree is a partition."""
    return sorted(unit.path for unit in units if unit.parent_path == students_root)


def observe_full(
    google: Google,
    layout: Layout,
    policies: Sequence[DesiredPolicies],
    *,
    progress: ProgressCallback = _quiet,
    expected: Expected | None = None,
    partitioned: bool | None = None,
) -> Observation:
    """``partitioned``: read the listings by partition (by default when the session's
    concurrency is above 1); with a concurrency of 1 the partitions are read one after another,
    in the order of the org unit list, the root's first."""
    lock = threading.Lock()

    def report(what: str, done: int, total: int | None) -> None:
        with lock:
            progress(what, done, total)

    if partitioned if partitioned is not None else google.session.concurrency > 1:
        units, root = google.directory.org_unit_tree()
        org_units = {unit.path: unit for unit in units}
        regions = _regions(units, layout.students_root)
        if root is not None:
            devices, accounts = _read_concurrently(
                google, units, root, layout.students_root, regions, expected or Expected(), report
            )
        else:  # no org unit at all: nothing to partition by
            devices, accounts = _read_side_by_side(google, layout, report)
    else:
        devices, accounts = _read_side_by_side(google, layout, report)
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


def _read_side_by_side(
    google: Google, layout: Layout, report: ProgressCallback
) -> tuple[dict[str, ObservedDevice], dict[str, ObservedAccount]]:
    # Devices and accounts are two independent chains of pages: read side by side, each
    # waits for Google while the other's pages are validated (the session keeps a connection
    # per thread, and its throttle and call count are shared).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="observe") as pool:
        reading = pool.submit(_read_accounts, google, layout.students_root, report)
        devices = _read_devices(google, report)
        accounts = reading.result()
    return devices, accounts


def _read_concurrently(
    google: Google,
    units: list[ObservedOrgUnit],
    root: str,
    students_root: str,
    regions: list[str],
    expected: Expected,
    report: ProgressCallback,
) -> tuple[dict[str, ObservedDevice], dict[str, ObservedAccount]]:
    """Devices by org unit, accounts by region, every partition side by side (the session's
    pool holds as many as ``[sync] concurrency``)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="observe") as pool:
        if regions:
            reading = pool.submit(_read_accounts_partitioned, google, regions, expected, report)
        else:
            reading = pool.submit(_read_accounts, google, students_root, report)
        devices = _read_devices_partitioned(google, units, root, expected, report)
        accounts = reading.result()
    return devices, accounts


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
