"""Errors as Google answers them, in the two shapes its APIs use.

The Directory API speaks the older "apiary" shape (``error.errors[].reason``); the Chrome Policy
API the gRPC-transcoded one (``error.status`` plus ``error.details[]``). fleetsync's
``google/errors.py`` decides by those reasons, so they must be exactly Google's.
"""

from __future__ import annotations

from typing import Any, Literal

__all__ = ["STATUS_NAMES", "Api", "ApiError", "not_found"]

Api = Literal["admin", "chromepolicy", "gmail"]

#: HTTP status → the canonical gRPC status name Google puts in ``error.status``.
STATUS_NAMES: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
}

_RATE_REASONS = frozenset({"userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded"})


class ApiError(Exception):
    """One refusal: HTTP status, Google's reason, a message that says what to fix."""

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        location: str | None = None,
        location_type: str | None = None,
        retry_after: float | None = None,
        grpc_status: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.location = location
        self.location_type = location_type
        self.retry_after = retry_after
        self.grpc_status = grpc_status or STATUS_NAMES.get(status, "UNKNOWN")
        if reason in _RATE_REASONS:
            self.grpc_status = "RESOURCE_EXHAUSTED"

    def body(self, api: Api) -> dict[str, Any]:
        """The JSON body Google sends for this error on ``api``."""
        if api == "chromepolicy":
            return {"error": self._grpc_shape()}
        item: dict[str, Any] = {
            "message": self.message,
            "domain": "usageLimits" if self.reason in _RATE_REASONS else "global",
            "reason": self.reason,
        }
        if self.location:
            item["location"] = self.location
            item["locationType"] = self.location_type or "parameter"
        error: dict[str, Any] = {
            "code": self.status,
            "message": self.message,
            "errors": [item],
            "status": self.grpc_status,
        }
        if self.reason == "insufficientPermissions":
            error["details"] = [_error_info("ACCESS_TOKEN_SCOPE_INSUFFICIENT")]
        return {"error": error}

    def _grpc_shape(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.status,
            "message": self.message,
            "status": self.grpc_status,
        }
        if self.grpc_status == "RESOURCE_EXHAUSTED":
            error["details"] = [_error_info("RATE_LIMIT_EXCEEDED")]
        elif self.reason == "insufficientPermissions":
            error["details"] = [_error_info("ACCESS_TOKEN_SCOPE_INSUFFICIENT")]
        elif self.status == 400:
            violation: dict[str, str] = {"description": self.message}
            if self.location:
                violation["field"] = self.location
            error["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [violation],
                }
            ]
        return error


def _error_info(reason: str) -> dict[str, Any]:
    return {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": "googleapis.com",
    }


def not_found(what: str) -> ApiError:
    """Google's answer for an unknown device, user, org unit or command."""
    return ApiError(404, "notFound", f"Resource Not Found: {what}")
