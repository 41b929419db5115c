"""The service API: the loan desk's webhooks, loan status, health and metrics.

``create_app(settings, ledger, drain=...)`` builds the FastAPI app; ``fleetsync serve`` runs it
under uvicorn. What a desk sends and receives: docs/api.md.
"""

from fleetsync.api.app import create_app
from fleetsync.api.outbox import Drain, OutboxWorker

__all__ = ["Drain", "OutboxWorker", "create_app"]
