"""The HTTP server: Google's APIs, the token endpoint and the control surface on one port.

A stdlib ``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive (a 300-device page takes a few
milliseconds). Being this close to the socket is what lets it add latency, refuse calls over the
concurrency limit, and drop a connection without an answer, before or after the call took effect.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from fleetsync.sandbox import discovery_docs
from fleetsync.sandbox.errors import ApiError
from fleetsync.sandbox.faults import Faults, Quotas
from fleetsync.sandbox.front import Front, Reply, api_of, error_reply
from fleetsync.sandbox.state import Autosaver
from fleetsync.sandbox.status_page import status_page
from fleetsync.sandbox.surface import ControlSurface
from fleetsync.sandbox.tenant import Tenant

__all__ = ["SandboxServer"]

log = logging.getLogger("fleetsync.sandbox")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    # An idle keep-alive connection is closed after this long, freeing its thread.
    timeout = 300
    server: _HTTPServer
    #: Whether the request being answered is a HEAD (headers only).
    _head = False

    def do_GET(self) -> None:
        self._dispatch(self.command)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def do_HEAD(self) -> None:
        # As Google's front ends do: the GET's status and headers, without its body.
        self._dispatch("GET", head=True)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log (``/_sandbox/log``) is the record, not stderr

    def _dispatch(self, command: str, *, head: bool = False) -> None:
        self._head = head
        sandbox = self.server.sandbox
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path
        if path.startswith("/_sandbox/") or path == "/_sandbox":
            self._send(sandbox.surface.handle(command, path, body))
            return
        if path.split("?", 1)[0] == "/token" and command == "POST":
            sandbox.front.log.count_http(token=True)
            authorization = self.headers.get("Authorization")
            self._send(sandbox.front.token(body, sandbox.url + "token", authorization))
            return
        if command == "GET" and path.split("?", 1)[0] == "/":
            self._send(
                status_page(
                    sandbox.tenant, sandbox.front, url=sandbox.url, state_file=sandbox.state_file
                )
            )
            return
        if command == "GET" and self._discovery(sandbox, path):
            return
        self._google(sandbox, command, path, body)

    def _discovery(self, sandbox: SandboxServer, path: str) -> bool:
        """Serve a discovery document (no token, no quota: Google's are public)."""
        found = discovery_docs.answer(path, self.headers.get("Host"), sandbox.url)
        if found is None:
            return False
        method, reply = found
        log = sandbox.front.log
        log.count_http()
        log.record(
            method=method,
            http_method=self.command,
            path=path.split("?", 1)[0].lstrip("/"),
            status=reply.status,
        )
        self._send(reply)
        return True

    def _google(self, sandbox: SandboxServer, command: str, path: str, body: bytes) -> None:
        front = sandbox.front
        dropping = front.faults.drop()
        if dropping and not front.faults.faults.drop_after_processing:
            front.log.count_http(dropped=True)
            self._drop()
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        is_batch = path.split("?", 1)[0] == "/batch"
        try:
            front.gate.enter()
        except ApiError as error:
            front.log.count_http(batch=is_batch)
            self._send(error_reply(error, api_of(path.lstrip("/"))))
            return
        try:
            # A slow backend holds its slot: latency counts against the concurrency limit.
            delay = front.faults.latency()
            if delay:
                time.sleep(delay)
            if is_batch and command == "POST":
                reply = front.batch(headers.get("content-type", ""), headers, body)
            else:
                reply = front.call(command, path, headers, body)
        finally:
            front.gate.leave()
        dropping = dropping or reply.drop
        front.log.count_http(batch=is_batch, dropped=dropping)
        if dropping:
            self._drop()
            return
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        if reply.status != 204:
            self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if reply.body and not self._head:
            self.wfile.write(reply.body)

    def _drop(self) -> None:
        """Close the connection without a word (a reset, as a dying front end does)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.wfile = io.BytesIO()  # nothing buffered may reach the client


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        with self._open_lock:
            self._open.add(connection)
        return connection, address

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer is normal; anything else is a sandbox bug.
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            return
        log.exception("sandbox: unhandled error answering %s", client_address)


class SandboxServer:
    """The sandbox: a tenant served over HTTP. ``start()`` in a thread, or ``serve_forever()``."""

    def __init__(
        self,
        tenant: Tenant,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
        quotas: Quotas | None = None,
        state_file: Path | None = None,
        autosave_seconds: float = 30.0,
    ) -> None:
        self.tenant = tenant
        self.front = Front(tenant, faults=faults, quotas=quotas)
        self.state_file = state_file
        self._httpd = _HTTPServer((host, port), self)
        bound_host, bound_port = self._httpd.server_address[:2]
        shown = "127.0.0.1" if host in {"", "0.0.0.0"} else str(bound_host)  # noqa: S104
        self.host, self.port = shown, int(bound_port)
        self._thread: threading.Thread | None = None
        self._autosaver = (
            Autosaver(tenant, state_file, autosave_seconds) if state_file is not None else None
        )
        self.surface = ControlSurface(
            tenant, self.front, url=self.url, state_file=state_file, save=self.save
        )

    @property
    def url(self) -> str:
        """The endpoint fleetsync is configured with (trailing slash, as settings expect)."""
        return f"http://{self.host}:{self.port}/"

    @property
    def token_uri(self) -> str:
        return self.url + "token"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self.serve_forever, name=f"sandbox:{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        if self._autosaver is not None:
            self._autosaver.start()
        # stop() waits for the next poll: short, as a test run starts and stops hundreds.
        self._httpd.serve_forever(poll_interval=0.01)

    def stop(self) -> None:
        """Stop answering, close every connection, and save the state (if it has a file)."""
        self._httpd.shutdown()
        self._httpd.close_open_connections()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._autosaver is not None:
            self._autosaver.stop()

    def save(self) -> Path | None:
        if self._autosaver is None:
            return None
        return self._autosaver.save_now()
