"""Staff accounts of the desk web app: one desk and one role each, argon2 password hashes, the
sign-in throttle's count and a session epoch that voids older session cookies.

Revision ID: 0011
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fleetsync.ledger.models import UtcDateTime

revision = "0011"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(32), nullable=False),
        sa.Column("display_name", sa.String(120), nullable=False),
        sa.Column("desk", sa.String(64), nullable=False),
        sa.Column("role", sa.String(12), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("password_set_at", UtcDateTime(), nullable=False),
        sa.Column("disabled_at", UtcDateTime(), nullable=True),
        sa.Column("session_epoch", sa.Integer(), nullable=False),
        sa.Column("failed_sign_ins", sa.Integer(), nullable=False),
        sa.Column("last_failed_sign_in_at", UtcDateTime(), nullable=True),
        sa.Column("last_sign_in_at", UtcDateTime(), nullable=True),
        sa.CheckConstraint(
            "role IN ('clerk', 'technician', 'admin')", name="ck_staff_accounts_role"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_staff_accounts"),
        sa.UniqueConstraint("username", name="uq_staff_accounts_username"),
    )
    op.create_index("ix_staff_accounts_desk", "staff_accounts", ["desk"])


def downgrade() -> None:
    op.drop_index("ix_staff_accounts_desk", table_name="staff_accounts")
    op.drop_table("staff_accounts")
