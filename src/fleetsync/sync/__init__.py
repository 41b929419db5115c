"""Reconcile: observe Google, plan against the ledger, apply with a journal."""

from fleetsync.sync.lock import SyncBusy
from fleetsync.sync.reconcile import SyncReport, drain_outbox, outbox_depth, reconcile
from fleetsync.sync.track import TrackReport, track_commands

__all__ = [
    "SyncBusy",
    "SyncReport",
    "TrackReport",
    "drain_outbox",
    "outbox_depth",
    "reconcile",
    "track_commands",
]
