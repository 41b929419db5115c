"""The ledger: devices, borrowers, loans, audit trail, outbox, device commands, first passwords.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from fleetsync.ledger.models import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_OPEN = sa.text("returned_at IS NULL")
_PENDING = sa.text("done_at IS NULL")


def _at(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, UtcDateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("asset_tag", sa.String(64), nullable=True),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("connectivity", sa.String(8), nullable=False),
        sa.Column("google_device_id", sa.String(64), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        _at("state_since"),
        _at("created_at"),
        sa.CheckConstraint(
            "state IN ('spare', 'on_loan', 'in_refurbishment', 'lost', 'retired', 'ict_test')",
            name="ck_devices_state",
        ),
        sa.CheckConstraint("connectivity IN ('wifi', '4g')", name="ck_devices_connectivity"),
        sa.PrimaryKeyConstraint("id", name="pk_devices"),
        sa.UniqueConstraint("serial", name="uq_devices_serial"),
        sa.UniqueConstraint("asset_tag", name="uq_devices_asset_tag"),
        sa.UniqueConstraint("google_device_id", name="uq_devices_google_device_id"),
    )
    op.create_index("ix_devices_region", "devices", ["region"])
    op.create_index("ix_devices_state", "devices", ["state"])

    op.create_table(
        "borrowers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("desk_id", sa.String(64), nullable=False),
        sa.Column("given_name", sa.String(120), nullable=True),
        sa.Column("family_name", sa.String(120), nullable=True),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("account_email", sa.String(255), nullable=True),
        sa.Column("account_status", sa.String(12), nullable=False),
        _at("account_status_since", nullable=True),
        sa.Column("google_user_id", sa.String(64), nullable=True),
        _at("created_at"),
        _at("pseudonymised_at", nullable=True),
        sa.CheckConstraint(
            "account_status IN ('none', 'active', 'suspended', 'deleted')",
            name="ck_borrowers_account_status",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_borrowers"),
        sa.UniqueConstraint("desk_id", name="uq_borrowers_desk_id"),
        sa.UniqueConstraint("account_email", name="uq_borrowers_account_email"),
        sa.UniqueConstraint("google_user_id", name="uq_borrowers_google_user_id"),
    )

    op.create_table(
        "loans",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        _at("checked_out_at"),
        sa.Column("agreed_end", sa.Date(), nullable=False),
        sa.Column("course_period", sa.String(100), nullable=True),
        sa.Column("needs_data", sa.Boolean(), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("connectivity", sa.String(8), nullable=False),
        _at("returned_at", nullable=True),
        sa.Column("return_condition", sa.String(10), nullable=True),
        sa.Column("return_note", sa.Text(), nullable=True),
        sa.CheckConstraint("connectivity IN ('wifi', '4g')", name="ck_loans_connectivity"),
        sa.CheckConstraint(
            "return_condition IN ('ok', 'damaged', 'lost')", name="ck_loans_return_condition"
        ),
        sa.CheckConstraint(
            "(returned_at IS NULL) = (return_condition IS NULL)",
            name="ck_loans_returned_with_condition",
        ),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name="fk_loans_device_id_devices"),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name="fk_loans_borrower_id_borrowers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_loans"),
    )
    op.create_index("ix_loans_device_id", "loans", ["device_id"])
    op.create_index("ix_loans_borrower_id", "loans", ["borrower_id"])
    op.create_index("ix_loans_agreed_end", "loans", ["agreed_end"])
    op.create_index("ix_loans_region", "loans", ["region"])
    # One open loan per device and per borrower, whatever runs concurrently.
    for name, column in (
        ("uq_loans_open_device", "device_id"),
        ("uq_loans_open_borrower", "borrower_id"),
    ):
        op.create_index(
            name,
            "loans",
            [column],
            unique=True,
            sqlite_where=_OPEN,
            postgresql_where=_OPEN,
        )

    op.create_table(
        "loan_extensions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("previous_end", sa.Date(), nullable=False),
        sa.Column("new_end", sa.Date(), nullable=False),
        _at("extended_at"),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name="fk_loan_extensions_loan_id_loans"),
        sa.PrimaryKeyConstraint("id", name="pk_loan_extensions"),
    )
    op.create_index("ix_loan_extensions_loan_id", "loan_extensions", ["loan_id"])

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        _at("at"),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("borrower_id", sa.Integer(), nullable=True),
        sa.Column("loan_id", sa.Integer(), nullable=True),
        sa.Column("before", _JSON, nullable=True),
        sa.Column("after", _JSON, nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name="fk_audit_events_device_id_devices"
        ),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name="fk_audit_events_borrower_id_borrowers"
        ),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name="fk_audit_events_loan_id_loans"),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    for column in ("at", "device_id", "borrower_id", "loan_id"):
        op.create_index(f"ix_audit_events_{column}", "audit_events", [column])
    _make_append_only("audit_events")

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("entity_kind", sa.String(16), nullable=False),
        sa.Column("entity_key", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        _at("created_at"),
        _at("done_at", nullable=True),
        sa.CheckConstraint("entity_kind IN ('device', 'borrower')", name="ck_outbox_entity_kind"),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_index(
        "ix_outbox_pending", "outbox", ["id"], sqlite_where=_PENDING, postgresql_where=_PENDING
    )

    op.create_table(
        "device_commands",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=True),
        sa.Column("google_command_id", sa.String(32), nullable=True),
        sa.Column("state", sa.String(24), nullable=False),
        _at("requested_at"),
        sa.Column("requested_by", sa.String(100), nullable=False),
        _at("issued_at", nullable=True),
        _at("updated_at"),
        _at("executed_at", nullable=True),
        sa.Column("result", sa.String(16), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name="fk_device_commands_device_id_devices"
        ),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name="fk_device_commands_loan_id_loans"),
        sa.PrimaryKeyConstraint("id", name="pk_device_commands"),
        sa.UniqueConstraint("google_command_id", name="uq_device_commands_google_command_id"),
    )
    op.create_index("ix_device_commands_device_id", "device_commands", ["device_id"])

    op.create_table(
        "pending_credentials",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("account_email", sa.String(255), nullable=False),
        sa.Column("sealed_password", sa.Text(), nullable=False),
        _at("created_at"),
        _at("expires_at"),
        _at("used_at", nullable=True),
        _at("collected_at", nullable=True),
        sa.Column("collected_by", sa.String(100), nullable=True),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name="fk_pending_credentials_borrower_id_borrowers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_pending_credentials"),
    )
    op.create_index("ix_pending_credentials_borrower_id", "pending_credentials", ["borrower_id"])
    op.create_index("ix_pending_credentials_expires_at", "pending_credentials", ["expires_at"])

    op.create_table(
        "issued_usernames",
        sa.Column("digest", sa.String(64), nullable=False),
        _at("issued_at"),
        sa.PrimaryKeyConstraint("digest", name="pk_issued_usernames"),
    )


def _make_append_only(table: str) -> None:
    """Refuse UPDATE and DELETE on ``table`` in the database itself, whoever connects."""
    message = f"{table} is append-only: its rows are never updated or deleted"
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION fleetsync_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only: its rows are never updated or deleted', "
            "TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION fleetsync_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION fleetsync_refuse_change()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS fleetsync_refuse_change()")
    for table in (
        "issued_usernames",
        "pending_credentials",
        "device_commands",
        "outbox",
        "audit_events",
        "loan_extensions",
        "loans",
        "borrowers",
        "devices",
    ):
        op.drop_table(table)
