"""Google's errors are mapped by reason, not by status alone."""

from __future__ import annotations

import json

import pytest

from fleetsync.google import errors as e


def directory_error(code: int, reason: str, message: str = "msg") -> bytes:
    return json.dumps(
        {
            "error": {
                "code": code,
                "message": message,
                "errors": [{"domain": "global", "reason": reason, "message": message}],
            }
        }
    ).encode()


def policy_error(code: int, status: str, message: str = "msg") -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "status": status}}).encode()


CASES = {
    "user-rate-limit": (
        403,
        directory_error(403, "userRateLimitExceeded"),
        e.GoogleRateLimited,
        True,
    ),
    "rate-limit-429": (429, directory_error(429, "rateLimitExceeded"), e.GoogleRateLimited, True),
    "quota-exceeded": (403, directory_error(403, "quotaExceeded"), e.GoogleRateLimited, True),
    "backend-error": (503, directory_error(503, "backendError"), e.GoogleUnavailable, True),
    "internal-error": (500, directory_error(500, "internalError"), e.GoogleUnavailable, True),
    "not-json-502": (502, b"<html>Bad Gateway</html>", e.GoogleUnavailable, True),
    "user-not-ready": (
        412,
        directory_error(412, "conditionNotMet", "User creation is not complete."),
        e.GoogleUserNotReady,
        True,
    ),
    # Grab n Go read every 412 as "already disabled"; a delinquent account is also a 412.
    "delinquent-412": (
        412,
        directory_error(412, "conditionNotMet", "Delinquent account."),
        e.GoogleConditionNotMet,
        False,
    ),
    "duplicate": (
        409,
        directory_error(409, "duplicate", "Entity already exists."),
        e.GoogleDuplicate,
        False,
    ),
    "not-found": (404, directory_error(404, "notFound"), e.GoogleNotFound, False),
    "missing-scope": (
        403,
        directory_error(403, "insufficientPermissions"),
        e.GooglePermissionDenied,
        False,
    ),
    "no-token": (401, directory_error(401, "required"), e.GooglePermissionDenied, False),
    "bad-request": (400, directory_error(400, "invalid"), e.GoogleInvalidRequest, False),
    "policy-invalid": (400, policy_error(400, "INVALID_ARGUMENT"), e.GoogleInvalidRequest, False),
    "policy-exhausted": (429, policy_error(429, "RESOURCE_EXHAUSTED"), e.GoogleRateLimited, True),
    "policy-unavailable": (503, policy_error(503, "UNAVAILABLE"), e.GoogleUnavailable, True),
}


@pytest.mark.parametrize(("status", "body", "kind", "retryable"), CASES.values(), ids=CASES)
def test_mapping_by_reason(
    status: int, body: bytes, kind: type[e.GoogleError], retryable: bool
) -> None:
    mapped = e.from_response(status, body, {}, method="directory.users.insert")
    assert type(mapped) is kind
    assert mapped.retryable is retryable
    assert mapped.status == status
    assert "directory.users.insert" in str(mapped)


ORG_UNIT_EXISTS = directory_error(400, "invalid", "Invalid Ou Id")


@pytest.mark.parametrize(
    ("method", "kind"),
    [
        pytest.param("directory.orgunits.insert", e.GoogleDuplicate, id="orgunits-insert"),
        pytest.param("directory.orgunits.patch", e.GoogleInvalidRequest, id="another-method"),
    ],
)
def test_an_org_unit_that_exists_is_a_duplicate_only_for_an_insert(
    method: str, kind: type[e.GoogleError]
) -> None:
    """Google answers orgunits.insert of an existing org unit 400 invalid "Invalid Ou Id"."""
    mapped = e.from_response(400, ORG_UNIT_EXISTS, {}, method=method)
    assert type(mapped) is kind
    assert not mapped.retryable


def test_retry_after_is_read() -> None:
    mapped = e.from_response(429, directory_error(429, "rateLimitExceeded"), {"retry-after": "7"})
    assert mapped.retry_after == 7.0


def test_transport_errors_are_retryable() -> None:
    mapped = e.from_exception(ConnectionResetError("reset by peer"), method="m")
    assert isinstance(mapped, e.GoogleTransportError)
    assert mapped.retryable


def test_foreign_exceptions_are_left_alone() -> None:
    assert e.from_exception(KeyError("x")) is None
