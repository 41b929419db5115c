"""The programme's calendar: course periods per region, reservations, delivery dates, the loan
agreement a checkout records, and accounts adopted from a programme brought in.

- ``course_periods`` (a name, a first and a last day) and ``course_period_regions`` (the regions it
  runs in; a region's course periods do not overlap, which the services check);
- ``reservations``: demand for a device in a course period (never a particular device), open
  until a checkout fulfils it or it is cancelled; one open reservation per borrower and course;
- ``devices.available_from``: the delivery date (``NULL``: the day it entered the ledger);
- ``loans.agreement_version`` / ``agreement_signed_at``: the loan agreement accepted at checkout;
- ``borrowers.adopt_account``: the borrower's existing Workspace account (``account_email``) is
  taken over at the next reconcile instead of a new one created (``loan import``).

Revision ID: 0010
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fleetsync.ledger.models import UtcDateTime

revision = "0010"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "course_periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("last_day >= first_day", name="ck_course_periods_ordered"),
        sa.PrimaryKeyConstraint("id", name="pk_course_periods"),
        sa.UniqueConstraint("name", name="uq_course_periods_name"),
    )
    op.create_table(
        "course_period_regions",
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["course_periods.id"],
            name="fk_course_period_regions_course_id_course_periods",
        ),
        sa.PrimaryKeyConstraint("course_id", "region", name="pk_course_period_regions"),
    )
    op.create_index(
        "ix_course_period_regions_region", "course_period_regions", ["region"], unique=False
    )
    op.create_table(
        "reservations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("borrower", sa.String(64), nullable=False),
        sa.Column("given_name", sa.String(120), nullable=True),
        sa.Column("family_name", sa.String(120), nullable=True),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("needs_data", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("desk", sa.String(64), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("closed_at", UtcDateTime(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("loan_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'fulfilled', 'cancelled')", name="ck_reservations_status"
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["course_periods.id"], name="fk_reservations_course_id_course_periods"
        ),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name="fk_reservations_loan_id_loans"),
        sa.PrimaryKeyConstraint("id", name="pk_reservations"),
    )
    op.create_index("ix_reservations_course_id", "reservations", ["course_id"], unique=False)
    op.create_index("ix_reservations_borrower", "reservations", ["borrower"], unique=False)
    op.create_index(
        "uq_reservations_open",
        "reservations",
        ["course_id", "borrower"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    with op.batch_alter_table("devices", recreate="auto") as devices:
        devices.add_column(sa.Column("available_from", sa.Date(), nullable=True))
    with op.batch_alter_table("loans", recreate="auto") as loans:
        loans.add_column(sa.Column("agreement_version", sa.String(40), nullable=True))
        loans.add_column(sa.Column("agreement_signed_at", UtcDateTime(), nullable=True))
    # A plain ADD COLUMN (SQLite can add one with a default): recreating the borrowers table
    # would trip over the loans that refer to it.
    op.add_column(
        "borrowers",
        sa.Column("adopt_account", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("borrowers", recreate="auto") as borrowers:
        borrowers.drop_column("adopt_account")
    with op.batch_alter_table("loans", recreate="auto") as loans:
        loans.drop_column("agreement_signed_at")
        loans.drop_column("agreement_version")
    with op.batch_alter_table("devices", recreate="auto") as devices:
        devices.drop_column("available_from")
    op.drop_index("uq_reservations_open", table_name="reservations")
    op.drop_index("ix_reservations_borrower", table_name="reservations")
    op.drop_index("ix_reservations_course_id", table_name="reservations")
    op.drop_table("reservations")
    op.drop_index("ix_course_period_regions_region", table_name="course_period_regions")
    op.drop_table("course_period_regions")
    op.drop_table("course_periods")
