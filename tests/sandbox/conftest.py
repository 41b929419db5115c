"""Helpers for the sandbox suites: Google's clients on the sandbox, and fleetsync's error view."""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.errors import HttpError

from fleetsync.google.errors import GoogleError, from_exception
from fleetsync.sandbox.testing import RunningSandbox


@pytest.fixture
def directory(sandbox: RunningSandbox) -> Any:
    return sandbox.directory()


@pytest.fixture
def agency(agency_sandbox: RunningSandbox) -> Any:
    """The Directory API of the agency's tenant."""
    return agency_sandbox.directory()


def refusal(exc: BaseException, *, method: str = "") -> GoogleError:
    """What fleetsync makes of a failed call (its mapping by reason is the contract);
    ``method`` is the call's method id, as fleetsync's session passes it."""
    assert isinstance(exc, HttpError), f"expected Google's HttpError, got {exc!r}"
    mapped = from_exception(exc, method=method)
    assert mapped is not None
    return mapped


def policy_target(ou_id: str, **keys: str) -> dict[str, Any]:
    """A Chrome Policy ``policyTargetKey`` for an org unit (its id, without ``id:``)."""
    key: dict[str, Any] = {"targetResource": f"orgunits/{ou_id}"}
    if keys:
        key["additionalTargetKeys"] = keys
    return key
