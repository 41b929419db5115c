"""A sandbox bug is answered as Google answers a failure of its own: HTTP 500 ``backendError``
in Google's error shape, with the traceback in the sandbox's log, never a dropped connection
(which a caller would take for a lost answer). Deliberate drops (``fail_next(status=0)``) still
drop."""

from __future__ import annotations

import json
import logging
from typing import Any

import httplib2
import pytest
from googleapiclient.errors import HttpError

from fleetsync.sandbox.calls import Call
from fleetsync.sandbox.routes import HANDLERS
from fleetsync.sandbox.testing import RunningSandbox
from tests.sandbox.conftest import refusal

METHOD = "directory.users.get"
#: What the buggy handler's exception says: an address, which no answer may repeat.
SECRET = "alice.secret@example.org"


def _buggy(call: Call) -> Any:
    raise KeyError(SECRET)


@pytest.fixture
def buggy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox's ``users.get`` handler with a bug in it (the sandbox is the test double)."""
    monkeypatch.setitem(HANDLERS, METHOD, _buggy)


def _get_admin(sandbox: RunningSandbox, directory: Any) -> Any:
    return directory.users().get(userKey=sandbox.admin).execute()


@pytest.mark.usefixtures("buggy")
def test_a_handler_bug_is_a_500_backend_error_in_googles_shape(
    sandbox: RunningSandbox, directory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.ERROR, logger="fleetsync.sandbox"),
        pytest.raises(HttpError) as raised,
    ):
        _get_admin(sandbox, directory)
    error = raised.value
    assert error.status_code == 500
    assert refusal(error, method=METHOD).reason == "backendError"
    body = json.loads(error.content)["error"]
    assert body["code"] == 500
    assert body["status"] == "INTERNAL"
    assert body["errors"][0]["reason"] == "backendError"
    assert "sandbox bug" in body["message"]
    assert "KeyError" in body["message"]
    assert SECRET not in error.content.decode("utf-8")
    # The traceback is in the sandbox's own log; the request log counts the call as a 500.
    [logged] = [r for r in caplog.records if r.name == "fleetsync.sandbox"]
    assert logged.exc_info is not None
    assert logged.exc_info[0] is KeyError
    [entry] = sandbox.control.log(method=METHOD)
    assert (entry["status"], entry["reason"]) == (500, "backendError")


def test_the_sandbox_serves_on_after_a_handler_bug(
    sandbox: RunningSandbox, directory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = HANDLERS[METHOD]
    monkeypatch.setitem(HANDLERS, METHOD, _buggy)
    with pytest.raises(HttpError):
        _get_admin(sandbox, directory)
    monkeypatch.setitem(HANDLERS, METHOD, original)
    assert _get_admin(sandbox, directory)["primaryEmail"] == sandbox.admin


@pytest.mark.usefixtures("buggy")
def test_a_handler_bug_in_a_batch_fails_only_its_part(
    sandbox: RunningSandbox, directory: Any
) -> None:
    # googleapiclient fetches a batch's first token over a connection it never closes.
    directory.orgunits().list(customerId="my_customer").execute()
    answers: dict[str, int] = {}

    def callback(request_id: str, response: Any, exception: HttpError | None) -> None:
        answers[request_id] = exception.status_code if exception is not None else 200

    batch = sandbox.batch(callback)
    batch.add(directory.users().get(userKey=sandbox.admin), request_id="buggy")
    batch.add(directory.orgunits().list(customerId="my_customer"), request_id="fine")
    batch.execute()
    assert answers == {"buggy": 500, "fine": 200}


def test_a_planned_drop_still_drops_the_answer(sandbox: RunningSandbox, directory: Any) -> None:
    # Two: httplib2 sends the request again once after a reset.
    sandbox.control.fail_next(METHOD, status=0, count=2)
    with pytest.raises((OSError, httplib2.HttpLib2Error)):  # no answer at all
        _get_admin(sandbox, directory)
    assert sandbox.control.counters()["dropped"] == 2
    assert [e["status"] for e in sandbox.control.log(method=METHOD)] == [200, 200]
