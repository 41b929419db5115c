"""Run the sandbox in-process for a test: a fresh tenant on a free port, its key file, its config.

    with running_sandbox(fleet="agency") as sandbox:
        settings = load_settings(sandbox.write_config(tmp_path / "fleetsync.toml"))
        directory = sandbox.directory()          # googleapiclient, real HTTP, real token
        sandbox.control.online(all=True)         # the control surface
        sandbox.tenant.devices.by_id[...]        # the state itself, for assertions

The tenant's RSA key is generated once per process and shared by every sandbox a test run starts
(generating one takes longer than starting a server).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import google_auth_httplib2
import httplib2
from google.auth import crypt
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.http import BatchHttpRequest

from fleetsync.sandbox.auth import ServiceAccount
from fleetsync.sandbox.control import SandboxControl
from fleetsync.sandbox.faults import Faults, Quotas
from fleetsync.sandbox.handoff import write_config, write_key_file
from fleetsync.sandbox.seed import seeded_tenant
from fleetsync.sandbox.server import SandboxServer
from fleetsync.sandbox.tenant import Tenant
from fleetsync.scopes import GMAIL_SEND_SCOPE, GOOGLE_SCOPES

__all__ = ["RunningSandbox", "running_sandbox", "shared_account"]


@cache
def shared_account() -> ServiceAccount:
    return ServiceAccount.generate()


@lru_cache(maxsize=8)
def _signer(private_key: str, key_id: str) -> crypt.RSASigner:
    # Parsing the key is most of the cost of a client (about 50 ms); tests build hundreds.
    signer: crypt.RSASigner = crypt.RSASigner.from_string(private_key, key_id)
    return signer


@dataclass
class RunningSandbox:
    server: SandboxServer
    key_file: Path
    directory_path: Path
    #: Every HTTP client handed out, closed when the sandbox stops (no socket left dangling).
    _clients: list[httplib2.Http | google_auth_httplib2.AuthorizedHttp] = field(
        default_factory=list
    )

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def token_uri(self) -> str:
        return self.server.token_uri

    @property
    def tenant(self) -> Tenant:
        return self.server.tenant

    @property
    def admin(self) -> str:
        return self.tenant.admin

    @property
    def customer_id(self) -> str:
        return self.tenant.customer_id

    @property
    def domain(self) -> str:
        return self.tenant.domain

    @property
    def control(self) -> SandboxControl:
        return SandboxControl(self.url)

    def write_config(self, path: Path, **overrides: Any) -> Path:
        """A fleetsync TOML config pointing at this sandbox (``overrides`` merge into it).

        Not checked here (the sandbox reads no fleetsync settings): ``load_settings`` it."""
        return write_config(self.tenant, path, url=self.url, key_file=self.key_file, **overrides)

    # ------------------------------------------------- Google's own clients, pointed here
    def credentials(
        self, scopes: Sequence[str] = GOOGLE_SCOPES, subject: str | None = None
    ) -> service_account.Credentials:
        """Credentials from the written key file, as ``from_service_account_file`` makes them."""
        info = json.loads(self.key_file.read_text(encoding="utf-8"))
        return service_account.Credentials(
            _signer(info["private_key"], info["private_key_id"]),
            info["client_email"],
            info["token_uri"],
            scopes=list(scopes),
            subject=subject or self.admin,
        )

    def http(
        self, scopes: Sequence[str] = GOOGLE_SCOPES, subject: str | None = None
    ) -> google_auth_httplib2.AuthorizedHttp:
        """An authorised connection (real token exchange), closed when the sandbox stops."""
        return self.authorized(self.credentials(scopes, subject))

    def authorized(self, credentials: Any) -> google_auth_httplib2.AuthorizedHttp:
        """A connection authorised by any google-auth credentials, closed when the sandbox
        stops."""
        http = google_auth_httplib2.AuthorizedHttp(credentials, http=self.raw_http())
        self._clients.append(http)
        return http

    def raw_http(self) -> httplib2.Http:
        """A plain connection without credentials, closed when the sandbox stops."""
        http = httplib2.Http(timeout=30)
        self._clients.append(http)
        return http

    def close_clients(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()

    def _build(self, api: str, version: str, **kwargs: Any) -> Any:
        return build(
            api,
            version,
            http=self.http(**kwargs),
            client_options={"api_endpoint": self.url},
            static_discovery=True,
            cache_discovery=False,
        )

    def discovered(
        self,
        api: str,
        version: str,
        *,
        form: str = "www",
        http: httplib2.Http | google_auth_httplib2.AuthorizedHttp | None = None,
        **kwargs: Any,
    ) -> Any:
        """``build(api, version)`` from the discovery document this sandbox serves, as a client
        that fetches it at start-up does: ``form="www"`` fetches
        ``/discovery/v1/apis/{api}/{apiVersion}/rest``, ``form="host"``
        ``/$discovery/rest?version={apiVersion}`` (Google's two URL templates). ``http`` is
        the authorised connection to use (default: the service account acting as the admin,
        with ``kwargs`` passed to :meth:`http`)."""
        templates = {
            "www": "discovery/v1/apis/{api}/{apiVersion}/rest",
            "host": "$discovery/rest?version={apiVersion}",
        }
        return build(
            api,
            version,
            http=http if http is not None else self.http(**kwargs),
            discoveryServiceUrl=self.url + templates[form],
            static_discovery=False,
            cache_discovery=False,
        )

    def directory(self, **kwargs: Any) -> Any:
        """``build("admin", "directory_v1")`` against this sandbox, as fleetsync builds it."""
        return self._build("admin", "directory_v1", **kwargs)

    def policy(self, **kwargs: Any) -> Any:
        """``build("chromepolicy", "v1")`` against this sandbox."""
        return self._build("chromepolicy", "v1", **kwargs)

    def gmail(self, mailbox: str, **kwargs: Any) -> Any:
        """``build("gmail", "v1")`` against this sandbox, acting as ``mailbox`` with the
        ``gmail.send`` scope (domain-wide delegation)."""
        return self._build("gmail", "v1", scopes=[GMAIL_SEND_SCOPE], subject=mailbox, **kwargs)

    def batch(self, callback: Callable[..., None] | None = None) -> BatchHttpRequest:
        """An HTTP batch aimed at this sandbox (``new_batch_http_request`` would aim at Google)."""
        return BatchHttpRequest(callback=callback, batch_uri=self.url + "batch")


@contextmanager
def running_sandbox(
    directory: Path | None = None,
    *,
    fleet: str | int | None = None,
    domain: str = "example.org",
    faults: Faults | None = None,
    quotas: Quotas | None = None,
    tenant: Tenant | None = None,
    state_file: Path | None = None,
) -> Iterator[RunningSandbox]:
    """A sandbox serving in a thread on a free port; stopped (connections closed) on exit.

    With ``state_file`` the tenant is saved there on exit (and on ``control.save()``)."""
    with tempfile.TemporaryDirectory(prefix="fleetsync-sandbox-") as scratch:
        where = directory or Path(scratch)
        tenant = tenant or seeded_tenant(fleet, domain=domain, account=shared_account())
        server = SandboxServer(tenant, faults=faults, quotas=quotas, state_file=state_file).start()
        try:
            key_file = write_key_file(tenant, server.token_uri, where / "service-account.json")
            running = RunningSandbox(server=server, key_file=key_file, directory_path=where)
            try:
                yield running
            finally:
                running.close_clients()
        finally:
            server.stop()
