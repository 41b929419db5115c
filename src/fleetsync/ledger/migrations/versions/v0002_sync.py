"""Reconcile: runs and their journal, what Google last confirmed, policies in place.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from fleetsync.ledger.models import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _at(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, UtcDateTime(), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("devices") as devices:
        devices.add_column(sa.Column("google_org_unit", sa.String(255), nullable=True))
        devices.add_column(sa.Column("google_status", sa.String(24), nullable=True))
        devices.add_column(sa.Column("google_annotated_user", sa.String(255), nullable=True))
        devices.add_column(_at("google_checked_at", nullable=True))
    with op.batch_alter_table("borrowers") as borrowers:
        borrowers.add_column(sa.Column("google_suspended", sa.Boolean(), nullable=True))
        borrowers.add_column(sa.Column("google_org_unit", sa.String(255), nullable=True))
        borrowers.add_column(_at("google_checked_at", nullable=True))

    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        _at("started_at"),
        _at("finished_at", nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("summary", _JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('full', 'targeted')", name="ck_sync_runs_kind"),
        sa.CheckConstraint(
            "status IN ('running', 'converged', 'failed', 'refused', 'planned', 'crashed')",
            name="ck_sync_runs_status",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_sync_runs"),
    )
    op.create_index("ix_sync_runs_started_at", "sync_runs", ["started_at"])

    op.create_table(
        "sync_journal",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", _JSON, nullable=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        _at("started_at"),
        _at("finished_at", nullable=True),
        sa.CheckConstraint(
            "state IN ('intent', 'done', 'failed', 'unknown', 'skipped')",
            name="ck_sync_journal_state",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["sync_runs.id"], name="fk_sync_journal_run_id_sync_runs"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_sync_journal"),
    )
    op.create_index("ix_sync_journal_run_id", "sync_journal", ["run_id"])
    op.create_index("ix_sync_journal_target", "sync_journal", ["target"])

    op.create_table(
        "policy_state",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("org_unit", sa.String(255), nullable=False),
        sa.Column("namespace", sa.String(100), nullable=False),
        sa.Column("in_place", sa.Boolean(), nullable=False),
        _at("checked_at"),
        sa.PrimaryKeyConstraint("id", name="pk_policy_state"),
        sa.UniqueConstraint("org_unit", "namespace", name="uq_policy_state_org_unit_namespace"),
    )


def downgrade() -> None:
    op.drop_table("policy_state")
    op.drop_table("sync_journal")
    op.drop_table("sync_runs")
    with op.batch_alter_table("borrowers") as borrowers:
        for column in ("google_checked_at", "google_org_unit", "google_suspended"):
            borrowers.drop_column(column)
    with op.batch_alter_table("devices") as devices:
        for column in (
            "google_checked_at",
            "google_annotated_user",
            "google_status",
            "google_org_unit",
        ):
            devices.drop_column(column)
