"""Google's errors, mapped to fleetsync's by ``reason`` (never by HTTP status alone).

Grab n Go mapped every 412 to "already disabled"; a 412 also means a delinquent account. Here the
reason (Directory API: ``error.errors[].reason``; Chrome Policy: ``error.status`` and
``error.details[].reason``) decides, and the status only breaks ties.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from typing import Any

import httplib2
from google.auth.exceptions import RefreshError, TransportError
from googleapiclient.errors import HttpError

__all__ = [
    "GoogleAuthError",
    "GoogleBadResponse",
    "GoogleConditionNotMet",
    "GoogleDuplicate",
    "GoogleError",
    "GoogleInvalidRequest",
    "GoogleNotFound",
    "GoogleOutcomeUnknown",
    "GooglePermissionDenied",
    "GoogleRateLimited",
    "GoogleTransportError",
    "GoogleUnavailable",
    "GoogleUserNotReady",
    "from_exception",
    "from_response",
]

#: Reasons that mean "slow down": the call was refused before it did anything.
RATE_LIMIT_REASONS = frozenset(
    {"userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded", "RESOURCE_EXHAUSTED"}
)
BACKEND_REASONS = frozenset(
    {"backendError", "internalError", "serviceUnavailable", "INTERNAL", "UNAVAILABLE"}
)
#: ``orgunits.insert`` of an org unit that exists is answered 400 ``invalid`` "Invalid Ou Id",
#: not 409 ``duplicate`` (GAM reads that answer as "already exists"; so do other Directory
#: clients). The same words can follow a name Google will not take: the caller checks.
_ORG_UNIT_INSERT = "directory.orgunits.insert"
_ORG_UNIT_EXISTS = "invalid ou id"


class GoogleError(Exception):
    """A call to Google failed. ``retryable`` says whether trying again later can help."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        status: int | None = None,
        reason: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.status = status
        self.reason = reason
        self.retry_after = retry_after

    def __str__(self) -> str:
        where = f"{self.method}: " if self.method else ""
        code = f" (HTTP {self.status}, {self.reason})" if self.status else ""
        return f"{where}{self.message}{code}"


class GoogleRateLimited(GoogleError):
    """Quota or concurrency limit: wait (``retry_after`` when Google said) and try again."""

    retryable = True


class GoogleUnavailable(GoogleError):
    """Google's backend failed (5xx). Retryable, but a non-idempotent call may have happened."""

    retryable = True


class GoogleTransportError(GoogleError):
    """The connection failed or timed out: Google may or may not have seen the call."""

    retryable = True


class GoogleUserNotReady(GoogleError):
    """A new user is still propagating ("User creation is not complete"): try again shortly."""

    retryable = True


class GoogleNotFound(GoogleError):
    """The device, user, org unit or command does not exist in Google."""


class GoogleDuplicate(GoogleError):
    """The resource already exists (``users.insert`` of a taken address)."""


class GoogleInvalidRequest(GoogleError):
    """Google refused the request as malformed: a fleetsync bug or bad data in the ledger."""


class GoogleConditionNotMet(GoogleError):
    """412: a precondition failed (e.g. no licence left to re-enable, delinquent account)."""


class GooglePermissionDenied(GoogleError):
    """401/403 not about quota: the service account lacks a scope or the admin a privilege."""


class GoogleAuthError(GoogleError):
    """The token exchange was refused: the key, the admin subject or the delegated scopes."""


class GoogleBadResponse(GoogleError):
    """Google answered with something fleetsync cannot read (validated with pydantic)."""


class GoogleOutcomeUnknown(GoogleError):
    """A non-idempotent call (``issueCommand``, ``users.insert``) failed in a way that leaves
    unknown whether Google carried it out. The caller must look before issuing it again."""


def _parse_body(content: bytes) -> dict[str, Any]:
    try:
        data = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


def _reason_of(error: dict[str, Any]) -> str:
    errors = error.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        reason = errors[0].get("reason")
        if isinstance(reason, str) and reason:
            return reason
    details = error.get("details")
    if isinstance(details, list):
        for detail in details:
            if isinstance(detail, dict) and isinstance(detail.get("reason"), str):
                return str(detail["reason"])
    status = error.get("status")
    return status if isinstance(status, str) else ""


def _retry_after(headers: Any) -> float | None:
    value = None
    if headers is not None:
        value = headers.get("retry-after") or headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return None  # an HTTP-date: rare from Google; our backoff applies instead


def from_response(
    status: int, content: bytes, headers: Any = None, *, method: str = ""
) -> GoogleError:
    """Map one HTTP error answer (a whole call or a batch part) to a :class:`GoogleError`."""
    error = _parse_body(content)
    reason = _reason_of(error)
    message = str(error.get("message") or "").strip() or f"HTTP {status}"
    kwargs: dict[str, Any] = {
        "method": method,
        "status": status,
        "reason": reason,
        "retry_after": _retry_after(headers),
    }
    if reason in RATE_LIMIT_REASONS or status == 429:
        return GoogleRateLimited(message, **kwargs)
    if "user creation is not complete" in message.lower():
        return GoogleUserNotReady(message, **kwargs)
    if status >= 500 or reason in BACKEND_REASONS:
        return GoogleUnavailable(message, **kwargs)
    if reason == "duplicate" or status == 409:
        return GoogleDuplicate(message, **kwargs)
    if method == _ORG_UNIT_INSERT and reason == "invalid" and _ORG_UNIT_EXISTS in message.lower():
        return GoogleDuplicate(message, **kwargs)
    if reason in {"notFound", "resourceNotFound", "NOT_FOUND"} or status == 404:
        return GoogleNotFound(message, **kwargs)
    if status == 412 or reason == "conditionNotMet":
        return GoogleConditionNotMet(message, **kwargs)
    if status in {401, 403}:
        return GooglePermissionDenied(message, **kwargs)
    if status == 400:
        return GoogleInvalidRequest(message, **kwargs)
    return GoogleError(message, **kwargs)


_TRANSPORT_ERRORS = (
    socket.timeout,
    TimeoutError,
    ConnectionError,
    http.client.HTTPException,
    httplib2.HttpLib2Error,
    ssl.SSLError,
    OSError,
)


def from_exception(exc: BaseException, *, method: str = "") -> GoogleError | None:
    """Map what googleapiclient / httplib2 / google-auth raise; ``None`` if it is not Google's."""
    if isinstance(exc, GoogleError):
        return exc
    if isinstance(exc, HttpError):
        return from_response(int(exc.resp.status), exc.content, exc.resp, method=method)
    if isinstance(exc, RefreshError):
        return _auth_error(exc, method)
    if isinstance(exc, TransportError):
        return GoogleTransportError(f"token exchange failed: {exc}", method=method)
    if isinstance(exc, _TRANSPORT_ERRORS):
        return GoogleTransportError(
            f"connection to Google failed: {type(exc).__name__}: {exc}", method=method
        )
    return None


def _auth_error(exc: RefreshError, method: str) -> GoogleError:
    # google-auth puts Google's OAuth error into args: ("unauthorized_client: ...", {json}).
    text = str(exc.args[0]) if exc.args else str(exc)
    body = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
    code = str(body.get("error", text.split(":", 1)[0]))
    if getattr(exc, "retryable", False):
        return GoogleUnavailable(f"token exchange failed: {text}", method=method, reason=code)
    hint = {
        "unauthorized_client": (
            "the service account is not authorised for the requested scopes: in the Admin "
            "console, Security → API controls → Domain-wide delegation, give its client id "
            "exactly the scopes listed in credentials.example/README.md"
        ),
        "invalid_grant": (
            "the key was refused or the admin subject is not an admin of the tenant: check "
            "[google] key_file and [google] admin_subject, and that the key is not revoked"
        ),
        "invalid_client": "the key file's client is unknown: download a fresh key",
    }.get(code, "check the key file and the domain-wide delegation")
    return GoogleAuthError(f"token exchange refused ({text}); {hint}", method=method, reason=code)
