"""``fleetsync config check --online``: is the service account allowed to do fleetsync's work?

Google refuses a token for a set of scopes when any of them is not delegated, without saying
which. So a token is asked for each scope on its own, and with it one read-only call that needs
exactly that scope: a missing delegation is named exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import google_auth_httplib2
import httplib2
from google.oauth2 import service_account
from googleapiclient.discovery import build

from fleetsync.google.auth import load_credentials
from fleetsync.google.errors import GoogleError, from_exception
from fleetsync.google.gmail import mailbox_credentials
from fleetsync.settings import GMAIL_SEND_SCOPE, GOOGLE_SCOPES, Settings

__all__ = ["ScopeCheck", "check_online"]

_AUTH = "https://www.googleapis.com/auth/"


@dataclass(frozen=True, slots=True)
class ScopeCheck:
    scope: str
    #: The read-only call made with a token for this scope alone.
    call: str
    ok: bool
    error: str = ""


def _calls(customer: str) -> dict[str, tuple[str, str, Callable[[Any], Any]]]:
    return {
        _AUTH + "admin.directory.device.chromeos": (
            "admin",
            "directory.chromeosdevices.list",
            lambda api: api.chromeosdevices().list(customerId=customer, maxResults=1),
        ),
        _AUTH + "admin.directory.user": (
            "admin",
            "directory.users.list",
            lambda api: api.users().list(customer=customer, maxResults=1),
        ),
        _AUTH + "admin.directory.orgunit": (
            "admin",
            "directory.orgunits.list",
            lambda api: api.orgunits().list(customerId=customer),
        ),
        _AUTH + "chrome.management.policy": (
            "chromepolicy",
            "chromepolicy.customers.policySchemas.list",
            lambda api: (
                api.customers().policySchemas().list(parent=f"customers/{customer}", pageSize=1)
            ),
        ),
    }


def check_online(settings: Settings) -> list[ScopeCheck]:
    """One token and one read-only call per scope fleetsync needs."""
    google = settings.google
    base = load_credentials(google)  # raises ConfigError for a missing or broken key
    options = {"api_endpoint": google.endpoint} if google.endpoint else None
    results = []
    for scope in GOOGLE_SCOPES:
        api_name, method, make = _calls(google.customer)[scope]
        credentials: service_account.Credentials = base.with_scopes([scope])
        http = google_auth_httplib2.AuthorizedHttp(
            credentials, http=httplib2.Http(timeout=google.timeout_seconds)
        )
        try:
            api = build(
                api_name,
                "directory_v1" if api_name == "admin" else "v1",
                http=http,
                client_options=options,
                static_discovery=True,
                cache_discovery=False,
            )
            make(api).execute(num_retries=0)
        except Exception as exc:
            mapped = from_exception(exc, method=method)
            if mapped is None:
                raise
            results.append(ScopeCheck(scope, method, ok=False, error=_explain(mapped, scope)))
        else:
            results.append(ScopeCheck(scope, method, ok=True))
        finally:
            http.close()
    sender = settings.messages.sender
    if sender:
        results.append(_check_mailbox(settings, sender))
    return results


def _check_mailbox(settings: Settings, sender: str) -> ScopeCheck:
    """The programme mailbox's ``gmail.send`` delegation: a token as that mailbox (sending a
    message is the only call the scope allows, and a check must not send one)."""
    call = f"oauth2.token as {sender}"
    credentials = mailbox_credentials(settings.google, sender)
    http = httplib2.Http(timeout=settings.google.timeout_seconds)
    try:
        credentials.refresh(google_auth_httplib2.Request(http))
    except Exception as exc:
        mapped = from_exception(exc, method="oauth2.token")
        if mapped is None:
            raise
        why = _explain(mapped, GMAIL_SEND_SCOPE)
        return ScopeCheck(GMAIL_SEND_SCOPE, call, ok=False, error=why)
    finally:
        http.close()
    return ScopeCheck(GMAIL_SEND_SCOPE, call, ok=True)


def _explain(error: GoogleError, scope: str) -> str:
    if error.reason == "unauthorized_client":
        return (
            f"the service account is not authorised for {scope}: add it to the client's "
            "domain-wide delegation in the Admin console (Security → API controls)"
        )
    return str(error)
