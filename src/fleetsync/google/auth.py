"""Service-account credentials with domain-wide delegation, for exactly fleetsync's four scopes."""

from __future__ import annotations

import json

from google.oauth2 import service_account

from fleetsync.google.keyfile import read_key_file
from fleetsync.settings import GOOGLE_SCOPES, ConfigError, GoogleSettings

__all__ = ["load_credentials"]


def load_credentials(settings: GoogleSettings) -> service_account.Credentials:
    """Credentials acting as ``admin_subject``. The token exchange goes to the key's ``token_uri``
    (Google's, or the sandbox's), so pointing fleetsync elsewhere changes nothing here."""
    if settings.key_file is None:
        raise ConfigError(
            "no service-account key configured: set [google] key_file (see "
            "credentials.example/README.md), or run against the sandbox: "
            "`fleetsync sandbox serve --write-config config/fleetsync.toml`"
        )
    if not settings.admin_subject:
        raise ConfigError(
            "no admin to act as: set [google] admin_subject to a Workspace admin's address"
        )
    read_key_file(settings.key_file)  # validated first: a clear error beats google-auth's
    info = json.loads(settings.key_file.read_text(encoding="utf-8"))
    credentials: service_account.Credentials = (
        service_account.Credentials.from_service_account_info(
            info, scopes=list(GOOGLE_SCOPES), subject=settings.admin_subject
        )
    )
    return credentials
