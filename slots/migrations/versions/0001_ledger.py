"""The ledger: tokens, requests, audit log, the ledger lock row.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("department", sa.String(16), nullable=True),
        sa.Column("operator", sa.Boolean, nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
    )
    op.create_table(
        "requests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("department", sa.String(16), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("earliest_week", sa.Date, nullable=False),
        sa.Column("latest_week", sa.Date, nullable=False),
        sa.Column("granted_week", sa.Date, nullable=True),
        sa.Column("suggested_week", sa.Date, nullable=True),
        sa.Column("binding", sa.String(16), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("system_count", sa.Integer, nullable=False),
        sa.Column("data_volume_gb", sa.Float, nullable=False),
        sa.Column("weight", sa.Integer, nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("department", "idempotency_key", name="uq_requests_idempotency"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("request_id", sa.Integer, nullable=True, index=True),
        sa.Column("detail", sa.Text, nullable=False),
    )
    lock = op.create_table(
        "ledger_lock",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.bulk_insert(lock, [{"id": 1, "version": 0}])


def downgrade() -> None:
    for table in ("ledger_lock", "audit_log", "requests", "tokens"):
        op.drop_table(table)
