"""The sandbox's front page (``GET /``): a small read-only status page for people.

The demo's banner links here, and a trainer keeps it open beside the exercise: the tenant, its
devices by org unit and state, its users by org unit, and the calls it answered last. Plain HTML
with inline CSS, no script (the Content-Security-Policy allows none) and nothing fetched; every
value is escaped. It names no person: counts per org unit, and calls by method and status (a
call's path could hold a borrower's address, so it is left out).
"""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import TYPE_CHECKING, Any

from fleetsync.sandbox.clock import rfc3339
from fleetsync.sandbox.front import Reply

if TYPE_CHECKING:
    from pathlib import Path

    from fleetsync.sandbox.front import Front
    from fleetsync.sandbox.tenant import Tenant

__all__ = ["RECENT_REQUESTS", "status_page"]

#: How many of the last calls the page lists.
RECENT_REQUESTS = 50
#: The states a device is counted in, in this order (others after them, by name).
_STATES = ("ACTIVE", "DISABLED", "DEPROVISIONED")
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
_CSS = """
body { font: 14px/1.45 system-ui, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1a1a1a;
       margin: 24px auto; max-width: 1100px; padding: 0 16px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 26px 0 8px; }
p.note { color: #555; margin: 2px 0; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e3e3e3; text-align: left; }
thead th { border-bottom: 2px solid #333; font-size: 12px; }
td.n, th.n { text-align: right; } tr.total td, tr.total th { font-weight: 700; }
code { font-size: 13px; }
"""


def _table(head: list[str], rows: list[list[Any]], numeric_from: int = 1) -> str:
    def cell(tag: str, index: int, value: Any) -> str:
        klass = ' class="n"' if index >= numeric_from else ""
        text = f"{value:,}" if isinstance(value, int) else str(value)
        return f"<{tag}{klass}>{escape(text)}</{tag}>"

    header = "".join(cell("th", i, h) for i, h in enumerate(head))
    body = "".join(
        "<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows
    )
    thead = f"<thead><tr>{header}</tr></thead>" if head else ""
    return f"<table>{thead}<tbody>{body}</tbody></table>"


def _by_path(paths: dict[str, str], ou_ids: set[str]) -> list[tuple[str, str]]:
    """(org unit id, path) sorted by path, as the Admin console lists them."""
    return sorted(((o, paths.get(o, o)) for o in ou_ids), key=lambda item: item[1].lower())


def _devices(tenant: Tenant) -> str:
    with tenant.lock:  # copied under the lock, counted after it: API calls wait the least
        paths = {unit.ou_id: unit.path for unit in tenant.orgunits.all_units()}
        seen = [(d.ou_id, d.data.get("status"), d.presence.online) for d in tenant.devices.devices]
    counts = Counter((ou_id, str(status or "UNKNOWN")) for ou_id, status, _ in seen)
    online = Counter(ou_id for ou_id, _, is_online in seen if is_online)
    if not counts:
        return "<p>No devices.</p>"
    states = list(_STATES) + sorted({s for _, s in counts} - set(_STATES))
    figures: list[tuple[str, list[int]]] = []
    for ou_id, path in _by_path(paths, {o for o, _ in counts}):
        by_state = [counts[(ou_id, state)] for state in states]
        figures.append((path, [*by_state, sum(by_state), online[ou_id]]))
    totals = [sum(numbers[i] for _, numbers in figures) for i in range(len(states) + 2)]
    rows: list[list[Any]] = [[path, *numbers] for path, numbers in figures]
    rows.append(["all org units", *totals])
    table = _table(["org unit", *states, "devices", "online"], rows)
    return table.replace("<tr><td>all org units", '<tr class="total"><td>all org units')


def _users(tenant: Tenant) -> str:
    active: Counter[str] = Counter()
    suspended: Counter[str] = Counter()
    with tenant.lock:
        paths = {unit.ou_id: unit.path for unit in tenant.orgunits.all_units()}
        for user in tenant.users.by_id.values():
            (suspended if user.data.get("suspended") else active)[user.ou_id] += 1
        deleted = len(tenant.users.deleted)
    rows: list[list[Any]] = [
        [path, active[o], suspended[o], active[o] + suspended[o]]
        for o, path in _by_path(paths, set(active) | set(suspended))
    ]
    note = f"<p class=note>{deleted:,} deleted users can still be undeleted.</p>"
    return _table(["org unit", "active", "suspended", "users"], rows) + note


def _requests(front: Front) -> str:
    log = front.log
    counters = log.counters()
    since = max(0, int(counters["nextIndex"]) - RECENT_REQUESTS)
    entries = list(reversed(log.entries(since=since, limit=RECENT_REQUESTS)))
    if not entries:
        return "<p>No calls yet.</p>"
    rows = [
        [
            rfc3339(float(e["time"])),
            e["httpMethod"],
            e["method"],
            str(e["status"]),
            e["reason"] or "",
            "yes" if e["inBatch"] else "",
            f"{float(e['ms']):.1f}",
        ]
        for e in entries
    ]
    total = (
        f"<p class=note>Since the counters were reset: calls answered {int(counters['total']):,}"
        f", batches {int(counters['batches']):,}, token requests "
        f"{int(counters['tokenRequests']):,}. The newest first.</p>"
    )
    head = ["when (real time)", "HTTP", "method", "status", "reason", "in batch", "ms"]
    return total + _table(head, rows, numeric_from=6)


def _tenant(tenant: Tenant, front: Front, state_file: Path | None) -> str:
    with tenant.lock:
        summary = tenant.summary()
    faults = front.faults.faults
    limits = [f"{k} {v}" for k, v in front.quotas.to_json().items() if v is not None]
    offset = float(summary["clockOffsetSeconds"])
    simulated = rfc3339(float(summary["now"]))
    if offset:
        simulated += f" (real time + {offset:,.0f} s)"
    rows = [
        ["domain", summary["domain"]],
        ["customer id", summary["customerId"]],
        ["admin", summary["admin"]],
        ["service account", summary["serviceAccount"]],
        ["simulated time", simulated],
        ["devices", f"{summary['devices']:,} ({summary['devicesOnline']:,} online)"],
        ["users", f"{summary['users']:,}"],
        ["org units", f"{summary['orgUnits']:,}"],
        ["policies set", f"{summary['policies']:,}"],
        [
            "faults",
            f"error rate {faults.error_rate}, latency {faults.latency_ms} ms, "
            f"drop rate {faults.drop_rate}",
        ],
        ["quotas per minute", ", ".join(limits) or "unlimited"],
        ["state file", str(state_file) if state_file else "(in memory only)"],
    ]
    return _table([], rows, numeric_from=99)


def status_page(tenant: Tenant, front: Front, *, url: str, state_file: Path | None) -> Reply:
    """The page, as the reply to ``GET /``."""
    links = [
        (f"{url}_sandbox/status", "the control surface (JSON)"),
        (f"{url}discovery/v1/apis", "the discovery documents"),
    ]
    items = "".join(
        f'<li><a href="{escape(href)}">{escape(href)}</a>: {escape(text)}</li>'
        for href, text in links
    )
    domain = tenant.domain
    html = "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>fleetsync sandbox: {escape(domain)}</title>",
            f"<style>{_CSS}</style></head><body>",
            f"<h1>fleetsync sandbox: {escape(domain)}</h1>",
            "<p class=note>A Google Workspace tenant on this machine, speaking the Directory "
            "and Chrome Policy APIs. Read-only; reload for fresh figures.</p>",
            f"<ul>{items}</ul>",
            "<h2>Tenant</h2>",
            _tenant(tenant, front, state_file),
            "<h2>Devices by org unit and state</h2>",
            _devices(tenant),
            "<h2>Users by org unit</h2>",
            _users(tenant),
            f"<h2>The last {RECENT_REQUESTS} calls</h2>",
            _requests(front),
            "</body></html>",
        ]
    )
    return Reply(
        200,
        html.encode("utf-8"),
        content_type="text/html; charset=utf-8",
        headers=dict(_HEADERS),
    )
