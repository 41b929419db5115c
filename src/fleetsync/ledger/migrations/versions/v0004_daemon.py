"""The daemon: APScheduler's job store, the replicas' heartbeat, runs stopped by SIGTERM.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fleetsync.ledger.models import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_STATUSES = "'running', 'converged', 'failed', 'refused', 'planned', 'crashed'"


def upgrade() -> None:
    # APScheduler 3's SQLAlchemyJobStore table, as it would create it itself.
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(191), nullable=False),
        sa.Column("next_run_time", sa.Float(25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_apscheduler_jobs"),
    )
    op.create_index("ix_apscheduler_jobs_next_run_time", "apscheduler_jobs", ["next_run_time"])
    op.create_table(
        "daemon_replicas",
        sa.Column("replica", sa.String(255), nullable=False),
        sa.Column("leader", sa.Boolean(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("heartbeat_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("replica", name="pk_daemon_replicas"),
    )
    with op.batch_alter_table("sync_runs", recreate="auto") as runs:
        runs.drop_constraint("ck_sync_runs_status", type_="check")
        runs.create_check_constraint("ck_sync_runs_status", f"status IN ({_STATUSES}, 'stopped')")


def downgrade() -> None:
    with op.batch_alter_table("sync_runs", recreate="auto") as runs:
        runs.drop_constraint("ck_sync_runs_status", type_="check")
        runs.create_check_constraint("ck_sync_runs_status", f"status IN ({_STATUSES})")
    op.drop_table("daemon_replicas")
    op.drop_index("ix_apscheduler_jobs_next_run_time", "apscheduler_jobs")
    op.drop_table("apscheduler_jobs")
