"""The 督办 queue: API keys, scored cases (no narrative, no names), items, audit log.

Revision ID: 0001
Revises:
Create Date: 2025-03-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Timestamps are naive UTC (serving.tables.UTCDateTime), registered_at naive Shanghai time.
TS = sa.DateTime()


# One statement per table: a migration reads as the schema it creates, so it is not split.
def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("area_code", sa.String(12), nullable=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("key_prefix", sa.String(12), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
    )
    op.create_table(
        "scored_cases",
        sa.Column("case_id", sa.String(64), primary_key=True),
        sa.Column("area_code", sa.String(12), nullable=False, index=True),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("registered_at", TS, nullable=False),
        sa.Column("risk", sa.Float(), nullable=False),
        sa.Column("model_level", sa.String(2), nullable=False),
        sa.Column("level", sa.String(2), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("model_name", sa.String(100), nullable=False),
        sa.Column("model_version", sa.String(32), nullable=True),
        sa.Column("scored_at", TS, nullable=False),
        sa.Column("n_scores", sa.Integer(), nullable=False),
    )
    op.create_table(
        "items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "case_id", sa.String(64), sa.ForeignKey("scored_cases.case_id"), nullable=False, unique=True
        ),
        sa.Column("area_code", sa.String(12), nullable=False, index=True),
        sa.Column("level", sa.String(2), nullable=False),
        sa.Column("status", sa.String(8), nullable=False, index=True),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("respond_by", TS, nullable=False),
        sa.Column("feedback_by", TS, nullable=False),
        sa.Column("due_at", TS, nullable=True, index=True),
        sa.Column("warn_at", TS, nullable=True),
        sa.Column("signed_at", TS, nullable=True),
        sa.Column("signed_by", sa.String(100), nullable=True),
        sa.Column("feedback_at", TS, nullable=True),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("escalated_at", TS, nullable=True),
        sa.Column("criminal_charge", sa.String(32), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", TS, nullable=False, index=True),
        sa.Column("key_id", sa.Integer(), sa.ForeignKey("api_keys.id"), nullable=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("items.id"), nullable=True),
        sa.Column("case_id", sa.String(64), nullable=True),
        sa.Column("from_status", sa.String(8), nullable=True),
        sa.Column("to_status", sa.String(8), nullable=True),
        sa.Column("from_level", sa.String(2), nullable=True),
        sa.Column("to_level", sa.String(2), nullable=True),
        sa.Column("from_area", sa.String(12), nullable=True),
        sa.Column("to_area", sa.String(12), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
    )
    op.create_index("ix_audit_log_item_id_at", "audit_log", ["item_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_item_id_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("items")
    op.drop_table("scored_cases")
    op.drop_table("api_keys")
