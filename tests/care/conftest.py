"""Device care against the sandbox: the sync tests' programme (tests/sync/conftest.py)."""

from __future__ import annotations

from tests.sync.conftest import adopted, fleet  # noqa: F401 - the sync tests' fixtures, shared
