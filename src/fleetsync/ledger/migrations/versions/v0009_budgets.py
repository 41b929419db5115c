"""Safety budgets: what destructive actions were issued (counted over sliding windows across
runs and processes), what a budget holds back now, and outbox entries held until the window has
room.

Revision ID: 0009
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fleetsync.ledger.models import UtcDateTime

revision = "0009"
down_revision = "0010"
branch_labels = None
depends_on = None

_BUDGETS = "budget IN ('suspensions', 'deletions', 'powerwashes', 'disables', 'deprovisions')"


def upgrade() -> None:
    op.create_table(
        "budget_spend",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("budget", sa.String(16), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(_BUDGETS, name="ck_budget_spend_budget"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["sync_runs.id"], name="fk_budget_spend_run_id_sync_runs"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_budget_spend"),
    )
    op.create_index("ix_budget_spend_budget_at", "budget_spend", ["budget", "at"])
    op.create_table(
        "budget_holds",
        sa.Column("budget", sa.String(16), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("since", UtcDateTime(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(_BUDGETS, name="ck_budget_holds_budget"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["sync_runs.id"], name="fk_budget_holds_run_id_sync_runs"
        ),
        sa.PrimaryKeyConstraint("budget", "target", name="pk_budget_holds"),
    )
    with op.batch_alter_table("outbox", recreate="auto") as outbox:
        outbox.add_column(sa.Column("retry_after", UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", recreate="auto") as outbox:
        outbox.drop_column("retry_after")
    op.drop_table("budget_holds")
    op.drop_index("ix_budget_spend_budget_at", "budget_spend")
    op.drop_table("budget_spend")
