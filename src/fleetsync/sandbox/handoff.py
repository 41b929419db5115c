"""What the sandbox hands out: the tenant's key file and a config that points at it for fleetsync,
an installed-app OAuth client and an admin's refresh token for other admin tools.

The key file is a service-account key as Google's Cloud console hands it out, its ``token_uri``
replaced by the sandbox's. The config names the endpoint, the key, the customer, the admin to act
as, and an SQLite ledger next to the config file. The sandbox knows nothing of fleetsync's settings:
``fleetsync sandbox serve --write-config`` checks the written file with fleetsync's own loader
(``cli/sandbox.py``), and every test loads the config it had written.

Given a ``base`` (the settings of a real deployment), the written config is that one with only
the Google connection and the ledger replaced: ICT rehearses its own org units, policies and
safety limits against the sandbox, and never touches the production ledger while doing so.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fleetsync.sandbox.discovery import SERVED_APIS, bundled_document
from fleetsync.sandbox.tenant import Tenant

__all__ = [
    "admin_tool_scopes",
    "authorized_user_path",
    "config_document",
    "to_toml",
    "write_config",
    "write_key_file",
    "write_oauth_client",
]


def _write_secret(path: Path, data: Mapping[str, Any]) -> Path:
    """Write JSON only its owner can read (mode 0600, from the first byte on)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(json.dumps(data, indent=2) + "\n")
    os.chmod(path, 0o600)
    return path


def write_key_file(tenant: Tenant, token_uri: str, path: Path) -> Path:
    """Write the tenant's service-account key (mode 0600: it is a private key)."""
    return _write_secret(path, tenant.account.key_file(token_uri))


def admin_tool_scopes() -> frozenset[str]:
    """Every scope of the admin APIs the sandbox serves (not Gmail's: an admin tool reads no
    mail): what an admin consents to for a tool."""
    return frozenset(
        scope
        for api in SERVED_APIS
        if api != "gmail"
        for scope in bundled_document(api).get("auth", {}).get("oauth2", {}).get("scopes", {})
    )


def authorized_user_path(client_file: Path) -> Path:
    """Where ``write_oauth_client`` puts the admin's refresh token: beside the client."""
    return client_file.with_name(client_file.stem + ".authorized-user.json")


def write_oauth_client(tenant: Tenant, token_uri: str, path: Path) -> tuple[Path, Path]:
    """Write the tenant's installed-app OAuth client (Google's client-secrets JSON) to ``path``
    and a new refresh token for the tenant's admin, with every scope of the served APIs
    (google-auth's authorized-user JSON), beside it. Both mode 0600: they are credentials."""
    with tenant.lock:
        client = tenant.oauth.installed_client(tenant.account.project_id)
        refresh_token = tenant.oauth.issue_refresh_token(
            client, tenant.admin, admin_tool_scopes(), tenant.clock.now()
        )
        tenant.touch()  # the new grant is saved with --state
    client_file = _write_secret(path, client.client_secrets(token_uri))
    token_file = _write_secret(
        authorized_user_path(path), client.authorized_user(token_uri, refresh_token)
    )
    return client_file, token_file


def _merge(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def config_document(
    tenant: Tenant,
    *,
    url: str,
    key_file: Path,
    directory: Path,
    base: Mapping[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """The settings (as TOML-ready data) of a fleetsync that runs against this sandbox."""
    directory = directory.resolve()
    document: dict[str, Any] = {
        "data_dir": str(directory),
        "database_url": f"sqlite:///{directory / 'fleetsync.db'}",
        "google": {
            "endpoint": url,
            "key_file": str(key_file.resolve()),
            "admin_subject": tenant.admin,
            "customer": "my_customer",
        },
        "accounts": {"domain": tenant.domain},
    }
    return _merge(_merge(dict(base or {}), document), overrides)


def write_config(
    tenant: Tenant,
    path: Path,
    *,
    url: str,
    key_file: Path,
    base: Mapping[str, Any] | None = None,
    **overrides: Any,
) -> Path:
    """Write a fleetsync config for this sandbox (checked by whoever loads it, not here)."""
    document = config_document(
        tenant, url=url, key_file=key_file, directory=path.parent, base=base, **overrides
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "# fleetsync pointed at the sandbox, written by `fleetsync sandbox serve --write-config`.\n"
        "# Every setting is documented in config/fleetsync.example.toml.\n\n"
    )
    # Mode 0600 from the first byte: a rehearsed config carries the desks' webhook secrets.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(header + to_toml(document))
    os.chmod(path, 0o600)
    return path


# ------------------------------------------------------------------------- TOML
def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML: {value!r}")


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def to_toml(data: Mapping[str, Any], prefix: str = "") -> str:
    """A small TOML writer for settings: scalars and lists, then one table per section."""
    lines = [f"{_key(k)} = {_value(v)}" for k, v in data.items() if not isinstance(v, Mapping)]
    text = "\n".join(lines) + ("\n" if lines else "")
    for key, value in data.items():
        if isinstance(value, Mapping):
            name = f"{prefix}{_key(key)}"
            text += f"\n[{name}]\n" + to_toml(value, prefix=name + ".")
    return text
