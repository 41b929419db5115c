"""The loan ledger: SQLAlchemy models, queries and Alembic migrations. The source of truth.

``open_ledger(settings)`` returns a :class:`Ledger`; business actions (``fleetsync.services``) run
inside ``with ledger.transaction() as session: ...``.
"""

from fleetsync.ledger.engine import Ledger, create_ledger_engine, open_ledger

__all__ = ["Ledger", "create_ledger_engine", "open_ledger"]
