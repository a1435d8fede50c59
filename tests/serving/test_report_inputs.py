"""What the weekly report reads of the 督办 queue: overdue items at a time and by week, read off the
items' timestamps, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from api_helpers import VILLAGE, make_key, red_case
from sqlalchemy import create_engine

from serving.report_inputs import overdue_at, overdue_by_week, queue_items


def test_an_unsigned_red_item_is_overdue_after_its_respond_deadline(start, db_url, clock) -> None:
    opened = clock.now
    with start(db_url) as client:
        headers = make_key(client, "intake", VILLAGE).headers
        assert client.post("/v1/cases/score", json=red_case("R1"), headers=headers).status_code == 200
    engine = create_engine(db_url)
    items = queue_items(engine, opened_before=opened + timedelta(days=1))
    assert list(items["case_id"]) == ["R1"]
    assert overdue_at(items, opened + timedelta(hours=1)).empty  # 红: 2 h to sign for
    late = overdue_at(items, opened + timedelta(hours=5))
    assert list(late["case_id"]) == ["R1"] and late["hours_overdue"].iloc[0] == 3.0
    assert late["area_code"].iloc[0] == "320612001000"  # the responsible town's desk
    weeks = pd.DatetimeIndex([pd.Timestamp("2025-02-24"), pd.Timestamp("2025-03-03")])
    weekly = overdue_by_week(items, weeks, "Asia/Shanghai")
    assert weekly.to_dict("records") == [
        {"area_code": "320612001000", "week_start": pd.Timestamp("2025-03-03"), "overdue_items": 1}
    ]
    engine.dispose()


def test_a_queue_database_never_migrated_has_no_items(tmp_path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    assert queue_items(engine, opened_before=pd.Timestamp("2026-01-01", tz="UTC").to_pydatetime()).empty
