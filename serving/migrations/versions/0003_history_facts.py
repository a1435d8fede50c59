"""The history facts: every scored case's history inputs and every 民转刑 close, appended in the
transaction that answers, so that a restarted, reloaded or second server process rebuilds the
same as-of history (serving.history_facts).

Revision ID: 0003
Revises: 0002
Create Date: 2025-07-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "history_facts",
        # 64-bit on a server database; on SQLite only INTEGER PRIMARY KEY is the (64-bit) rowid.
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("registered_at", sa.DateTime(), nullable=True),  # naive Shanghai wall time
        sa.Column("area_code", sa.String(12), nullable=True),
        sa.Column("parties", sa.JSON(), nullable=True),
        sa.Column("police_calls_before", sa.Integer(), nullable=True),
        sa.Column("mediation_attempts", sa.Integer(), nullable=True),
        sa.Column("cues", sa.JSON(), nullable=True),
        sa.Column("escalated_at", sa.DateTime(), nullable=True),  # naive Shanghai wall time
        sa.Column("recorded_at", sa.DateTime(), nullable=False),  # naive UTC
    )
    op.create_index("ix_history_facts_case_id", "history_facts", ["case_id"])
    op.create_index("ix_history_facts_registered_at", "history_facts", ["registered_at"])
    op.create_index("ix_history_facts_escalated_at", "history_facts", ["escalated_at"])


def downgrade() -> None:
    op.drop_table("history_facts")
