"""Messages to borrowers through the Gmail API (``users.messages.send``), sent as the
programme's mailbox by domain-wide delegation: the service account acts as that mailbox with the
``gmail.send`` scope alone, delegated next to fleetsync's other scopes."""

from __future__ import annotations

import base64
import json
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

import google_auth_httplib2
from google.oauth2 import service_account
from googleapiclient.discovery import build

from fleetsync.google.keyfile import read_key_file
from fleetsync.google.retry import call_with_retry
from fleetsync.google.transport import OneShotHttp
from fleetsync.settings import GMAIL_SEND_SCOPE, ConfigError, GoogleSettings

__all__ = ["Mailbox", "mailbox_credentials"]


def mailbox_credentials(settings: GoogleSettings, sender: str) -> service_account.Credentials:
    """The service account acting as ``sender`` with the ``gmail.send`` scope."""
    if settings.key_file is None:
        raise ConfigError("no service-account key configured: set [google] key_file")
    read_key_file(settings.key_file)
    info = json.loads(settings.key_file.read_text(encoding="utf-8"))
    credentials: service_account.Credentials = (
        service_account.Credentials.from_service_account_info(
            info, scopes=[GMAIL_SEND_SCOPE], subject=sender
        )
    )
    return credentials


class Mailbox:
    """The programme's mailbox. :meth:`send` is not idempotent: the caller records its intent
    first (a message is sent once, never again after a lost answer)."""

    def __init__(self, settings: GoogleSettings, *, sender: str, sender_name: str = "") -> None:
        self.settings = settings
        self.sender = sender
        self.sender_name = sender_name
        self._credentials = mailbox_credentials(settings, sender)
        self._http = google_auth_httplib2.AuthorizedHttp(
            self._credentials, http=OneShotHttp(timeout=settings.timeout_seconds)
        )
        options = {"api_endpoint": settings.endpoint} if settings.endpoint else None
        self._api: Any = build(
            "gmail",
            "v1",
            http=self._http,
            client_options=options,
            static_discovery=True,
            cache_discovery=False,
        )

    def send(self, *, to: str, subject: str, text: str, language: str) -> str:
        """Send a plain-text message; returns Gmail's message id."""
        message = EmailMessage()
        message["From"] = formataddr((self.sender_name, self.sender))
        message["To"] = to
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        message.set_content(text)
        message["Content-Language"] = language  # after set_content, which resets Content-*
        raw = base64.urlsafe_b64encode(message.as_bytes()).decode("ascii")
        request = self._api.users().messages().send(userId="me", body={"raw": raw})

        def attempt() -> Any:
            return request.execute(http=self._http, num_retries=0)

        answer = call_with_retry(
            attempt,
            method="gmail.users.messages.send",
            idempotent=False,
            settings=self.settings.retry,
        )
        return str(answer["id"])

    def close(self) -> None:
        self._http.close()
