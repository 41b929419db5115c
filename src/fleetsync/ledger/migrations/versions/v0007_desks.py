"""Desks: a loan belongs to the desk that checked it out, a first password to its loan.

``loans.desk`` is filled in from the audit trail (the ``webhook:<desk>`` that checked the loan
out; a technician's loan has none) and ``pending_credentials.loan_id`` with the borrower's loan
that was open when the password was sealed. From now on only a loan's desk sees and changes it;
a desk that took back another desk's loan before this version no longer sees that loan.

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0004"
branch_labels = None
depends_on = None

_WEBHOOK = "webhook:"


def upgrade() -> None:
    with op.batch_alter_table("loans", recreate="auto") as loans:
        loans.add_column(sa.Column("desk", sa.String(64), nullable=True))
        loans.create_index("ix_loans_desk", ["desk"])
    with op.batch_alter_table("pending_credentials", recreate="auto") as credentials:
        credentials.add_column(sa.Column("loan_id", sa.Integer(), nullable=True))
        credentials.create_foreign_key(
            "fk_pending_credentials_loan_id_loans", "loans", ["loan_id"], ["id"]
        )
        credentials.create_index("ix_pending_credentials_loan_id", ["loan_id"])
    # The desk whose webhook checked the loan out (the admin token never checks out).
    op.execute(
        sa.text(
            "UPDATE loans SET desk = ("
            " SELECT substr(a.actor, :skip) FROM audit_events a"
            " WHERE a.loan_id = loans.id AND a.action = 'checkout' AND a.actor LIKE :webhook"
            " AND a.actor <> :admin ORDER BY a.id LIMIT 1)"
        ).bindparams(skip=len(_WEBHOOK) + 1, webhook=f"{_WEBHOOK}%", admin=f"{_WEBHOOK}admin")
    )
    # A checkout seals the password at the moment of the loan; the reconciler seals a new one
    # later in the loan (an account created again): the borrower's latest loan begun by then.
    op.execute(
        sa.text(
            "UPDATE pending_credentials SET loan_id = ("
            " SELECT l.id FROM loans l"
            " WHERE l.borrower_id = pending_credentials.borrower_id"
            " AND l.checked_out_at <= pending_credentials.created_at"
            " ORDER BY l.checked_out_at DESC, l.id DESC LIMIT 1)"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("pending_credentials", recreate="auto") as credentials:
        credentials.drop_index("ix_pending_credentials_loan_id")
        credentials.drop_constraint("fk_pending_credentials_loan_id_loans", type_="foreignkey")
        credentials.drop_column("loan_id")
    with op.batch_alter_table("loans", recreate="auto") as loans:
        loans.drop_index("ix_loans_desk")
        loans.drop_column("desk")
