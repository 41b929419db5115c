"""Logging: structlog, JSON lines when not on a terminal, readable console otherwise.

Secrets never reach a log line: a value of a secret type (``SecretStr``, a ``DatabaseUrl``, a
``SecretUrl``) is rendered in its masked form, and, as a net for secrets passed as plain strings,
any event key that names one (password, secret, token, key, authorization, ...) is replaced by
``'[redacted]'`` before rendering, whatever the caller passed.

Borrowers are people: a Workspace address is made of their names, so the local part of every
e-mail address in a logged value is masked (``…@example.org``), whoever logged it and however
Google's error message quoted it.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, Literal, TextIO, cast

import structlog
from pydantic import Secret, SecretBytes, SecretStr

__all__ = ["configure_logging", "get_logger", "redact"]

_SECRET_WORDS = (
    "password",
    "passwd",
    "secret",
    "token",
    "private_key",
    "authorization",
    "assertion",
    "credential",
    "api_key",
)
REDACTED = "[redacted]"
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})")


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def redact(value: Any) -> Any:
    """Mask secret types and replace the values of secret-looking keys, recursively."""
    if isinstance(value, Secret | SecretStr | SecretBytes):
        return str(value)
    if isinstance(value, Mapping):
        return {k: REDACTED if _is_secret_key(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(v) for v in value)
    if isinstance(value, str) and "@" in value:
        return _EMAIL.sub(r"…@\1", value)
    return value


def _redact_processor(
    _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key == "event":
            event_dict[key] = redact(event_dict[key])
            continue
        event_dict[key] = REDACTED if _is_secret_key(key) else redact(event_dict[key])
    return event_dict


class _CurrentStderr:
    """Whatever ``sys.stderr`` is at the time of writing, not at the time of configuring.

    Test runners and embedding hosts swap ``sys.stderr`` and close the old one; a logger that
    captured the stream at configure time would then crash on its next line.
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


class _CoalescedRuns(logging.Filter):
    """A job still running when its next run is due is skipped on purpose (jobs never
    overlap): not a warning an operator needs every few seconds."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


def configure_logging(
    level: str = "info",
    fmt: Literal["auto", "json", "console"] = "auto",
    stream: TextIO | None = None,
) -> None:
    """Configure structlog and the standard library's logging to write to ``stream`` (stderr)."""
    stream = stream or cast(TextIO, _CurrentStderr())
    use_console = fmt == "console" or (fmt == "auto" and stream.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact_processor,
    ]
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=stream.isatty())
        if use_console
        else structlog.processors.JSONRenderer(sort_keys=True)
    )
    numeric = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[*shared, renderer]
        if use_console
        else [*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    # Libraries that log through the standard library (uvicorn, apscheduler, alembic) go the same
    # way, rendered by structlog.
    handler: logging.StreamHandler[TextIO] = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # googleapiclient logs every URL at INFO/DEBUG, APScheduler every job it runs; fleetsync logs
    # what matters itself. Keep them quiet unless debugging.
    quiet = logging.WARNING if numeric > logging.DEBUG else numeric
    for noisy in ("googleapiclient.discovery", "googleapiclient.discovery_cache", "httplib2",
                  "apscheduler"):  # fmt: skip
        logging.getLogger(noisy).setLevel(quiet)
    scheduler = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, _CoalescedRuns) for f in scheduler.filters):
        scheduler.addFilter(_CoalescedRuns())


def get_logger(name: str | None = None, **initial: Any) -> Any:
    return structlog.get_logger(name, **initial)
