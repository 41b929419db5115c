"""``fleetsync sandbox``: run the Google Workspace stand-in, and look at a running one.

``serve`` starts a tenant (the agency's fleet, N devices, or one saved with ``--state``), writes
its service-account key and a fleetsync config pointing at it, and serves until Ctrl-C or
SIGTERM, when it saves the tenant. ``status`` reads a running sandbox's control surface.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.text import Text

from fleetsync.cli._context import (
    EXIT_CODES_HELP,
    ConfigOption,
    ExitCode,
    JsonOption,
    console,
    err_console,
    fail,
    get_settings,
    print_json,
)
from fleetsync.sandbox.control import SandboxControl, SandboxControlError
from fleetsync.sandbox.faults import Faults, Quotas
from fleetsync.sandbox.handoff import write_config, write_key_file, write_oauth_client
from fleetsync.sandbox.seed import parse_fleet, seeded_tenant
from fleetsync.sandbox.server import SandboxServer
from fleetsync.sandbox.state import load_tenant
from fleetsync.sandbox.tenant import Tenant
from fleetsync.settings import config_document, load_settings

__all__ = ["QUOTA_NAMES", "app", "parse_quotas"]

DEFAULT_PORT = 8765
#: ``--quota NAME=N``: the names a user types, and the sandbox quota each one sets.
QUOTA_NAMES = {
    "queries": "queries_per_minute",
    "device-writes": "device_writes_per_minute",
    "policy-writes": "policy_writes_per_minute",
    "concurrent": "max_concurrent_requests",
}
#: The key file's name when it is written next to the config or the state: never the name of a
#: real key someone may keep in the same directory.
KEY_FILE_NAME = "sandbox-service-account.json"

app = typer.Typer(
    help=(
        "A local Google Workspace tenant that speaks the Directory and Chrome Policy APIs: "
        "rehearse a config change, train technicians, run the demo, without touching Google."
        "\n\n" + EXIT_CODES_HELP
    ),
    no_args_is_help=True,
)


def _say(text: str | Text) -> None:
    console.print(text, highlight=False, soft_wrap=True)


def parse_quotas(values: list[str]) -> Quotas:
    """``["google", "device-writes=60"]`` → Quotas. Raises ValueError saying what is accepted."""
    quotas = Quotas()
    accepted = ", ".join(f"{name}=N" for name in QUOTA_NAMES)
    for value in values:
        text = value.strip().lower()
        if text == "google":
            quotas = Quotas.google()
            continue
        name, equals, number = text.partition("=")
        field = QUOTA_NAMES.get(name.strip())
        if not equals or field is None:
            raise ValueError(
                f"--quota {value!r}: expected 'google' (Google's documented limits) or one of "
                f"{accepted}"
            )
        if not number.strip().isdigit() or int(number) < 1:
            raise ValueError(f"--quota {value!r}: N is a whole number of calls, at least 1")
        setattr(quotas, field, int(number))
    return quotas


def _tenant(state: Path | None, fleet: str, domain: str) -> tuple[Tenant, bool]:
    """The saved tenant when ``state`` exists (and True), else a new seeded one (and False)."""
    if state is not None and state.exists():
        try:
            tenant = load_tenant(state)
        except ValueError as exc:
            fail(str(exc), ExitCode.USAGE)
        return tenant, True
    try:
        return seeded_tenant(parse_fleet(fleet), domain=domain), False
    except ValueError as exc:
        fail(str(exc), ExitCode.USAGE)


def _key_path(credentials_out: Path | None, *beside: Path | None) -> tuple[Path, Path | None]:
    """Where the key goes, and a scratch directory to remove at the end (when none was named)."""
    if credentials_out is not None:
        return credentials_out, None
    for anchor in beside:
        if anchor is not None:
            return anchor.parent / KEY_FILE_NAME, None
    scratch = Path(tempfile.mkdtemp(prefix="fleetsync-sandbox-"))
    return scratch / KEY_FILE_NAME, scratch


@contextmanager
def _stop_signals() -> Iterator[threading.Event]:
    """SIGINT and SIGTERM set the event from here on (installed before the banner says how to
    stop: a signal right after it must stop the sandbox cleanly, not kill it)."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@app.command("serve")
def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (0.0.0.0: every interface).")
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option("--port", min=0, max=65535, help="Port to listen on (0: any free port)."),
    ] = DEFAULT_PORT,
    fleet: Annotated[
        str,
        typer.Option(
            "--fleet",
            metavar="agency|N|none",
            help=(
                "The devices of a new tenant: 'agency' (1,000 Chromebooks in six regions, in "
                "/Chromebooks/Staging), a number of devices (benchmarks), or 'none'."
            ),
        ),
    ] = "agency",
    domain: Annotated[
        str | None,
        typer.Option(
            "--domain",
            help="The tenant's domain (its admin is admin@DOMAIN). Default: accounts.domain.",
        ),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            dir_okay=False,
            metavar="FILE",
            help=(
                "Keep the tenant in this file: loaded when it exists (then --fleet and --domain "
                "are not used), saved every 30 s while it changes and when the sandbox stops."
            ),
        ),
    ] = None,
    credentials_out: Annotated[
        Path | None,
        typer.Option(
            "--credentials-out",
            dir_okay=False,
            metavar="FILE",
            help=(
                f"Write the tenant's service-account key here. Default: {KEY_FILE_NAME} next to "
                "--write-config or --state, else a temporary file removed on stop."
            ),
        ),
    ] = None,
    write_config_to: Annotated[
        Path | None,
        typer.Option(
            "--write-config",
            dir_okay=False,
            metavar="FILE",
            help=(
                "Write a fleetsync config pointing at this sandbox (endpoint, key, admin, an "
                "SQLite ledger next to it). With --config, it is that config with only the Google "
                "connection and the ledger replaced."
            ),
        ),
    ] = None,
    oauth_client_out: Annotated[
        Path | None,
        typer.Option(
            "--oauth-client-out",
            dir_okay=False,
            metavar="FILE",
            help=(
                "For admin tools that sign in as an admin through an installed-app OAuth "
                "client: write the tenant's client here (Google's client-secrets JSON) and a "
                "refresh token for the tenant's admin beside it (FILE's name with "
                ".authorized-user.json, google-auth's authorized-user JSON). Both are "
                "credentials (mode 0600)."
            ),
        ),
    ] = None,
    latency_ms: Annotated[
        float, typer.Option("--latency-ms", min=0.0, help="Add this much latency to every call.")
    ] = 0.0,
    fault_rate: Annotated[
        float,
        typer.Option(
            "--fault-rate",
            min=0.0,
            max=1.0,
            help="Share of Google calls answered 503 backendError (0 to 1).",
        ),
    ] = 0.0,
    drop_rate: Annotated[
        float,
        typer.Option(
            "--drop-rate",
            min=0.0,
            max=1.0,
            help="Share of requests whose connection is dropped after the call took effect.",
        ),
    ] = 0.0,
    quota: Annotated[
        list[str] | None,
        typer.Option(
            "--quota",
            metavar="NAME=N",
            help=(
                "A per-minute quota, repeatable: queries=N (per user), device-writes=N, "
                "policy-writes=N, concurrent=N (requests in flight); or 'google' for Google's "
                "documented limits (2400, 60, 30, 20). Default: unlimited."
            ),
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Serve a sandbox tenant until Ctrl-C or SIGTERM (then its --state is saved)."""
    settings = get_settings(config)
    state = state.resolve() if state is not None else None
    try:
        quotas = parse_quotas(quota or [])
    except ValueError as exc:
        fail(str(exc), ExitCode.USAGE)
    base = config_document(config) if write_config_to is not None else {}
    tenant, loaded = _tenant(state, fleet, domain or settings.accounts.domain)
    if loaded and domain is not None and domain.lower() != tenant.domain:
        fail(
            f"--state {state} holds the tenant of {tenant.domain}, not {domain}; drop --domain, "
            "or name another state file",
            ExitCode.USAGE,
        )
    faults = Faults(error_rate=fault_rate, latency_ms=latency_ms, drop_rate=drop_rate)
    try:
        server = SandboxServer(
            tenant, host=host, port=port, faults=faults, quotas=quotas, state_file=state
        )
    except OSError as exc:
        fail(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another port with "
            "--port",
            ExitCode.USAGE,
        )
    key_file, scratch = _key_path(credentials_out, write_config_to, state)
    server.start()
    try:
        write_key_file(tenant, server.token_uri, key_file)
        if write_config_to is not None:
            write_config(tenant, write_config_to, url=server.url, key_file=key_file, base=base)
            load_settings(write_config_to)  # a config the sandbox writes loads: ConfigError if not
        oauth_files = None
        if oauth_client_out is not None:
            oauth_files = write_oauth_client(tenant, server.token_uri, oauth_client_out)
        if state is not None and (not loaded or oauth_files):
            server.save()  # the tenant, its key and its OAuth client are on disk from now on
        _warn_exposed(
            (key_file, "the service-account key"),
            (write_config_to, "the config"),
            (state, "the tenant's state (with its service-account key)"),
            *((f, "the OAuth client's secrets") for f in oauth_files or ()),
        )
        with _stop_signals() as stop:
            _announce(server, key_file, write_config_to, loaded, oauth_files)
            while not stop.wait(0.5):
                pass
    finally:
        server.stop()  # saves --state
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    _say("sandbox stopped" + (f"; tenant saved to {state}" if state else ""))


def _warn_exposed(*files: tuple[Path | None, str]) -> None:
    """Secrets inside a git work tree that git does not ignore: say so, before a commit does."""
    from fleetsync.worktree import exposure_warning

    for path, what in files:
        warning = None if path is None else exposure_warning(path, what)
        if warning:
            err_console.print(f"warning: {warning}", highlight=False, soft_wrap=True)


def _announce(
    server: SandboxServer,
    key_file: Path,
    config_file: Path | None,
    loaded: bool,
    oauth_files: tuple[Path, Path] | None = None,
) -> None:
    tenant = server.tenant
    summary = tenant.summary()
    origin = f"loaded from {server.state_file}" if loaded else "new"
    lines = [
        f"fleetsync sandbox listening on {server.url}",
        f"  tenant      {tenant.domain} (customer {tenant.customer_id}, {origin})",
        f"  admin       {tenant.admin}",
        f"  contents    {summary['devices']:,} devices, {summary['users']:,} users, "
        f"{summary['orgUnits']:,} org units",
        f"  key file    {key_file.resolve()}",
    ]
    if config_file is not None:
        lines.append(f"  config      {config_file.resolve()}")
    if oauth_files is not None:
        lines.append(f"  oauth       {oauth_files[0].resolve()} (installed-app client)")
        lines.append(f"  refresh     {oauth_files[1].resolve()} (refresh token: {tenant.admin})")
    if server.state_file is not None:
        lines.append(f"  state       {server.state_file.resolve()} (saved on stop)")
    lines.append(f"  status page {server.url} (read-only, in a browser)")
    lines.append(f"  control     {server.url}_sandbox/status")
    lines.append(f"  discovery   {server.url}discovery/v1/apis")
    lines.append("")
    if config_file is not None:
        lines += [
            "Point fleetsync at it:",
            f"  export FLEETSYNC_CONFIG={config_file.resolve()}",
            "  fleetsync config check",
        ]
    else:
        lines += [
            "Point fleetsync at it with these settings (or start with --write-config FILE):",
            "  [google]",
            f'  endpoint = "{server.url}"',
            f'  key_file = "{key_file.resolve()}"',
            f'  admin_subject = "{tenant.admin}"',
        ]
    lines.append("Stop with Ctrl-C.")
    # Plain echo (flushed at once): a script or a test waits for these lines on a pipe.
    typer.echo("\n".join(lines))


@app.command("status")
def status(
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help=(
                "The sandbox's URL. Default: google.endpoint of the config, else "
                f"http://127.0.0.1:{DEFAULT_PORT}/."
            ),
        ),
    ] = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Show a running sandbox: its tenant in figures, faults, quotas and calls answered."""
    settings = get_settings(config)
    where = url or settings.google.endpoint or f"http://127.0.0.1:{DEFAULT_PORT}/"
    try:
        answer = SandboxControl(where, timeout=10).status()
    except SandboxControlError as exc:
        fail(str(exc))
    if as_json:
        print_json(answer)
        return
    offset = float(answer.get("clockOffsetSeconds") or 0)
    counters = answer.get("counters", {})
    faults, quotas = answer.get("faults", {}), answer.get("quotas", {})
    limits = ", ".join(f"{k}={v}" for k, v in quotas.items() if v is not None) or "unlimited"
    rows = [
        ("url", answer.get("url")),
        ("tenant", f"{answer.get('domain')} (customer {answer.get('customerId')})"),
        ("admin", answer.get("admin")),
        ("devices", f"{answer.get('devices', 0):,} ({answer.get('devicesOnline', 0):,} online)"),
        ("users", f"{answer.get('users', 0):,} ({answer.get('deletedUsers', 0):,} deleted)"),
        ("org units", f"{answer.get('orgUnits', 0):,}"),
        ("policies", f"{answer.get('policies', 0):,}"),
        ("clock", f"+{offset / 3600:,.1f} h ahead of real time" if offset else "real time"),
        (
            "faults",
            f"error rate {faults.get('error_rate', 0)}, latency {faults.get('latency_ms', 0)} ms,"
            f" drop rate {faults.get('drop_rate', 0)}",
        ),
        ("quotas", limits),
        ("calls", f"{counters.get('total', 0):,} answered, {counters.get('batches', 0):,} batches"),
        ("state", answer.get("stateFile") or "(in memory only)"),
    ]
    for name, value in rows:
        _say(Text.assemble((f"{name:<10}", "bold"), f" {value}"))
