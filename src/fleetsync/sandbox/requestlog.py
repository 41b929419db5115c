"""Every Google call the sandbox answered: a bounded log and per-method counters.

Benchmarks and tests count exactly the calls fleetsync made: a batch part counts as its own
method (as it counts against Google's quotas), and the batch envelope is counted apart.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from typing import Any

__all__ = ["RequestLog"]


class RequestLog:
    def __init__(self, capacity: int = 20_000) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._next = 0
        self.calls: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.http_requests = 0
        self.batches = 0
        self.token_requests = 0
        self.dropped = 0

    def record(
        self,
        *,
        method: str,
        http_method: str,
        path: str,
        status: int,
        reason: str = "",
        user: str = "",
        in_batch: bool = False,
        seconds: float = 0.0,
    ) -> None:
        with self._lock:
            self._entries.append(
                {
                    "index": self._next,
                    "time": time.time(),
                    "method": method,
                    "httpMethod": http_method,
                    "path": path,
                    "status": status,
                    "reason": reason,
                    "user": user,
                    "inBatch": in_batch,
                    "ms": round(seconds * 1000, 3),
                }
            )
            self._next += 1
            self.calls[method] += 1
            self.statuses[f"{method} {status}"] += 1

    def count_http(
        self, *, batch: bool = False, token: bool = False, dropped: bool = False
    ) -> None:
        with self._lock:
            self.http_requests += 1
            self.batches += int(batch)
            self.token_requests += int(token)
            self.dropped += int(dropped)

    def entries(
        self, since: int = 0, method: str | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        with self._lock:
            found = [
                dict(e)
                for e in self._entries
                if e["index"] >= since and (method is None or e["method"] == method)
            ]
        return found[:limit]

    def counters(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": dict(sorted(self.calls.items())),
                "statuses": dict(sorted(self.statuses.items())),
                "total": sum(self.calls.values()),
                "httpRequests": self.http_requests,
                "batches": self.batches,
                "tokenRequests": self.token_requests,
                "dropped": self.dropped,
                "nextIndex": self._next,
            }

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()
            self.calls.clear()
            self.statuses.clear()
            self.http_requests = self.batches = self.token_requests = self.dropped = 0
