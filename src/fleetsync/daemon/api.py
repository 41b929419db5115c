"""The API, served, bound to the reconciler: the composition root that ``fleetsync serve``,
``fleetsync daemon`` and the demo share (``fleetsync.api`` itself never imports the Google side)."""

from __future__ import annotations

import contextlib
import errno
import socket
import threading
from collections.abc import Callable

import uvicorn

from fleetsync.api import create_app
from fleetsync.google import Google
from fleetsync.ledger import Ledger
from fleetsync.log import get_logger
from fleetsync.settings import ConfigError, Settings
from fleetsync.sync import drain_outbox

__all__ = ["listen", "reconciler_drain", "run_api"]

_log = get_logger(__name__)


def reconciler_drain(
    ledger: Ledger, settings: Settings, google: Google
) -> Callable[[threading.Event], int]:
    """The outbox drain: a targeted reconcile of the pending entries' devices and borrowers.
    Safe on several replicas at once: drains take the ledger's reconcile lock in turn."""

    def drain(stopping: threading.Event) -> int:
        return drain_outbox(ledger, settings, google=google, stop=stopping)

    return drain


def listen(host: str, port: int) -> socket.socket:
    """The API's listening socket, bound before anything else starts: a port in use (or an
    address this machine does not have) is a configuration error that names the port and how to
    choose another (exit 2), not uvicorn's log line and its start-up failure code."""
    where = f"{host}:{port}"
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise ConfigError(
            f"cannot listen on {where}: {host!r} is not an address of this machine "
            f"({exc.strerror}); give another with --host (or [api] host in the config)"
        ) from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            reason = (
                f"port {port} is in use (by another fleetsync, or another program: "
                f"`ss -ltnp 'sport = :{port}'` names it)"
            )
        elif exc.errno == errno.EACCES:
            reason = f"this user may not listen on port {port} (below 1024 needs privileges)"
        elif exc.errno == errno.EADDRNOTAVAIL:
            reason = f"{host} is not an address of this machine"
        else:
            reason = exc.strerror or str(exc)
        raise ConfigError(
            f"cannot listen on {where}: {reason}; choose another port with --port (or [api] "
            "port in the config)"
        ) from None
    return sock


def run_api(
    settings: Settings,
    ledger: Ledger,
    *,
    host: str | None,
    port: int | None,
    sock: socket.socket | None = None,
) -> None:
    """The API under uvicorn until SIGINT / SIGTERM, draining the outbox in the background.

    ``sock``: the socket :func:`listen` bound (the daemon binds it before its scheduler starts);
    by default it is bound here, before the connection to Google.

    Without a service-account key the API only records the desks' events and the daemon drains
    the outbox: an internet-facing replica need not hold the domain-wide delegation key."""
    host, port = host or settings.api.host, port or settings.api.port
    with contextlib.ExitStack() as stack:
        sock = stack.enter_context(sock or listen(host, port))
        drain = None
        if settings.google.key_file is not None:
            google = stack.enter_context(Google.connect(settings))
            drain = reconciler_drain(ledger, settings, google)
        else:
            _log.info("api.no_google_key", outbox="left to the daemon")
        app = create_app(settings, ledger, drain=drain)
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                # Logging stays as fleetsync configured it (structlog, secrets redacted);
                # uvicorn's access log names method, path and status, never a header or a body.
                log_config=None,
                server_header=False,
            )
        )
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=[sock])
        if not server.started:
            raise RuntimeError("the API did not start: its log above says why")
