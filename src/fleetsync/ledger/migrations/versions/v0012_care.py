"""Device care: repairs, borrowers' contact details (sealed) and overdue escalation steps.

Revision ID: 0012
Revises: 0013c
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fleetsync.ledger.models import UtcDateTime

revision = "0012"
down_revision = "0013c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "repairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", UtcDateTime(), nullable=False),
        sa.Column("opened_by", sa.String(100), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("closed_at", UtcDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(100), nullable=True),
        sa.Column("close_note", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name="fk_repairs_device_id_devices"),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name="fk_repairs_loan_id_loans"),
        sa.PrimaryKeyConstraint("id", name="pk_repairs"),
    )
    op.create_index("ix_repairs_device_id", "repairs", ["device_id"])
    op.create_table(
        "loan_contacts",
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name="fk_loan_contacts_loan_id_loans"),
        sa.PrimaryKeyConstraint("loan_id", name="pk_loan_contacts"),
    )
    op.create_table(
        "loan_escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("done_at", UtcDateTime(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("notified_state", sa.String(16), nullable=True),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name="fk_loan_escalations_loan_id_loans"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_loan_escalations"),
        sa.UniqueConstraint("loan_id", "step", name="uq_loan_escalations_loan_id_step"),
    )
    op.create_index("ix_loan_escalations_loan_id", "loan_escalations", ["loan_id"])


def downgrade() -> None:
    op.drop_index("ix_loan_escalations_loan_id", "loan_escalations")
    op.drop_table("loan_escalations")
    op.drop_table("loan_contacts")
    op.drop_index("ix_repairs_device_id", "repairs")
    op.drop_table("repairs")
