"""Events fleetsync sends to the loan desk: a signed POST (Standard Webhooks) to
``[daemon] overdue_webhook_url``. The URL is a capability (a secret): only its origin is ever
logged; user-info in it is sent as Basic auth."""

from __future__ import annotations

import base64
import http.client
import json
import urllib.request
import uuid
from typing import Any
from urllib.parse import unquote, urlsplit

from standardwebhooks.webhooks import Webhook

from fleetsync import clock
from fleetsync.log import get_logger
from fleetsync.settings import SecretUrl, Settings

__all__ = ["notify_desk"]

log = get_logger(__name__)


def notify_desk(
    settings: Settings, payload: dict[str, Any], *, logged_as: str = "daemon.desk"
) -> bool:
    """POST the event to the desk; ``True`` once the desk answered 2xx. ``False`` when no URL
    is configured or the desk could not be reached (the caller tries again later). Logged as
    ``<logged_as>_notified`` / ``<logged_as>_not_notified``."""
    url = settings.daemon.overdue_webhook_url
    if not url:
        return False
    body = json.dumps(payload, sort_keys=True, default=str)
    msg_id = f"msg_{uuid.uuid4().hex}"
    at = clock.machine_now()  # the signing time: the desk checks it against its own clock
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
    }
    secret = settings.daemon.overdue_webhook_secret
    if secret is not None:
        headers["webhook-signature"] = Webhook(secret.get_secret_value()).sign(msg_id, at, body)
    target, authorization = _without_userinfo(url.get_secret_value())
    if authorization is not None:
        headers["authorization"] = authorization
    request = urllib.request.Request(target, data=body.encode(), headers=headers, method="POST")  # noqa: S310 - an http(s) URL, checked when the settings load
    event = str(payload.get("type", ""))
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            status = int(answer.status)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        # The exception's text may quote the URL: only its scrubbed form is logged.
        log.error(
            f"{logged_as}_not_notified",
            webhook=event,
            to=str(url),
            error=_scrubbed(url, f"{type(exc).__name__}: {exc}"),
        )
        return False
    log.info(f"{logged_as}_notified", webhook=event, to=str(url), status=status)
    return 200 <= status < 300


def _scrubbed(url: SecretUrl, text: str) -> str:
    return url.scrub(text)


def _without_userinfo(url: str) -> tuple[str, str | None]:
    """The URL without its ``user:password@`` (urllib cannot send it), and the Basic
    ``Authorization`` header that carries it instead."""
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return url, None
    user, _, password = userinfo.partition(":")
    token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")
    return parts._replace(netloc=hostport).geturl(), f"Basic {token}"
