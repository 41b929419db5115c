"""Whether a desk lent to a borrower, from an index alone: ``ix_loans_borrower_id`` becomes
``ix_loans_borrower_id_desk`` (borrower_id, desk). The desk's name search asks it of every
borrower whose name matches; reading the loans themselves for it cost a random read each in a
table of a million loans.

Revision ID: 0013c
Revises: 0013b
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0013c"
down_revision = "0013b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("loans", recreate="auto") as loans:
        loans.create_index("ix_loans_borrower_id_desk", ["borrower_id", "desk"])
        loans.drop_index("ix_loans_borrower_id")


def downgrade() -> None:
    with op.batch_alter_table("loans", recreate="auto") as loans:
        loans.create_index("ix_loans_borrower_id", ["borrower_id"])
        loans.drop_index("ix_loans_borrower_id_desk")
