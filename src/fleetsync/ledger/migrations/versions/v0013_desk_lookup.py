"""The desk's lookups: a folded copy of each borrower's names to search them, and indexes for
the desks' lists (open loans by agreed end, a desk's loans newest first, spare devices).

``borrowers.name_key`` is filled in for every borrower who still has names. ``ix_loans_desk``
becomes ``ix_loans_desk_id`` (desk, id): the same lookups, and a desk's loans in id order.

Revision ID: 0013
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fleetsync.domain.borrowers import MAX_NAME_KEY, name_key

revision = "0013"
down_revision = "0008"
branch_labels = None
depends_on = None

_OPEN = sa.text("returned_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("borrowers", recreate="auto") as borrowers:
        borrowers.add_column(sa.Column("name_key", sa.String(MAX_NAME_KEY), nullable=True))
        borrowers.create_index("ix_borrowers_name_key", ["name_key"])
    connection = op.get_bind()
    named = connection.execute(
        sa.text(
            "SELECT id, given_name, family_name FROM borrowers"
            " WHERE given_name IS NOT NULL OR family_name IS NOT NULL"
        )
    ).all()
    if named:
        connection.execute(
            sa.text("UPDATE borrowers SET name_key = :key WHERE id = :id"),
            [{"id": id_, "key": name_key(given, family)} for id_, given, family in named],
        )
    with op.batch_alter_table("loans", recreate="auto") as loans:
        loans.drop_index("ix_loans_desk")
        loans.create_index("ix_loans_desk_id", ["desk", "id"])
    op.create_index(
        "ix_loans_open_agreed_end",
        "loans",
        ["agreed_end", "id"],
        sqlite_where=_OPEN,
        postgresql_where=_OPEN,
    )
    op.create_index(
        "ix_loans_open_desk_agreed_end",
        "loans",
        ["desk", "agreed_end", "id"],
        sqlite_where=_OPEN,
        postgresql_where=_OPEN,
    )
    op.create_index(
        "ix_devices_state_region_connectivity",
        "devices",
        ["state", "region", "connectivity", "serial"],
    )


def downgrade() -> None:
    op.drop_index("ix_devices_state_region_connectivity", table_name="devices")
    op.drop_index("ix_loans_open_desk_agreed_end", table_name="loans")
    op.drop_index("ix_loans_open_agreed_end", table_name="loans")
    with op.batch_alter_table("loans", recreate="auto") as loans:
        loans.drop_index("ix_loans_desk_id")
        loans.create_index("ix_loans_desk", ["desk"])
    with op.batch_alter_table("borrowers", recreate="auto") as borrowers:
        borrowers.drop_index("ix_borrowers_name_key")
        borrowers.drop_column("name_key")
