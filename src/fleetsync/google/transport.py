"""A transport for calls that must never be sent twice (``issueCommand``, ``users.insert``).

httplib2 re-sends a request once when the connection drops before an answer arrives
(``http.client.RemoteDisconnected`` is a ``BadStatusLine``, which it treats as a stale keep-alive
connection, whatever ``httplib2.RETRIES`` says). For a powerwash that Google has already carried
out, that silently issues a second one. :class:`OneShotHttp` makes exactly one attempt on a fresh
connection: a drop reaches fleetsync as a lost answer, which it settles by looking, never by
sending again.

It speaks the part of httplib2's interface that googleapiclient and google-auth-httplib2 use:
``request(uri, method, body, headers, ...) -> (httplib2.Response, bytes)``.
"""

from __future__ import annotations

import http.client
import ssl
from typing import Any
from urllib.parse import urlsplit

import httplib2

__all__ = ["OneShotHttp"]


class OneShotHttp:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._tls = ssl.create_default_context()

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: Any = None,
        headers: dict[str, str] | None = None,
        redirections: int = 0,
        connection_type: Any = None,
    ) -> tuple[httplib2.Response, bytes]:
        parts = urlsplit(uri)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.netloc, timeout=self.timeout, context=self._tls
            )
        else:
            connection = http.client.HTTPConnection(parts.netloc, timeout=self.timeout)
        # No compression: one attempt, read whole, nothing to decode.
        sent = {k: v for k, v in (headers or {}).items() if k.lower() != "accept-encoding"}
        try:
            connection.request(method, target or "/", body=body, headers=sent)
            answer = connection.getresponse()
            content = answer.read()
            return httplib2.Response(answer), content
        finally:
            connection.close()

    def close(self) -> None:
        """Nothing stays open between calls."""
