"""Everything that knows Google's wire format: auth, discovery-based clients, batching, retries,
throttling, and the mapping of Google's errors to fleetsync's."""

from fleetsync.google.client import Google

__all__ = ["Google"]
