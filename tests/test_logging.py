"""Logging: secrets never reach a line, and a swapped-out stderr never breaks a later line."""

from __future__ import annotations

import io
import json
import sys

import pytest

from fleetsync.log import configure_logging, get_logger


def test_a_closed_stderr_from_an_earlier_run_does_not_break_logging(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A CLI run inside a test runner gets a captured stderr that is closed afterwards; the next
    # log line must go to whatever stderr is now.
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging("info", "json")
    get_logger("t").info("first line")
    first.close()
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    get_logger("t").info("second line")
    assert json.loads(second.getvalue())["event"] == "second line"


def test_secret_values_are_redacted_whatever_the_caller_passes() -> None:
    out = io.StringIO()
    configure_logging("info", "json", stream=out)
    get_logger("t").info(
        "account created",
        initial_password="hunter2-Secret",
        body={"password": "p4ss", "primaryEmail": "a@example.org"},
        api_token="tok",
    )
    line = json.loads(out.getvalue())
    assert "hunter2" not in out.getvalue()
    assert "p4ss" not in out.getvalue()
    assert line["initial_password"] == "[redacted]"
    assert line["body"] == {"password": "[redacted]", "primaryEmail": "…@example.org"}
    assert line["api_token"] == "[redacted]"


def test_no_log_line_carries_a_borrower_s_address_whoever_logs_it() -> None:
    # A Workspace address is made of the borrower's names: personal data, kept out of the logs
    # even when Google's own error message quotes it.
    out = io.StringIO()
    configure_logging("info", "json", stream=out)
    get_logger("t").warning(
        "sync.action_failed for jan.peeters@leer.example.org",
        kind="create_account",
        target="jan.peeters@leer.example.org",
        error="409 duplicate: Entity already exists: Jan.Peeters2@leer.example.org",
        targets=["an.de-smet@leer.example.org"],
    )
    text = out.getvalue()
    line = json.loads(text)
    for local in ("jan.peeters", "Jan.Peeters2", "an.de-smet"):
        assert local not in text
    assert line["target"] == "…@leer.example.org"
    assert line["error"] == "409 duplicate: Entity already exists: …@leer.example.org"
