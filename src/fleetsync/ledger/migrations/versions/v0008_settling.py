"""Irreversible actions settled from evidence: the check-in that began settling an UNKNOWN
powerwash, and the intent of an account deletion.

- ``device_commands.checkin_seen_at``: the device's last check-in the command tracker saw after a
  powerwash whose answer was lost. One check-in is no proof the command never arrived (the device
  may be executing it); a second one, long after this one, without the device enrolling again is.
- ``borrowers.account_deleting_since``: committed before Google is asked to delete the account
  (as a powerwash's ISSUING), cleared when Google's answer is recorded. A checkout that meets it
  is refused: the account it would reactivate is being deleted.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fleetsync.ledger.models import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("device_commands", recreate="auto") as commands:
        commands.add_column(sa.Column("checkin_seen_at", UtcDateTime(), nullable=True))
    with op.batch_alter_table("borrowers", recreate="auto") as borrowers:
        borrowers.add_column(sa.Column("account_deleting_since", UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("borrowers", recreate="auto") as borrowers:
        borrowers.drop_column("account_deleting_since")
    with op.batch_alter_table("device_commands", recreate="auto") as commands:
        commands.drop_column("checkin_seen_at")
