"""The web console: its users (argon2 password hashes, role, area scope, lock-out state), their
server-side sessions, the first issue of each 预警提示函, and the acting user on audit rows.

Revision ID: 0005
Revises: 0004
Create Date: 2025-08-15
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime()  # naive UTC (serving.tables.UTCDateTime)


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("area_code", sa.String(12), nullable=True),  # NULL: every area
        sa.Column("created_at", TS, nullable=False),
        sa.Column("password_changed_at", TS, nullable=False),
        sa.Column("disabled_at", TS, nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("last_login_at", TS, nullable=True),
    )
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("console_users.id"), nullable=False, index=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_table(
        "notice_issues",
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("items.id"), primary_key=True),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("issued_by", sa.String(100), nullable=False),
    )
    # A plain ADD COLUMN on both backends, no copy of the audit log however long it is. SQLite
    # takes a REFERENCES clause on a new nullable column, but Alembic would only add the
    # constraint by copying the table (batch mode): so the statement is written out for SQLite.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE audit_log ADD COLUMN user_id INTEGER REFERENCES console_users (id)")
    else:
        op.add_column("audit_log", sa.Column("user_id", sa.Integer(), nullable=True))
        op.create_foreign_key("fk_audit_log_user_id", "audit_log", "console_users", ["user_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("user_id")
    op.drop_table("notice_issues")
    op.drop_table("console_sessions")
    op.drop_table("console_users")
