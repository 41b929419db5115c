"""Reconcile at programme scale against the sandbox: Google calls, wall time and peak memory of
the adopting, the lending and the no-op sync, the calls that moving devices takes, and how long
1,000 returns take to converge under Google's 60-writes-a-minute Chrome device quota.

    .venv/bin/python bench/reconcile.py                                  # 1k, 10k, 100k on SQLite
    .venv/bin/python bench/reconcile.py --sizes 100000 --no-quota-run
    .venv/bin/python bench/reconcile.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

The sandbox runs in a process of its own (``bench/_sandbox.py``), with no injected latency; each
measured sync runs in a fresh process of its own too (``--child-sync``), as ``fleetsync sync``
would: its wall time, CPU time and peak resident memory (its own VmHWM) are fleetsync's alone.

For each size N the sandbox is seeded with N devices in /Chromebooks/Staging, then:
1. the adopting sync (``--adopt``) takes them into the ledger as spare and moves them;
2. every device is lent: N users are seeded under /Students/<Region> carrying fleetsync's
   borrower id, and the ledger gets the matching borrowers (account active, Google's user id
   recorded, as after fleetsync created the accounts) and open loans, in bulk (SQLAlchemy Core);
3. the lending sync moves every device to /Chromebooks/On loan and annotates it;
4. the no-op sync, which must plan nothing;
5. k returns (one target org unit), then k devices spread over three (returned, lost, returned
   and made ready), each followed by a forced sync.
The size runs raise fleetsync's client-side quotas so that they measure fleetsync, not the
throttle; the quota run uses Google's documented quotas on both sides.

At Google's latency (``--latency-ms 100``): the sandbox answers every call that much later, and
the adopting sync of ``--adopt-size`` devices and the no-op sync of ``--noop-size`` devices and as
many accounts run twice each, sequential (``[sync] concurrency = 1``) and concurrent (the
default), side by side: Google calls, wall time, peak memory. The fleet is set up without latency.

    .venv/bin/python bench/reconcile.py --latency-ms 100
    .venv/bin/python bench/reconcile.py --latency-ms 300 --noop-size 10000
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Figures, database, measure
from fleetsync import services
from fleetsync.google import Google
from fleetsync.ledger import Ledger, open_ledger
from fleetsync.ledger.models import Borrower, Device, Loan
from fleetsync.sandbox.control import SandboxControl
from fleetsync.sandbox.handoff import to_toml
from fleetsync.settings import Settings, load_settings

HERE = Path(__file__).resolve().parent
ACTOR = "cli:bench"
DEVICE_PAGE, USER_PAGE, PER_MOVE = 300, 500, 50
#: The example config's standard policies: bookmarks and two apps for every student.
POLICIES = [
    {
        "org_unit": "/Students",
        "bookmarks_folder": "Cursus",
        "bookmarks": [
            {"name": "Inburgering", "url": "https://www.integratie-inburgering.be/"},
            {"name": "Chromebook", "url": "https://support.google.com/chromebook/"},
        ],
        "apps": [
            {"app_id": "web:https://meet.google.com/", "install_type": "FORCED"},
            {"app_id": "chrome:ghbmnnjooekpmoecnnnilnnbdlolhkhi", "install_type": "FORCED"},
        ],
    }
]
#: Size runs: quotas out of the way (the sandbox enforces none), quick retries.
UNTHROTTLED = {
    "quota": {
        "queries_per_minute": 10_000_000,
        "device_writes_per_minute": 10_000_000,
        "policy_writes_per_minute": 10_000_000,
    },
    "retry": {"initial_backoff_seconds": 0.05, "max_backoff_seconds": 1.0},
}
#: Google's documented quotas for an Education tenant, as the sandbox enforces them
#: (``Quotas.google()``), and fleetsync's defaults, which match them.
GOOGLE_QUOTAS = {
    "queries_per_minute": 2400,
    "device_writes_per_minute": 60,
    "policy_writes_per_minute": 30,
    "max_concurrent_requests": 20,
}
FLEETSYNC_QUOTAS = {
    "queries_per_minute": 2400,
    "device_writes_per_minute": 60,
    "policy_writes_per_minute": 30,
    "max_concurrent_requests": 8,
}
#: The paging floor's "small constant": the org unit list and the two policy resolves.
FIXED_CALLS = 5


def floor_calls(devices: int, accounts: int) -> int:
    return math.ceil(devices / DEVICE_PAGE) + math.ceil(accounts / USER_PAGE)


def goal_calls(devices: int, accounts: int) -> float:
    return 1.05 * floor_calls(devices, accounts) + FIXED_CALLS


# ------------------------------------------------------------------------ the sync process
@dataclass
class SyncRun:
    status: str
    calls: int
    #: reconcile() alone, inside the process.
    seconds: float
    #: The whole process: start-up, imports, opening the ledger, the sync.
    process_seconds: float
    #: CPU time of the whole process (user + system): less disturbed by a busy machine.
    cpu_seconds: float
    peak_mib: float
    actions: int
    findings: int
    summary: dict[str, int]


def run_sync(
    config: Path, *, adopt: bool = False, force: bool = False, profile: Path | None = None
) -> SyncRun:
    """One ``reconcile`` in a fresh process: its wall time, CPU time (wait4) and peak RSS."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child-sync", str(config)]
    command += ["--adopt"] * adopt + ["--force"] * force
    if profile is not None:
        command += ["--profile", str(profile)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"the sync process failed ({process.returncode}): {output[-2000:]}")
    data = json.loads(output.strip().splitlines()[-1])
    return SyncRun(
        status=data["status"],
        calls=data["calls"],
        seconds=data["seconds"],
        process_seconds=elapsed,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_mib=data["peak_mib"],
        actions=data["actions"],
        findings=data["findings"],
        summary=data["summary"],
    )


def own_peak_mib() -> float:
    """This process's peak RSS since it was exec'd (VmHWM). Not ``ru_maxrss``: Linux carries
    the parent's high-water mark across fork and exec into it, and the benchmark's own process
    holds a 100,000-device fleet's setup."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def child_sync(config: Path, *, adopt: bool, force: bool, profile: Path | None) -> None:
    from fleetsync.sync import reconcile

    settings = load_settings(config)
    with open_ledger(settings) as ledger, Google.connect(settings) as google:
        started = time.perf_counter()
        if profile is not None:
            import cProfile

            profiler = cProfile.Profile()
            report = profiler.runcall(
                reconcile, ledger, settings, google=google, adopt=adopt, force=force
            )
            profiler.dump_stats(profile)
        else:
            report = reconcile(ledger, settings, google=google, adopt=adopt, force=force)
        seconds = time.perf_counter() - started
    applied = report.applied
    print(
        json.dumps(
            {
                "status": report.status,
                "calls": report.google_calls,
                "seconds": seconds,
                "actions": len(report.plan.actions),
                "findings": len(report.plan.findings),
                "summary": report.plan.summary(),
                "failed": [] if applied is None else applied.to_json()["failed"][:5],
                "peak_mib": own_peak_mib(),
            }
        ),
        flush=True,
    )


# ------------------------------------------------------------------------------ the sandbox
@dataclass
class Sandbox:
    url: str
    config: Path
    control: SandboxControl
    devices: int
    pid: int

    def settings(self) -> Settings:
        return load_settings(self.config)

    def calls(self) -> Counter[str]:
        return Counter(self.control.counters()["calls"])

    def cpu_seconds(self) -> float:
        """CPU time the sandbox process used so far (Linux: /proc)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def refusals(self) -> int:
        """Calls the sandbox answered with an error status (403, 429, 5xx, ...)."""
        statuses = self.control.counters()["statuses"]
        return sum(n for key, n in statuses.items() if int(key.rsplit(" ", 1)[1]) >= 400)


@contextmanager
def sandbox_process(devices: int, directory: Path, overrides: dict[str, Any]) -> Iterator[Sandbox]:
    config = directory / "fleetsync.toml"
    command = [
        sys.executable,
        str(HERE / "_sandbox.py"),
        "--devices",
        str(devices),
        "--config",
        str(config),
        "--overrides",
        json.dumps(overrides),
    ]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdin is not None
    try:
        ready = json.loads(process.stdout.readline())
        control = SandboxControl(ready["url"], timeout=600)
        yield Sandbox(ready["url"], config, control, devices, process.pid)
    finally:
        _close(process.stdin)
        process.wait(timeout=60)


def _close(stream: IO[str]) -> None:
    stream.close()


def write_variant(config: Path, name: str, **changes: Any) -> Path:
    """A copy of ``config`` with ``changes`` (dotted keys, e.g. ``google.quota``) applied."""
    with config.open("rb") as fh:
        data = tomllib.load(fh)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    path = config.with_name(name)
    path.write_text(to_toml(data), encoding="utf-8")
    load_settings(path)
    return path


# ------------------------------------------------------------------------------ the fleet
def lend_everything(sandbox: Sandbox) -> int:
    """Every ledger device on loan to a borrower of its region whose account exists in Google.

    The users are seeded in the sandbox under /Students/<Region>, carrying fleetsync's borrower
    id, then read back through the Directory API; the borrowers, loans and device states go
    into the ledger in bulk, as they stand once fleetsync created the accounts."""
    settings = sandbox.settings()
    now = datetime.now(UTC)
    until = date.today() + timedelta(days=60)
    with open_ledger(settings) as ledger:
        with ledger.read() as session:
            devices = session.execute(
                sa.select(Device.id, Device.region, Device.connectivity).order_by(Device.id)
            ).all()
        regions = Counter(region for _, region, _ in devices)
        for region, count in sorted(regions.items()):
            sandbox.control.seed_users(
                count, org_unit_path=f"/Students/{region}", borrower_prefix="B-"
            )
        accounts: dict[str, list[Any]] = defaultdict(list)
        with Google.connect(settings) as google:
            for account in google.directory.iter_accounts("/Students"):
                if account.borrower_id is not None:
                    accounts[account.org_unit_path.rsplit("/", 1)[1]].append(account)
        pairs = [(device, accounts[device[1]].pop()) for device in devices]
        with ledger.transaction() as session:
            borrower_ids = session.scalars(
                sa.insert(Borrower).returning(Borrower.id, sort_by_parameter_order=True),
                [
                    {
                        "desk_id": account.borrower_id,
                        "given_name": account.given_name,
                        "family_name": account.family_name,
                        "region": region,
                        "account_email": account.email,
                        "account_status": "active",
                        "account_status_since": now,
                        "google_user_id": account.user_id,
                        "google_suspended": False,
                        "google_org_unit": account.org_unit_path,
                        "google_checked_at": now,
                        "created_at": now,
                    }
                    for (_, region, _), account in pairs
                ],
            ).all()
            session.execute(
                sa.insert(Loan),
                [
                    {
                        "device_id": device_id,
                        "borrower_id": borrower_id,
                        "checked_out_at": now,
                        "agreed_end": until,
                        "needs_data": connectivity == "4g",
                        "region": region,
                        "connectivity": connectivity,
                    }
                    for ((device_id, region, connectivity), _), borrower_id in zip(
                        pairs, borrower_ids, strict=True
                    )
                ],
            )
            session.execute(sa.update(Device).values(state="on_loan", state_since=now))
    return len(pairs)


def on_loan(ledger: Ledger, count: int, *, skip: int = 0) -> list[str]:
    with ledger.read() as session:
        return list(
            session.scalars(
                sa.select(Device.serial)
                .where(Device.state == "on_loan")
                .order_by(Device.serial)
                .offset(skip)
                .limit(count)
            )
        )


def give_back(ledger: Ledger, serials: Sequence[str], *, ready: bool = False) -> None:
    """Returns through the service functions, one transaction each (as the desk does them)."""
    for serial in serials:
        with ledger.transaction() as session:
            services.return_device(session, device=serial, actor=ACTOR)
        if ready:
            with ledger.transaction() as session:
                services.mark_ready(
                    session, device=serial, actor=ACTOR, force=True, reason="wiped by hand"
                )


def lose(ledger: Ledger, serials: Sequence[str]) -> None:
    for serial in serials:
        with ledger.transaction() as session:
            services.mark_lost(session, device=serial, actor=ACTOR)


# ------------------------------------------------------------------------------ the runs
def _overrides(database_url: str, google: dict[str, Any]) -> dict[str, Any]:
    return {"database_url": database_url, "policies": POLICIES, "google": google}


def _sync_rows(figures: Figures, label: str, run: SyncRun, sandbox_cpu: float) -> None:
    figures.add(f"{label}: wall time of the sync", run.seconds, "s")
    figures.add(
        f"{label}: CPU time, sync process (start-up included); sandbox",
        f"{run.cpu_seconds:,.1f}; {sandbox_cpu:,.1f}",
        "s",
    )
    figures.add(f"{label}: peak memory of the sync process", run.peak_mib, "MiB")
    figures.add(f"{label}: Google calls", run.calls, "")


def timed_sync(sandbox: Sandbox, config: Path, **options: Any) -> tuple[SyncRun, float]:
    """A sync, and the CPU time the sandbox spent answering it."""
    before = sandbox.cpu_seconds()
    run = run_sync(config, **options)
    return run, sandbox.cpu_seconds() - before


def bench_size(
    size: int, database_url: str, figures: Figures, profile: Path | None, moving: int
) -> None:
    with tempfile.TemporaryDirectory(prefix="fleetsync-bench-") as tmp:
        overrides = _overrides(database_url, UNTHROTTLED)
        with sandbox_process(size, Path(tmp), overrides) as sandbox:
            config = sandbox.config

            def profiled(name: str) -> Path | None:
                return None if profile is None else profile / f"{size}-{name}.prof"

            adopting, sandbox_cpu = timed_sync(
                sandbox, config, adopt=True, profile=profiled("adopt")
            )
            assert adopting.status == "converged", adopting
            _sync_rows(figures, "adopting sync", adopting, sandbox_cpu)
            figures.add(
                "adopting sync: devices adopted, moved",
                f"{adopting.summary.get('adopt_device', 0):,}, "
                f"{adopting.summary.get('move_devices', 0):,}",
            )

            with measure() as lent:
                accounts = lend_everything(sandbox)
            figures.add(f"(setup) {accounts:,} loans and accounts, in bulk", lent["seconds"], "s")
            lending, sandbox_cpu = timed_sync(sandbox, config, profile=profiled("lend"))
            assert lending.status == "converged", lending
            _sync_rows(
                figures, "lending sync (every device moved and annotated)", lending, sandbox_cpu
            )

            sandbox.control.reset_counters()
            noop, sandbox_cpu = timed_sync(sandbox, config, profile=profiled("noop"))
            assert noop.status == "converged", noop
            assert noop.actions == 0, noop
            answered = sum(sandbox.calls().values())
            figures.add(
                "no-op sync: Google calls (sandbox count)", f"{noop.calls:,} ({answered:,})"
            )
            figures.add(
                "no-op sync: goal 1.05 x (⌈d/300⌉ + ⌈a/500⌉) + 5",
                f"≤ {goal_calls(size, accounts):,.1f}",
                f"floor {floor_calls(size, accounts):,}",
            )
            figures.add("no-op sync: wall time", noop.seconds, "s")
            figures.add(
                "no-op sync: CPU time, sync process (start-up included); sandbox",
                f"{noop.cpu_seconds:,.1f}; {sandbox_cpu:,.1f}",
                "s",
            )
            figures.add("no-op sync: peak memory of the sync process", noop.peak_mib, "MiB")
            figures.add("no-op sync: whole process (start-up included)", noop.process_seconds, "s")

            with open_ledger(sandbox.settings()) as ledger:
                k = min(moving, size // 2)
                back = on_loan(ledger, k)
                give_back(ledger, back)
            sandbox.control.reset_counters()
            returned = run_sync(config, force=True)
            assert returned.status == "converged", returned
            _moves(figures, sandbox, f"{k:,} returns (one target OU)", returned, {"": k})

            with open_ledger(sandbox.settings()) as ledger:
                group = [k * 4 // 10, k * 3 // 10, k - k * 4 // 10 - k * 3 // 10]
                serials = on_loan(ledger, k)
                give_back(ledger, serials[: group[0]])
                lose(ledger, serials[group[0] : group[0] + group[1]])
                give_back(ledger, serials[group[0] + group[1] :], ready=True)
            sandbox.control.reset_counters()
            spread = run_sync(config, force=True)
            assert spread.status == "converged", spread
            _moves(
                figures,
                sandbox,
                f"{k:,} devices to 3 OUs ({group[0]}, {group[1]}, {group[2]})",
                spread,
                {"Refurbishment": group[0], "Lost": group[1], "Spare": group[2]},
            )


def _moves(
    figures: Figures, sandbox: Sandbox, label: str, run: SyncRun, groups: dict[str, int]
) -> None:
    calls = sandbox.calls()
    expected = sum(math.ceil(n / PER_MOVE) for n in groups.values())
    figures.add(
        f"{label}: moveDevicesToOu calls (⌈k/50⌉ per OU)",
        f"{calls['directory.chromeosdevices.moveDevicesToOu']:,} ({expected:,})",
    )
    pages = calls["directory.chromeosdevices.list"] - math.ceil(sandbox.devices / DEVICE_PAGE)
    figures.add(
        f"{label}: read-back calls (OU list pages + gets)",
        f"{pages + calls['directory.chromeosdevices.get']:,}",
        f"{pages} + {calls['directory.chromeosdevices.get']}",
    )
    others = ", ".join(
        f"{'.'.join(method.split('.')[-2:])} {n:,}"
        for method, n in sorted(calls.items())
        if method.endswith(("patch", "issueCommand", "batchChangeStatus"))
    )
    figures.add(f"{label}: other writes", others or "none")
    figures.add(f"{label}: all Google calls, wall time", f"{run.calls:,}", f"{run.seconds:.1f} s")


def quota_run(database_url: str, fleet: int, returns: int, figures: Figures) -> None:
    """``returns`` returns converged under Google's quotas (60 Chrome device writes a minute),
    on both sides: the sandbox refuses what is over, fleetsync's throttle must never be."""
    overrides = _overrides(database_url, UNTHROTTLED)
    with (
        tempfile.TemporaryDirectory(prefix="fleetsync-bench-") as tmp,
        sandbox_process(fleet, Path(tmp), overrides) as sandbox,
    ):
        assert run_sync(sandbox.config, adopt=True).status == "converged"
        lend_everything(sandbox)
        assert run_sync(sandbox.config).status == "converged"
        with open_ledger(sandbox.settings()) as ledger:
            give_back(ledger, on_loan(ledger, returns))
        quota_config = write_variant(
            sandbox.config,
            "quota.toml",
            **{"google.quota": FLEETSYNC_QUOTAS, "google.retry": {}},
        )
        sandbox.control.quotas(**GOOGLE_QUOTAS)
        sandbox.control.reset_counters()
        run = run_sync(quota_config, force=True)
        calls = sandbox.calls()
        refused = sandbox.refusals()
        after = run_sync(quota_config)
        refused_after = sandbox.refusals()
    figures.add(f"fleet; returns converged (sync forced: {returns:,} powerwashes)", fleet, "")
    figures.add("status of the sync; of the next one (actions it planned)", run.status, "")
    figures.add("  next sync", f"{after.status} ({after.actions} actions)", "")
    figures.add("wall time to converge", run.seconds / 60, "min")
    figures.add("Google calls", run.calls, "")
    device_writes = sum(
        calls[m]
        for m in (
            "directory.chromeosdevices.moveDevicesToOu",
            "directory.chromeosdevices.patch",
            "admin.customer.devices.chromeos.issueCommand",
        )
    )
    figures.add("  of which Chrome device writes", device_writes, "")
    figures.add(
        "  moves, annotation patches, powerwashes",
        f"{calls['directory.chromeosdevices.moveDevicesToOu']:,}, "
        f"{calls['directory.chromeosdevices.patch']:,}, "
        f"{calls['admin.customer.devices.chromeos.issueCommand']:,}",
    )
    figures.add("  floor at 60 device writes a minute", device_writes / 60, "min")
    figures.add(
        "calls the sandbox refused (403/429/5xx): the sync; with the next one",
        f"{refused}; {refused_after}",
    )


# ------------------------------------------------------------------- at Google's latency
@dataclass
class SideBySide:
    """Sequential and concurrent runs of the same syncs, one row each, as a Markdown table.
    Wall time is ``reconcile()``'s; CPU time the whole sync process's (start-up included)."""

    title: str
    rows: list[tuple[str, SyncRun, SyncRun]]

    def print(self) -> None:
        from _harness import machine

        out = sys.stdout
        out.write(
            f"\n### {self.title}\n\n_{machine()}_\n\n"
            "| sync | sequential: calls | wall s | CPU s | peak MiB "
            "| concurrent: calls | wall s | CPU s | peak MiB | speed-up |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        )
        for label, one, many in self.rows:
            out.write(
                f"| {label} | {one.calls:,} | {one.seconds:,.1f} | {one.cpu_seconds:,.1f} "
                f"| {one.peak_mib:,.0f} | {many.calls:,} | {many.seconds:,.1f} "
                f"| {many.cpu_seconds:,.1f} | {many.peak_mib:,.0f} "
                f"| {one.seconds / max(many.seconds, 1e-9):,.1f}x |\n"
            )
        out.flush()


def _one_after_another(config: Path) -> Path:
    return write_variant(config, "sequential.toml", **{"sync.concurrency": 1})


def _at_latency(sandbox: Sandbox, latency_ms: float, config: Path, **options: Any) -> SyncRun:
    sandbox.control.faults(latency_ms=latency_ms)
    try:
        run = run_sync(config, **options)
    finally:
        sandbox.control.faults(latency_ms=0.0)
    assert run.status == "converged", run
    return run


def latency_run(
    latency_ms: float,
    postgres: str | None,
    adopt_size: int,
    noop_size: int,
    profile: Path | None = None,
) -> SideBySide:
    def profiled(name: str) -> Path | None:
        return None if profile is None else profile / f"latency-{latency_ms:g}-{name}.prof"

    rows: list[tuple[str, SyncRun, SyncRun]] = []
    if adopt_size:
        adoptions: list[SyncRun] = []
        for sequential in (True, False):
            with (
                database(postgres) as url,
                tempfile.TemporaryDirectory(prefix="fleetsync-bench-") as tmp,
                sandbox_process(adopt_size, Path(tmp), _overrides(url, UNTHROTTLED)) as sandbox,
            ):
                config = _one_after_another(sandbox.config) if sequential else sandbox.config
                name = f"adopt-{'sequential' if sequential else 'concurrent'}"
                adoptions.append(
                    _at_latency(sandbox, latency_ms, config, adopt=True, profile=profiled(name))
                )
        rows.append((f"adopting {adopt_size:,} devices", adoptions[0], adoptions[1]))
    if noop_size:
        with (
            database(postgres) as url,
            tempfile.TemporaryDirectory(prefix="fleetsync-bench-") as tmp,
            sandbox_process(noop_size, Path(tmp), _overrides(url, UNTHROTTLED)) as sandbox,
        ):
            assert run_sync(sandbox.config, adopt=True).status == "converged"
            lend_everything(sandbox)
            assert run_sync(sandbox.config).status == "converged"
            sequential_run = _at_latency(
                sandbox,
                latency_ms,
                _one_after_another(sandbox.config),
                profile=profiled("noop-sequential"),
            )
            concurrent_run = _at_latency(
                sandbox, latency_ms, sandbox.config, profile=profiled("noop-concurrent")
            )
            for run in (sequential_run, concurrent_run):
                assert run.actions == 0, run
        label = f"no-op, {noop_size:,} devices + {noop_size:,} accounts"
        rows.append((label, sequential_run, concurrent_run))
    backend = "PostgreSQL" if postgres else "SQLite"
    return SideBySide(
        f"Reconcile at {latency_ms:g} ms a call, sequential vs concurrent, on {backend} "
        "(sandbox in its own process; quotas raised)",
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated fleet sizes")
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL URL (default: SQLite)")
    parser.add_argument(
        "--quota-run",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also converge 1,000 returns under Google's quotas (takes about 35 minutes)",
    )
    parser.add_argument("--quota-fleet", type=int, default=10_000)
    parser.add_argument("--moving", type=int, default=1000, help="k, devices moved per scenario")
    parser.add_argument("--profile", type=Path, help="write a cProfile of each sync here")
    parser.add_argument(
        "--latency-ms",
        type=float,
        help="instead: adopting and no-op syncs at this latency a call, sequential vs concurrent",
    )
    parser.add_argument("--adopt-size", type=int, default=10_000, help="with --latency-ms")
    parser.add_argument("--noop-size", type=int, default=100_000, help="with --latency-ms")
    parser.add_argument("--child-sync", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--adopt", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--force", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_sync is not None:
        child_sync(args.child_sync, adopt=args.adopt, force=args.force, profile=args.profile)
        return
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    if args.latency_ms is not None:
        latency_run(
            args.latency_ms, args.postgres, args.adopt_size, args.noop_size, args.profile
        ).print()
        return
    backend = "PostgreSQL" if args.postgres else "SQLite"
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    for size in sizes:
        figures = Figures(
            f"Reconcile on {backend}: {size:,} devices, {size:,} accounts "
            "(sandbox in its own process, no latency)"
        )
        with database(args.postgres) as url:
            bench_size(size, url, figures, args.profile, args.moving)
        figures.print()
    if args.quota_run:
        figures = Figures(f"Converging 1,000 returns under Google's quotas, on {backend}")
        with database(args.postgres) as url:
            quota_run(url, args.quota_fleet, 1000, figures)
        figures.print()


if __name__ == "__main__":
    main()
