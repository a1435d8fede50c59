"""What the weekly report and the area index read of the 督办 queue: the items overdue at a time,
and how many each responsible area had overdue at the end of each week.

An item's state at a past time is read off its timestamps, by the rule ``queue.refresh_due``
applies live: not yet signed for, the respond deadline runs; signed without a first note, the
feedback deadline; after that, none. An item escalated (提级) since has moved desks and had its
clock restarted, so for a time before its last 提级 this is a close reading, not an exact replay.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine

from serving.tables import Item

ITEM_COLUMNS = (
    "item_id", "case_id", "area_code", "level", "status", "opened_at", "respond_by", "feedback_by",
    "signed_at", "feedback_at", "closed_at",
)  # fmt: skip


def queue_items(engine: Engine, *, opened_before: datetime) -> pd.DataFrame:
    """Every item opened before a time, with the timestamps its state at any time is read from
    (UTC, timezone-aware)."""
    stmt = select(
        Item.id, Item.case_id, Item.area_code, Item.level, Item.status, Item.opened_at, Item.respond_by,
        Item.feedback_by, Item.signed_at, Item.feedback_at, Item.closed_at,
    ).where(Item.opened_at < opened_before)  # fmt: skip
    with engine.connect() as conn:
        # a queue database never migrated (no item ever opened here) has no overdue items
        rows = conn.execute(stmt).all() if inspect(conn).has_table(Item.__tablename__) else []
    frame = pd.DataFrame(rows, columns=list(ITEM_COLUMNS))
    for column in ITEM_COLUMNS[5:]:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _due_at(items: pd.DataFrame, at: pd.Timestamp) -> pd.Series:
    """The deadline running at ``at`` for each item open then (NaT when none is, or it is closed)."""
    open_then = (items["opened_at"] <= at) & ~(items["closed_at"] <= at)
    signed = items["signed_at"] <= at
    noted = items["feedback_at"] <= at
    due = items["respond_by"].where(~signed, items["feedback_by"].where(~noted))
    return due.where(open_then)


def overdue_at(items: pd.DataFrame, at: datetime) -> pd.DataFrame:
    """The items overdue at ``at``: item_id, case_id, area_code, level, status, due_at, hours_overdue."""
    when = pd.Timestamp(at)
    due = _due_at(items, when)
    late = due < when
    out = items.loc[late, ["item_id", "case_id", "area_code", "level", "status"]].copy()
    out["due_at"] = due[late]
    out["hours_overdue"] = (when - due[late]) / pd.Timedelta(hours=1)
    return out.sort_values("hours_overdue", ascending=False).reset_index(drop=True)


def overdue_by_week(items: pd.DataFrame, week_starts: pd.DatetimeIndex, timezone: str) -> pd.DataFrame:
    """area_code, week_start, overdue_items: the items each responsible area had overdue at the end
    of each week (week starts are naive wall time in ``timezone``), as the area index reads them."""
    parts = []
    for start in week_starts:
        end = (pd.Timestamp(start) + pd.Timedelta(days=7)).tz_localize(timezone)
        late = _due_at(items, end) < end
        counts = items.loc[late].groupby("area_code").size()
        parts.append(
            pd.DataFrame({"area_code": counts.index, "week_start": start, "overdue_items": counts.to_numpy()})
        )
    if not parts:
        return pd.DataFrame({"area_code": [], "week_start": [], "overdue_items": np.array([], dtype=int)})
    return pd.concat(parts, ignore_index=True)
