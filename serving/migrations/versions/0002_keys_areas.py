"""Key expiry and the area table.

Revision ID: 0002
Revises: 0001
Create Date: 2025-06-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))
    op.create_table(
        "areas",
        sa.Column("area_code", sa.String(12), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_code", sa.String(12), nullable=True),
        sa.Column("population", sa.Float(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("areas")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("expires_at")
