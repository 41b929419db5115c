"""Prometheus metrics, declared once. ``/metrics`` (the API) exposes the default registry."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "BUDGET_HELD",
    "BUDGET_LIMIT",
    "BUDGET_SPENT",
    "GOOGLE_CALLS",
    "GOOGLE_RETRIES",
    "GOOGLE_THROTTLE_WAIT",
    "OUTBOX_DEPTH",
    "RECONCILE_DURATION",
    "WEBHOOK_BATCH_SIZE",
    "WEBHOOK_EVENTS",
]

GOOGLE_CALLS = Counter(
    "fleetsync_google_calls",
    "Calls to Google APIs, by method and HTTP status ('error' for a failed connection).",
    ["method", "status"],
)
GOOGLE_RETRIES = Counter(
    "fleetsync_google_retries",
    "Retries of calls to Google, by method and the reason that caused them.",
    ["method", "reason"],
)
GOOGLE_THROTTLE_WAIT = Counter(
    "fleetsync_google_throttle_wait_seconds",
    "Seconds spent waiting by the client-side throttle, by quota.",
    ["quota"],
)
RECONCILE_DURATION = Histogram(
    "fleetsync_reconcile_duration_seconds",
    "Duration of reconcile runs, by kind (full or targeted) and outcome.",
    ["kind", "outcome"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900),
)
WEBHOOK_EVENTS = Counter(
    "fleetsync_webhook_events",
    "Loan desk webhook events, by type and outcome.",
    ["type", "outcome"],
)
WEBHOOK_BATCH_SIZE = Histogram(
    "fleetsync_webhook_batch_size",
    "Webhook deliveries committed together in one ledger transaction (1 when the desks are "
    "quiet; large batches mean the ledger's commits are what the desks wait for).",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
OUTBOX_DEPTH = Gauge(
    "fleetsync_outbox_depth",
    "Ledger changes waiting for a targeted reconcile.",
)
BUDGET_SPENT = Gauge(
    "fleetsync_budget_spent",
    "Destructive actions counted against each safety budget in its sliding window (hour, day), "
    "across every run and process (counted in the ledger at scrape time).",
    ["budget", "window"],
)
BUDGET_LIMIT = Gauge(
    "fleetsync_budget_limit",
    "Each safety budget's limit per window ([safety.<budget>] per_hour, per_day).",
    ["budget", "window"],
)
BUDGET_HELD = Gauge(
    "fleetsync_budget_held",
    "Devices or accounts a safety budget holds back now. They go ahead when the window has room "
    "(`fleetsync status` says when), or at once with `fleetsync sync --force-budget <budget>`.",
    ["budget"],
)
