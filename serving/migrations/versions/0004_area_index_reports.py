"""The stored area index (one row per area and ISO week, upserted by ``risk index --store``) and
the weekly report archive (one report per week and scope, replaced by a re-run).

Revision ID: 0004
Revises: 0003
Create Date: 2025-08-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "area_index",
        sa.Column("area_code", sa.String(64), primary_key=True),  # 统计用区划代码 or grid_code
        sa.Column("week", sa.String(8), primary_key=True),  # ISO week, "2026-W09"
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_code", sa.String(64), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("index", sa.Float(), nullable=False),
        sa.Column("lower", sa.Float(), nullable=False),
        sa.Column("upper", sa.Float(), nullable=False),
        sa.Column("band", sa.String(2), nullable=False),
        sa.Column("trend", sa.String(16), nullable=False),
        sa.Column("red_3_weeks", sa.Boolean(), nullable=False),
        sa.Column("forecast_escalations", sa.Float(), nullable=False),
        sa.Column("expected_escalations", sa.Float(), nullable=False),
        sa.Column("open_cases", sa.Integer(), nullable=False),
        sa.Column("warnings", sa.Integer(), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.Column("overdue_items", sa.Integer(), nullable=False),
        sa.Column("population", sa.Float(), nullable=True),
        sa.Column("top_drivers", sa.Text(), nullable=False),
        sa.Column("drivers", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("model_version", sa.String(32), nullable=True),
        sa.Column("computed_at", sa.DateTime(), nullable=False),  # naive UTC
    )
    op.create_index("ix_area_index_level_week", "area_index", ["level", "week"])
    op.create_index("ix_area_index_parent_week", "area_index", ["parent_code", "week"])
    op.create_table(
        "weekly_reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("week", sa.String(8), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("scope_code", sa.String(12), nullable=True),  # NULL: every area
        sa.Column("scope_key", sa.String(12), nullable=False),  # scope_code, "" for every area
        sa.Column("scope_name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),  # naive UTC
        sa.Column("generated_at", sa.DateTime(), nullable=True),  # naive UTC
        sa.Column("model_version", sa.String(32), nullable=True),
        sa.Column("headline", sa.JSON(), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("score_drift", sa.Float(), nullable=True),
        sa.Column("health_warnings", sa.JSON(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.UniqueConstraint("week", "scope_key", name="uq_weekly_reports_week_scope"),
    )


def downgrade() -> None:
    op.drop_table("weekly_reports")
    op.drop_index("ix_area_index_parent_week", table_name="area_index")
    op.drop_index("ix_area_index_level_week", table_name="area_index")
    op.drop_table("area_index")
