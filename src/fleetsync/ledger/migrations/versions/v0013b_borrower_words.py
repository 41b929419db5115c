"""The desk's name search by words: ``borrower_words`` holds the folded words of every
borrower's names (``fleetsync.domain.borrowers.name_words``), read by prefix through its primary
key, so that a search reads the few borrowers it finds instead of every borrower's names.

Filled in for every borrower who still has names. ``ix_borrowers_name_key`` goes: no search
scans the names any more.

Revision ID: 0013b
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fleetsync.domain.borrowers import MAX_NAME_KEY, name_words

revision = "0013b"
down_revision = "0009"
branch_labels = None
depends_on = None

_WORD = sa.String(MAX_NAME_KEY).with_variant(sa.String(MAX_NAME_KEY, collation="C"), "postgresql")
_BATCH = 10_000


def upgrade() -> None:
    words = op.create_table(
        "borrower_words",
        sa.Column("word", _WORD, nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name="fk_borrower_words_borrower_id_borrowers"
        ),
        sa.PrimaryKeyConstraint("word", "borrower_id", name="pk_borrower_words"),
    )
    op.create_index("ix_borrower_words_borrower_id_word", "borrower_words", ["borrower_id", "word"])
    connection = op.get_bind()
    named = connection.execute(
        sa.text(
            "SELECT id, given_name, family_name FROM borrowers"
            " WHERE given_name IS NOT NULL OR family_name IS NOT NULL"
        )
    )
    rows = [
        {"word": word, "borrower_id": id_}
        for id_, given, family in named
        for word in sorted(name_words(given, family))
    ]
    for first in range(0, len(rows), _BATCH):
        connection.execute(sa.insert(words), rows[first : first + _BATCH])
    with op.batch_alter_table("borrowers", recreate="auto") as borrowers:
        borrowers.drop_index("ix_borrowers_name_key")


def downgrade() -> None:
    with op.batch_alter_table("borrowers", recreate="auto") as borrowers:
        borrowers.create_index("ix_borrowers_name_key", ["name_key"])
    op.drop_index("ix_borrower_words_borrower_id_word", table_name="borrower_words")
    op.drop_table("borrower_words")
