"""Alembic's entry point. fleetsync runs it itself (``fleetsync.ledger.migrate``), always with an
open connection inside the transaction that holds the migration lock: every migration of one
upgrade commits or rolls back together."""

from __future__ import annotations

from alembic import context

from fleetsync.ledger.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things in place: later migrations copy and swap tables.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
