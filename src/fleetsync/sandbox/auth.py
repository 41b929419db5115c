"""OAuth 2.0 as Google runs it for a service account with domain-wide delegation, and for the
installed-app clients admin tools use.

The tenant has one service account with an RSA key. ``POST /token`` takes google-auth's
JWT-bearer grant, verifies the RS256 signature with the account's public key, checks ``iss``,
``aud`` and ``iat``/``exp``; with a ``sub`` (domain-wide delegation) the subject must be an active
user and every requested scope delegated, without one the token acts as the service account
itself, which is no admin: Google issues it, and the APIs refuse the calls that need delegation.
It also takes the ``refresh_token`` grant of an installed-app client (``oauth_clients.py``): the
token acts as the user who consented. It answers with an opaque bearer token valid for an hour,
or with Google's ``invalid_grant`` / ``invalid_client`` / ``unauthorized_client`` /
``invalid_scope`` / ``invalid_request`` bodies. Every API call then needs that token and a scope
the discovery document lists for the method.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from fleetsync.sandbox.errors import ApiError
from fleetsync.sandbox.oauth_clients import OAuthClients

__all__ = [
    "GOOGLE_TOKEN_AUDIENCES",
    "TOKEN_LIFETIME_SECONDS",
    "Principal",
    "ServiceAccount",
    "TokenIssuer",
    "check_scopes",
]

TOKEN_LIFETIME_SECONDS = 3600
#: google-auth always signs ``aud = https://oauth2.googleapis.com/token`` whatever the key file's
#: ``token_uri`` says; Google accepts its historical token URLs too. The sandbox's own URL is added.
GOOGLE_TOKEN_AUDIENCES = frozenset(
    {
        "https://oauth2.googleapis.com/token",
        "https://accounts.google.com/o/oauth2/token",
        "https://www.googleapis.com/oauth2/v4/token",
    }
)
_CLOCK_SKEW_SECONDS = 300
_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_REFRESH = "refresh_token"
_BAD_TIME = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
    "Check your iat and exp values in the JWT claim."
)
_UNAUTHORIZED = (
    "Client is unauthorized to retrieve access tokens using this method, or client not "
    "authorized for any of the scopes requested."
)
_AUTH_HELP = (
    "Expected OAuth 2 access token, login cookie or other valid authentication credential. "
    "See https://developers.google.com/identity/sign-in/web/devconsole-project."
)


@dataclass(frozen=True)
class ServiceAccount:
    """The tenant's service account: what its JSON key file holds."""

    private_key_pem: str
    key_id: str
    client_email: str
    client_id: str
    project_id: str

    @classmethod
    def generate(cls, project_id: str = "fleetsync-sandbox") -> ServiceAccount:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls.from_pem(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode("ascii"),
            project_id=project_id,
        )

    @classmethod
    def from_pem(cls, pem: str, *, project_id: str = "fleetsync-sandbox") -> ServiceAccount:
        key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
        der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        key_id = hashlib.sha1(der, usedforsecurity=False).hexdigest()
        client_id = str(int(key_id[:16], 16)).rjust(21, "1")[:21]
        return cls(
            private_key_pem=pem,
            key_id=key_id,
            client_email=f"fleetsync@{project_id}.iam.gserviceaccount.com",
            client_id=client_id,
            project_id=project_id,
        )

    def public_key(self) -> rsa.RSAPublicKey:
        return _public_key(self.private_key_pem)

    def key_file(self, token_uri: str) -> dict[str, str]:
        """The JSON key file Google's Cloud console would hand out, its token_uri replaced."""
        return {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self.key_id,
            "private_key": self.private_key_pem,
            "client_email": self.client_email,
            "client_id": self.client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": (
                "https://www.googleapis.com/robot/v1/metadata/x509/"
                + self.client_email.replace("@", "%40")
            ),
            "universe_domain": "googleapis.com",
        }


@lru_cache(maxsize=32)
def _public_key(pem: str) -> rsa.RSAPublicKey:
    # Loading a private key checks it (about 80 ms); a test run starts hundreds of sandboxes
    # that share one key.
    key = serialization.load_pem_private_key(pem.encode("ascii"), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key.public_key()


@dataclass(frozen=True)
class Principal:
    """Who an access token acts for, with which scopes, until when (real time)."""

    subject: str
    scopes: frozenset[str]
    expires: float


class _Refused(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.body = {"error": error, "error_description": description}


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class TokenIssuer:
    """The token endpoint and the bearer tokens it issued."""

    def __init__(
        self,
        account: ServiceAccount,
        *,
        delegated_scopes: Callable[[], frozenset[str]],
        subject_exists: Callable[[str], bool],
        oauth_clients: OAuthClients | None = None,
    ) -> None:
        self.account = account
        self._delegated_scopes = delegated_scopes
        self._subject_exists = subject_exists
        self._oauth_clients = oauth_clients or OAuthClients()
        self._public_key = account.public_key()
        self._tokens: dict[str, Principal] = {}
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- token endpoint
    def exchange(
        self, form: dict[str, str], token_uri: str, *, authorization: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Answer one ``POST /token``: (HTTP status, JSON body). ``authorization`` is the
        request's Authorization header (a client may send its id and secret as HTTP Basic)."""
        grant_type = form.get("grant_type", "")
        try:
            if grant_type == _JWT_BEARER:
                principal = self._jwt_grant(form, token_uri)
            elif grant_type == _REFRESH:
                principal = self._refresh_grant(form, authorization)
            else:
                raise _Refused(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        except _Refused as refused:
            return refused.status, refused.body
        token = "ya29.sandbox." + secrets.token_urlsafe(48)
        with self._lock:
            now = time.time()
            self._tokens = {t: p for t, p in self._tokens.items() if p.expires > now}
            self._tokens[token] = principal
        answer: dict[str, Any] = {
            "access_token": token,
            "expires_in": TOKEN_LIFETIME_SECONDS - 1,
            "token_type": "Bearer",
        }
        if grant_type == _REFRESH:
            answer["scope"] = " ".join(sorted(principal.scopes))
        return 200, answer

    def _refresh_grant(self, form: dict[str, str], authorization: str | None) -> Principal:
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        scheme, _, credentials = (authorization or "").partition(" ")
        if scheme.lower() == "basic" and not client_id:
            try:
                decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
            except (ValueError, binascii.Error):
                decoded = ""
            client_id, _, client_secret = decoded.partition(":")
        if not client_id:
            raise _Refused(400, "invalid_request", "Could not determine client ID from request.")
        client = self._oauth_clients.clients.get(client_id)
        if client is None:
            raise _Refused(401, "invalid_client", "The OAuth client was not found.")
        if not secrets.compare_digest(client_secret, client.client_secret):
            raise _Refused(401, "invalid_client", "Unauthorized")
        refresh_token = form.get("refresh_token", "")
        if not refresh_token:
            raise _Refused(400, "invalid_request", "Missing required parameter: refresh_token")
        grant = self._oauth_clients.grant_for(refresh_token)
        if grant is None or grant.client_id != client_id:
            raise _Refused(400, "invalid_grant", "Bad Request")
        if not self._subject_exists(grant.subject):
            raise _Refused(400, "invalid_grant", "Token has been expired or revoked.")
        asked = frozenset(form.get("scope", "").split()) or grant.scopes
        if not asked <= grant.scopes:
            invalid = ", ".join(sorted(asked - grant.scopes))
            raise _Refused(
                400,
                "invalid_scope",
                f"Some requested scopes were not granted by the user: [{invalid}]",
            )
        return Principal(
            subject=grant.subject, scopes=asked, expires=time.time() + TOKEN_LIFETIME_SECONDS
        )

    def _jwt_grant(self, form: dict[str, str], token_uri: str) -> Principal:
        assertion = form.get("assertion", "")
        claims = self._verified_claims(assertion)
        if claims.get("iss") != self.account.client_email:
            raise _Refused(400, "invalid_grant", "Invalid grant: account not found")
        audience = claims.get("aud")
        if audience not in GOOGLE_TOKEN_AUDIENCES and audience != token_uri:
            raise _Refused(
                400,
                "invalid_grant",
                "Invalid JWT: Failed audience check. The right audience is "
                "https://oauth2.googleapis.com/token",
            )
        now = time.time()
        issued, expires = claims.get("iat"), claims.get("exp")
        if (
            not isinstance(issued, int | float)
            or not isinstance(expires, int | float)
            or issued > now + _CLOCK_SKEW_SECONDS
            or expires < now - _CLOCK_SKEW_SECONDS
            or expires - issued > TOKEN_LIFETIME_SECONDS
        ):
            raise _Refused(400, "invalid_grant", _BAD_TIME)
        scopes = frozenset(str(claims.get("scope") or "").split())
        if not scopes:
            raise _Refused(
                400, "invalid_scope", "Invalid OAuth scope or ID token audience provided."
            )
        subject = str(claims.get("sub") or "")
        if not subject:
            # Without delegation the account acts as itself: Google issues the token (the
            # delegated scopes do not apply), and the APIs refuse it as no admin of the tenant.
            return Principal(
                subject=self.account.client_email,
                scopes=scopes,
                expires=now + TOKEN_LIFETIME_SECONDS,
            )
        if not self._subject_exists(subject):
            raise _Refused(400, "invalid_grant", "Invalid email or User ID")
        if not scopes <= self._delegated_scopes():
            raise _Refused(401, "unauthorized_client", _UNAUTHORIZED)
        return Principal(
            subject=subject.lower(), scopes=scopes, expires=now + TOKEN_LIFETIME_SECONDS
        )

    def _verified_claims(self, assertion: str) -> dict[str, Any]:
        parts = assertion.split(".")
        if len(parts) != 3:
            raise _Refused(
                400, "invalid_grant", "Invalid JWT: not a signed JWT (header.claims.sig)"
            )
        try:
            header = json.loads(_b64decode(parts[0]))
            claims = json.loads(_b64decode(parts[1]))
            signature = _b64decode(parts[2])
        except (ValueError, binascii.Error):
            raise _Refused(400, "invalid_grant", "Invalid JWT: cannot be decoded") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise _Refused(400, "invalid_grant", "Invalid JWT: cannot be decoded")
        if header.get("alg") != "RS256" or header.get("kid", self.account.key_id) != (
            self.account.key_id
        ):
            raise _Refused(400, "invalid_grant", "Invalid JWT Signature.")
        signed = f"{parts[0]}.{parts[1]}".encode("ascii")
        try:
            self._public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise _Refused(400, "invalid_grant", "Invalid JWT Signature.") from None
        return claims

    # ------------------------------------------------------------------- API calls
    def authenticate(self, authorization: str | None, query_token: str | None) -> Principal:
        """The principal behind a call's bearer token, or Google's 401."""
        token = query_token
        if authorization:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() == "bearer":
                token = value.strip()
        if not token:
            raise ApiError(
                401,
                "required",
                "Request is missing required authentication credential. " + _AUTH_HELP,
                location="Authorization",
                location_type="header",
            )
        principal = self._tokens.get(token)
        if principal is None or principal.expires <= time.time():
            raise ApiError(
                401,
                "authError",
                "Request had invalid authentication credentials. " + _AUTH_HELP,
                location="Authorization",
                location_type="header",
            )
        return principal

    def revoke_all(self) -> int:
        """Forget every issued token (clients must exchange new ones, as after a key rotation)."""
        with self._lock:
            count = len(self._tokens)
            self._tokens.clear()
        return count


def check_scopes(principal: Principal, allowed: frozenset[str]) -> None:
    """Google's 403 when the token carries none of the scopes the method accepts."""
    if allowed and not (principal.scopes & allowed):
        raise ApiError(
            403, "insufficientPermissions", "Request had insufficient authentication scopes."
        )
