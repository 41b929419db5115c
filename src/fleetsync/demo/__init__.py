"""``fleetsync demo``: the whole system on one machine, with nothing to set up.

It starts the sandbox with the agency's 1,000 Chromebooks, an SQLite ledger, and the daemon with
its API; adopts the fleet into the ledger; then a simulated loan desk lends devices and takes them
back through signed webhooks while returned devices are switched on and execute their powerwash.
Everything it writes lives in one directory (``./demo`` by default): the ledger, the sandbox's
tenant (saved on the way out), the key file and the config. A second run continues the first;
``--reset`` starts afresh. Ctrl-C stops it all cleanly.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleetsync.daemon import run_daemon
from fleetsync.daemon.api import listen, run_api
from fleetsync.demo.desk import SimulatedDesk
from fleetsync.demo.devices import SimulatedDevices
from fleetsync.domain.actions import Budget
from fleetsync.domain.staff import StaffRole
from fleetsync.ledger import Ledger, open_ledger
from fleetsync.log import configure_logging, get_logger
from fleetsync.sandbox.control import SandboxControl
from fleetsync.sandbox.handoff import write_config, write_key_file
from fleetsync.sandbox.seed import seeded_tenant
from fleetsync.sandbox.server import SandboxServer
from fleetsync.sandbox.state import load_tenant
from fleetsync.sandbox.tenant import Tenant
from fleetsync.services import staff
from fleetsync.settings import ConfigError, Settings, load_settings
from fleetsync.sync import SyncBusy, reconcile
from fleetsync.worktree import exposure_warning

__all__ = ["DemoOptions", "run_demo"]

log = get_logger("fleetsync.demo")
DESK = "demo-desk"
#: The demo desk's clerk in the web app, and who the audit trail says created the account.
DEMO_STAFF = "demo"
DEMO_ACTOR = "cli:demo"


@dataclass(frozen=True)
class DemoOptions:
    directory: Path
    port: int = 8080
    sandbox_port: int = 8765
    #: Seconds between the desk's events (on average). Three keeps Google's Education quota for
    #: Chrome device writes (about 60 a minute; a checkout costs two, a return three) unstrained.
    pace_seconds: float = 3.0
    #: Stop by itself after this many seconds (and check Google has converged); None: until Ctrl-C.
    duration: float | None = None
    #: How long a loan runs before the desk may take the device back (a course is 65 days).
    loan_seconds: float = 20.0
    #: A config to rehearse (its org units, regions, policies...): only the Google connection,
    #: the ledger, the desk and the timings are the demo's. Empty: the demo's own.
    base: dict[str, Any] = field(default_factory=dict)
    #: Empty the directory (a demo's only) and start afresh; otherwise an earlier run continues.
    reset: bool = False


#: The standard policies the demo pushes when it rehearses no config of its own.
_POLICIES = [
    {
        "org_unit": "/Students",
        "bookmarks_folder": "Cursus",
        "bookmarks": [
            {"name": "Inburgering", "url": "https://www.integratie-inburgering.be/"},
            {"name": "Cursusplatform", "url": "https://cursus.example.org/"},
        ],
        "apps": [{"app_id": "web:https://meet.google.com/", "install_type": "FORCED"}],
    }
]


def _secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


#: What marks a directory as the demo's: only such a directory is ever emptied (--reset).
MARKER = ".fleetsync-demo"
TENANT_FILE = "tenant.json"


def _directory(options: DemoOptions) -> tuple[Path, bool]:
    """The demo's directory, and whether it holds an earlier run to continue.

    A directory that is not the demo's is never emptied, whatever the options: ``--dir ~`` must
    not cost anyone their home directory."""
    directory = options.directory.resolve()
    if directory.exists() and any(directory.iterdir()):
        if not (directory / MARKER).exists():
            raise ConfigError(
                f"{directory} holds files that are not a fleetsync demo's; the demo keeps its "
                "ledger and tenant in a directory of its own: choose another with --dir"
            )
        if options.reset:
            shutil.rmtree(directory)
        elif not (directory / TENANT_FILE).exists() or not (directory / "fleetsync.db").exists():
            raise ConfigError(
                f"{directory} holds an earlier demo without its ledger or its sandbox tenant, "
                "which cannot be continued: run with --reset to start afresh"
            )
        else:
            return directory, True
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    (directory / MARKER).write_text(
        "Written by `fleetsync demo`: its ledger, tenant, key and config. "
        "`fleetsync demo --reset` empties this directory.\n",
        encoding="utf-8",
    )
    return directory, False


def _prepare(options: DemoOptions, server: SandboxServer, directory: Path) -> tuple[Path, str, str]:
    """The key file and a config pointing at the sandbox (written afresh each run: the ports,
    the desk's secret and token are this run's; the ledger is the directory's)."""
    key_file = write_key_file(server.tenant, server.token_uri, directory / "service-account.json")
    secret, token = _secret(), secrets.token_urlsafe(32)
    config = write_config(
        server.tenant,
        directory / "fleetsync.toml",
        url=server.url,
        key_file=key_file,
        base=options.base,
        api={
            "port": options.port,
            "desks": {
                DESK: {
                    "secrets": [secret],
                    "token": token,
                    "region": "Antwerpen",
                    "return_address": "the demo desk, any time",
                }
            },
        },
        # Everything happens faster than in a real programme, so a newcomer sees it happen.
        daemon={
            "reconcile_interval_minutes": 1,
            "command_tracker_interval_seconds": 5,
            "outbox_interval_seconds": 2,
            "leader_poll_seconds": 2,
        },
        # A demo returns many devices at once: more than a real programme's run would allow.
        safety={budget.value: {"per_hour": 10_000, "per_day": 10_000} for budget in Budget},
        policies=options.base.get("policies", _POLICIES),
    )
    os.chmod(config, 0o600)
    return config, secret, token


def _demo_staff(ledger: Ledger) -> str:
    """A clerk of the demo desk for the web app, with a new password each run (printed in the
    banner: the demo runs on this machine only)."""
    with ledger.transaction() as session:
        known = {m.username for m in staff.list_staff(session, desk=DESK)}
        if DEMO_STAFF in known:
            handed = staff.reset_staff_password(session, username=DEMO_STAFF, actor=DEMO_ACTOR)
        else:
            handed = staff.add_staff(
                session,
                username=DEMO_STAFF,
                display_name="Demo clerk",
                desk=DESK,
                role=StaffRole.CLERK,
                actor=DEMO_ACTOR,
            )
    return handed.password


def _wait_for_api(url: str, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            with urllib.request.urlopen(f"{url}/livez", timeout=2) as reply:  # noqa: S310
                if reply.status == 200:
                    return True
        except OSError:
            stop.wait(0.2)
    return False


def _sandbox(options: DemoOptions, tenant: Tenant, state: Path) -> SandboxServer:
    try:
        return SandboxServer(tenant, port=options.sandbox_port, state_file=state)
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on 127.0.0.1:{options.sandbox_port} for the sandbox: "
            f"{exc.strerror or exc}; choose another port with --sandbox-port"
        ) from None


def run_demo(options: DemoOptions) -> int:
    # Both ports first: a port in use stops the demo before it writes anything.
    api_socket = listen("127.0.0.1", options.port)
    try:
        directory, earlier = _directory(options)
        state = directory / TENANT_FILE
        tenant = load_tenant(state) if earlier else seeded_tenant("agency")
        server = _sandbox(options, tenant, state).start()
    except BaseException:
        api_socket.close()
        raise
    config, secret, token = _prepare(options, server, directory)
    warning = exposure_warning(directory, "the demo's directory (a key file, webhook secrets)")
    if warning:
        print(f"warning: {warning}", file=sys.stderr, flush=True)
    settings = load_settings(config)
    configure_logging(settings.log_level, settings.log_format)
    api_url = f"http://127.0.0.1:{options.port}"
    run = (
        "continues the earlier run (`--reset` starts afresh)"
        if earlier
        else "a new run (the next one continues it; `--reset` starts afresh)"
    )
    stop = threading.Event()
    control = SandboxControl(server.url)
    try:
        with open_ledger(settings) as ledger:
            staff_password = _demo_staff(ledger)
            print(  # the banner a newcomer reads first
                f"\nfleetsync demo\n"
                f"  Google (the sandbox): {server.url}  — the agency's 1,000 Chromebooks\n"
                f"  the loan desk's web app: {api_url}/desk\n"
                f"    sign in as {DEMO_STAFF} with password {staff_password}\n"
                f"  the loan desk's API:  {api_url}/docs\n"
                f"  config and ledger:    {config.parent}, {run}\n"
                f"  in another terminal:  fleetsync status --config {config}\n"
                f"  Ctrl-C stops everything.\n",
                flush=True,
            )
            report = reconcile(ledger, settings, adopt=True)
            log.info(
                "demo.fleet_adopted",
                devices=report.plan.summary().get("adopt_device", 0),
                google_calls=report.google_calls,
            )
            desk = SimulatedDesk(
                api_url=api_url,
                secret=secret,
                token=token,
                ledger=ledger,
                stop=stop,
                pace_seconds=options.pace_seconds,
                return_after_seconds=options.loan_seconds,
            )
            devices = SimulatedDevices(control=control, ledger=ledger, stop=stop)
            starter = threading.Thread(
                target=_start_when_ready,
                args=(api_url, stop, desk, devices, options.duration),
                name="demo-starter",
                daemon=True,
            )
            starter.start()
            code = run_daemon(
                settings,
                serve_api=lambda led: run_api(
                    settings, led, host="127.0.0.1", port=options.port, sock=api_socket
                ),
            )
            stop.set()
            for thread in (desk, devices):
                if thread.is_alive():
                    thread.join(timeout=10)
            if options.duration is not None:
                code = code or _summary(ledger, settings, desk)
    finally:
        stop.set()
        server.stop()
    return code


def _start_when_ready(
    api_url: str,
    stop: threading.Event,
    desk: SimulatedDesk,
    devices: SimulatedDevices,
    duration: float | None,
) -> None:
    if not _wait_for_api(api_url, stop):
        return
    desk.start()
    devices.start()
    log.info("demo.desk_open", api=api_url)
    if duration is not None:
        stop.wait(duration)
        stop.set()  # the desk closes; the daemon finishes what is waiting, then stops
        os.kill(os.getpid(), signal.SIGINT)


def _summary(ledger: Ledger, settings: Settings, desk: SimulatedDesk) -> int:
    """After a timed run: is Google where the ledger wants it? (0 yes, 1 no)"""
    deadline = time.monotonic() + 120
    while True:
        try:
            final = reconcile(ledger, settings, force=True)
            check = reconcile(ledger, settings, dry_run=True)
            break
        except SyncBusy:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    converged = not check.plan.actions
    print(
        json.dumps(
            {
                "demo": "summary",
                "checkouts": desk.stats.checkouts,
                "returns": desk.stats.returns,
                "refused": desk.stats.refused,
                "first_passwords_handed_over": desk.stats.passwords,
                "final_sync": final.status,
                "converged": converged,
            }
        ),
        flush=True,
    )
    return 0 if converged else 1
