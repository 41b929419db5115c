"""The desk's session cookie: who is signed in, the form token, and nothing else.

The cookie is signed (itsdangerous, with a key derived from the ledger's secret key, so every
replica that shares the ledger's key accepts it), HttpOnly, ``SameSite=Strict``, scoped to
``/desk``, and ``Secure`` when the request came over TLS (directly or through a proxy uvicorn
trusts). It is issued anew on every answer; one that has not come back for
``[desk] session_idle_minutes`` is refused, which ends an idle session. It holds the staff
member's id and their account's session epoch: a password reset, disabling or a sign-out raises
the epoch and voids every cookie issued before.

Every form carries the session's CSRF token (``csrf``), compared in constant time on each POST.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from fleetsync import clock

__all__ = ["COOKIE", "AddressThrottle", "DeskSession", "SessionCookies"]

COOKIE = "fleetsync_desk"
PATH = "/desk"


class _ClockSigner(TimestampSigner):
    # The timestamp comes from fleetsync's clock (pinned in tests), not the machine's.
    def get_timestamp(self) -> int:
        return int(clock.timestamp())


@dataclass
class DeskSession:
    """What the cookie says: ``staff`` and ``epoch`` once signed in; ``csrf`` always. ``expired``:
    a cookie came back that is too old (the page says the session ended)."""

    csrf: str
    staff: int | None = None
    epoch: int = 0
    expired: bool = False

    def as_payload(self) -> dict[str, Any]:
        return {"c": self.csrf, "s": self.staff, "e": self.epoch}

    def csrf_ok(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode(), self.csrf.encode())


@dataclass
class SessionCookies:
    key: bytes
    idle_seconds: int
    _serializer: URLSafeTimedSerializer = field(init=False)

    def __post_init__(self) -> None:
        derived = hmac.new(self.key, b"fleetsync desk session cookie", hashlib.sha256).digest()
        self._serializer = URLSafeTimedSerializer(
            derived, salt="fleetsync.desk.session", signer=_ClockSigner
        )

    def load(self, request: Request) -> DeskSession:
        raw = request.cookies.get(COOKIE)
        fresh = DeskSession(csrf=secrets.token_urlsafe(24))
        if not raw:
            return fresh
        try:
            payload = self._serializer.loads(raw, max_age=self.idle_seconds)
        except SignatureExpired:
            fresh.expired = True
            return fresh
        except BadSignature:
            return fresh
        if not isinstance(payload, dict) or not isinstance(payload.get("c"), str):
            return fresh
        staff, epoch = payload.get("s"), payload.get("e")
        return DeskSession(
            csrf=payload["c"],
            staff=staff if isinstance(staff, int) else None,
            epoch=epoch if isinstance(epoch, int) else 0,
        )

    def store(self, request: Request, response: Response, session: DeskSession) -> None:
        response.set_cookie(
            COOKIE,
            self._serializer.dumps(session.as_payload()),
            max_age=self.idle_seconds,
            path=PATH,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )


class AddressThrottle:
    """Failed sign-ins per client address, across usernames (someone trying many names): past
    ``limit`` in ``window_seconds`` the address is refused until the oldest falls out."""

    def __init__(self, limit: int, window_seconds: float) -> None:
        self.limit = limit
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        times = self._failures.setdefault(address, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def blocked(self, address: str) -> bool:
        with self._lock:
            return len(self._recent(address, clock.timestamp())) >= self.limit

    def failed(self, address: str) -> None:
        now = clock.timestamp()
        with self._lock:
            self._recent(address, now).append(now)
            if len(self._failures) > 10_000:  # bounded: forget the quietest addresses
                for stale in [a for a, t in self._failures.items() if not t][:5_000]:
                    del self._failures[stale]
