"""Installed-app OAuth clients and the refresh tokens they hold, as admin tools use them.

Admin command-line tools authenticate as an admin through an OAuth client of the "installed
app" kind: the admin consents once, the tool keeps a refresh token, and exchanges it at the token
endpoint (``grant_type=refresh_token`` with the client's id and secret) for an hour-long access
token that acts as that admin. The sandbox skips the consent screen: ``fleetsync sandbox serve
--oauth-client-out FILE`` writes the client (Google's ``installed`` client-secrets JSON) and a
refresh token for the tenant's admin (google-auth's ``authorized_user`` JSON) ready to use.

Refresh tokens are kept only as SHA-256 digests, so the state file never holds one; each
``serve`` issues a new one (Google keeps up to 100 per client and user, dropping the oldest).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_REFRESH_TOKENS", "OAuthClient", "OAuthClients", "RefreshGrant"]

#: Google's limit of live refresh tokens per client and user; the oldest goes first.
MAX_REFRESH_TOKENS = 100


@dataclass(frozen=True)
class OAuthClient:
    """An OAuth client of the installed-app kind (a "Desktop app" in the Cloud console)."""

    client_id: str
    client_secret: str
    project_id: str

    @classmethod
    def generate(cls, project_id: str) -> OAuthClient:
        number = str(secrets.randbelow(10**12)).rjust(12, "1")
        label = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(32))
        return cls(
            client_id=f"{number}-{label}.apps.googleusercontent.com",
            client_secret="GOCSPX-" + secrets.token_urlsafe(21),
            project_id=project_id,
        )

    def client_secrets(self, token_uri: str) -> dict[str, Any]:
        """The client-secrets JSON the Cloud console hands out, its token_uri the sandbox's."""
        return {
            "installed": {
                "client_id": self.client_id,
                "project_id": self.project_id,
                "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                "token_uri": token_uri,
                "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
                "client_secret": self.client_secret,
                "redirect_uris": ["http://localhost"],
            }
        }

    def authorized_user(self, token_uri: str, refresh_token: str) -> dict[str, Any]:
        """google-auth's ``authorized_user`` file: what a tool keeps after the admin consented
        (``google.oauth2.credentials.Credentials.from_authorized_user_file`` reads it)."""
        return {
            "type": "authorized_user",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": refresh_token,
            "token_uri": token_uri,
            "universe_domain": "googleapis.com",
        }


@dataclass(frozen=True)
class RefreshGrant:
    """What one refresh token stands for: a client, the user who consented, the scopes."""

    client_id: str
    subject: str
    scopes: frozenset[str]
    issued: float


def _digest(refresh_token: str) -> str:
    return hashlib.sha256(refresh_token.encode("utf-8")).hexdigest()


class OAuthClients:
    """The tenant's installed-app clients and the refresh tokens issued to them."""

    def __init__(self) -> None:
        self.clients: dict[str, OAuthClient] = {}
        self._grants: dict[str, RefreshGrant] = {}
        self._lock = threading.Lock()

    def installed_client(self, project_id: str) -> OAuthClient:
        """The tenant's installed-app client (made on first use, then always the same)."""
        with self._lock:
            if not self.clients:
                client = OAuthClient.generate(project_id)
                self.clients[client.client_id] = client
            return next(iter(self.clients.values()))

    def issue_refresh_token(
        self, client: OAuthClient, subject: str, scopes: frozenset[str], now: float
    ) -> str:
        token = "1//" + secrets.token_urlsafe(72)
        grant = RefreshGrant(client.client_id, subject.lower(), scopes, now)
        with self._lock:
            self._grants[_digest(token)] = grant
            same = [
                digest
                for digest, g in self._grants.items()
                if (g.client_id, g.subject) == (grant.client_id, grant.subject)
            ]
            for digest in same[:-MAX_REFRESH_TOKENS]:
                del self._grants[digest]
        return token

    def grant_for(self, refresh_token: str) -> RefreshGrant | None:
        with self._lock:
            return self._grants.get(_digest(refresh_token))

    # ----------------------------------------------------------------------- state
    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "clients": [vars(client) for client in self.clients.values()],
                "refreshTokens": [
                    {
                        "sha256": digest,
                        "clientId": grant.client_id,
                        "subject": grant.subject,
                        "scopes": sorted(grant.scopes),
                        "issued": grant.issued,
                    }
                    for digest, grant in self._grants.items()
                ],
            }

    def load(self, raw: dict[str, Any]) -> None:
        with self._lock:
            for item in raw.get("clients", []):
                client = OAuthClient(**item)
                self.clients[client.client_id] = client
            for item in raw.get("refreshTokens", []):
                self._grants[item["sha256"]] = RefreshGrant(
                    client_id=item["clientId"],
                    subject=item["subject"],
                    scopes=frozenset(item["scopes"]),
                    issued=float(item["issued"]),
                )
