"""Reconcile: observe Google, plan against the ledger, apply with a journal."""
