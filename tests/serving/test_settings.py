"""Settings fail fast on a bad value and read the conventional environment variables."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from serving.settings import Settings


def test_database_url_and_tracking_uri_come_from_the_usual_variables(monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////srv/mlflow.db")
    monkeypatch.setenv("RISK_QUEUE_LEVEL", "off")
    s = Settings()
    assert (s.database_url, s.mlflow_tracking_uri, s.queue_level) == (
        "postgresql+psycopg://u@h/db",
        "sqlite:////srv/mlflow.db",
        None,
    )


def test_unknown_queue_level_is_refused() -> None:
    with pytest.raises(ValidationError, match="queue_level must be one of 红/橙/黄/蓝 or off, got '紫'"):
        Settings(queue_level="紫")


def test_every_level_that_opens_items_needs_deadlines() -> None:
    with pytest.raises(
        ValidationError, match=r"deadlines_hours must cover every level that opens an item, missing \['蓝'\]"
    ):
        Settings(queue_level="蓝")


def test_a_deadline_to_respond_after_the_feedback_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"deadlines_hours\[红\] must satisfy 0 < respond <= feedback"):
        Settings(deadlines_hours={"红": (30, 24), "橙": (12, 48), "黄": (24, 168)})
