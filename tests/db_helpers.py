"""Database helpers shared by the serving and CLI tests."""

from __future__ import annotations


def migration_head() -> str:
    """The newest migration's revision id (what a migrated database reports)."""
    from alembic.script import ScriptDirectory

    from serving.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head
