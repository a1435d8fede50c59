"""The stored 社会矛盾风险指数: ``store_index`` upserts the rows of ``risk.area_index.weekly_area_index``
into ``area_index``; the readers answer with the rows a caller's area scope covers.

A scope covers an area's row when the area lies within it; a 网格 (grid codes follow no rule) is
covered by its village. Rows outside a scope are never read, so an answer cannot carry them.

``store_index`` commits every ``batch_rows`` rows: a full history is ~1M rows, and on SQLite one
transaction that long would keep the API's writers (scoring, the 督办 queue) waiting on the
database lock. Each batch is an upsert by (area_code, week), so a run cut short leaves old and
new rows side by side and a re-run completes it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Dialect, Engine, and_, func, or_, select, true
from sqlalchemy.orm import Session

from features import area_codes
from features.errors import DisputeRiskError
from features.schema import CATEGORIES
from risk.index_drivers import DRIVERS
from risk.index_weekly import GRID
from serving.errors import NotFound
from serving.tables import AreaIndex

log = logging.getLogger(__name__)

BATCH_ROWS: Final = 5_000
_KEY: Final = ("area_code", "week")
_TEXT: Final = ("area_code", "week", "level", "name", "band", "trend", "top_drivers")
_NUMBERS: Final = ("index", "lower", "upper", "forecast_escalations", "expected_escalations")
_COUNTS: Final = ("open_cases", "warnings", "cases", "escalations", "overdue_items")
_DRIVER_COLUMNS: Final = tuple(f"driver_{d}" for d in DRIVERS)
_CATEGORY_COLUMNS: Final = tuple(f"category_{c}" for c in CATEGORIES)
REQUIRED: Final = (
    *_TEXT, *_NUMBERS, *_COUNTS, "parent_code", "week_start", "red_3_weeks", "population",
    *_DRIVER_COLUMNS, *_CATEGORY_COLUMNS,
)  # fmt: skip


def store_index(
    target: Engine | Session,
    frame: pd.DataFrame,
    model_version: str | None,
    *,
    computed_at: datetime | None = None,
    batch_rows: int = BATCH_ROWS,
) -> int:
    """Upsert the rows of an index frame (``risk.area_index.OUTPUT_COLUMNS``), committing every
    ``batch_rows`` rows; the number of rows stored.

    The rows go to the driver as plain tuples, built column by column (the JSON shares by a fixed
    template, dates and times converted once per distinct value by the columns' own types): per-row
    work in SQLAlchemy and ``json`` would cost more than the database does."""
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise DisputeRiskError(f"the index frame must have the columns of risk.area_index, missing {missing}")
    if batch_rows < 1:
        raise DisputeRiskError(f"batch_rows must be >= 1, got {batch_rows}")
    engine = target if isinstance(target, Engine) else target.get_bind()
    dialect = engine.dialect
    sql = _upsert_sql(dialect)
    fixed = {"model_version": model_version, "computed_at": computed_at or datetime.now(UTC)}
    for start in range(0, len(frame), batch_rows):
        rows = _rows(frame.iloc[start : start + batch_rows], fixed, dialect)
        if isinstance(target, Session):
            target.connection().exec_driver_sql(sql, rows)
            target.commit()
        else:
            with target.begin() as conn:
                conn.exec_driver_sql(sql, rows)
    log.info("area index stored", extra={"rows": len(frame), "model_version": model_version})
    return len(frame)


def _upsert_sql(dialect: Dialect) -> str:
    """INSERT ... ON CONFLICT (area_code, week) DO UPDATE every other column, in the driver's
    parameter style (the same statement on SQLite and PostgreSQL)."""
    if dialect.name not in ("sqlite", "postgresql"):
        raise DisputeRiskError(f"the index is stored in SQLite or PostgreSQL, got a {dialect.name} database")
    quote = dialect.identifier_preparer.quote
    columns = [c.name for c in AreaIndex.__table__.columns]
    names = [quote(c) for c in columns]
    marker = "?" if dialect.paramstyle == "qmark" else "%s"  # psycopg takes %s for pyformat too
    changed = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in columns if c not in _KEY)
    return (
        f"INSERT INTO {quote(AreaIndex.__tablename__)} ({', '.join(names)}) "
        f"VALUES ({', '.join([marker] * len(names))}) "
        f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET {changed}"
    )


def _rows(part: pd.DataFrame, fixed: dict[str, Any], dialect: Dialect) -> list[tuple[Any, ...]]:
    """The frame's rows as driver-ready tuples in the table's column order, built column by column."""
    columns: dict[str, list[Any]] = {c: part[c].fillna("").astype(str).tolist() for c in _TEXT}
    columns |= {c: part[c].astype(float).tolist() for c in _NUMBERS}
    columns |= {c: part[c].astype(float).round().astype(np.int64).tolist() for c in _COUNTS}
    columns["parent_code"] = _optional(part["parent_code"])
    columns["population"] = _optional(part["population"].astype(float))
    columns["red_3_weeks"] = part["red_3_weeks"].astype(bool).tolist()
    to_db = _converter(dialect)
    weeks = part.drop_duplicates("week")
    mondays = {
        w: to_db("week_start", pd.Timestamp(m).date())
        for w, m in zip(weeks["week"], weeks["week_start"], strict=True)
    }
    columns["week_start"] = [mondays[w] for w in columns["week"]]
    columns["drivers"] = _json_lines(part, _DRIVER_COLUMNS, DRIVERS)
    columns["categories"] = _json_lines(part, _CATEGORY_COLUMNS, CATEGORIES)
    for name, value in fixed.items():
        columns[name] = [to_db(name, value)] * len(part)
    return list(zip(*(columns[c.name] for c in AreaIndex.__table__.columns), strict=True))


def _converter(dialect: Dialect) -> Callable[[str, Any], Any]:
    """A column's value as its type binds it for ``dialect`` (a date as SQLite's text, ...)."""
    table = AreaIndex.__table__

    def convert(name: str, value: Any) -> Any:
        processor = table.columns[name].type.dialect_impl(dialect).bind_processor(dialect)
        return value if processor is None else processor(value)

    return convert


def _optional(values: pd.Series) -> list[Any]:
    return values.astype(object).where(values.notna(), None).tolist()


def _json_lines(part: pd.DataFrame, columns: tuple[str, ...], names: tuple[str, ...]) -> list[str]:
    """One JSON object {name: share} per row, shares to 6 significant digits (a fixed template:
    a third of the cost of ``json.dumps``)."""
    template = "{" + ",".join(f"{json.dumps(n, ensure_ascii=False)}:%.6g" for n in names) + "}"
    shares = np.nan_to_num(part[list(columns)].to_numpy(dtype=float))
    return [template % tuple(row) for row in shares.tolist()]


# ---- readers -------------------------------------------------------------------------------------


def in_scope(scope: str | None) -> ColumnElement[bool]:
    """Rows a caller limited to ``scope`` may read (None: all): its areas, and the grids of its villages."""
    if scope is None:
        return true()
    p = area_codes.prefix(scope)
    return or_(
        and_(AreaIndex.level != GRID, AreaIndex.area_code.startswith(p)),
        and_(AreaIndex.level == GRID, AreaIndex.parent_code.startswith(p)),
    )


def index_of(session: Session, code: str, weeks: int, scope: str | None) -> list[AreaIndex]:
    """The area's rows of its last ``weeks`` stored weeks, oldest first; an area outside the
    scope is answered exactly as one never stored (NotFound)."""
    stmt = (
        select(AreaIndex)
        .where(AreaIndex.area_code == code, in_scope(scope))
        .order_by(AreaIndex.week.desc())
        .limit(weeks)
    )
    rows = list(session.scalars(stmt))
    if not rows:
        raise NotFound(f"no area index for area {code}")
    return rows[::-1]


def children_of(session: Session, code: str, week: str, scope: str | None) -> list[AreaIndex]:
    """The rows of the area's children (one level down, grids under a village) in ``week``,
    highest index first."""
    stmt = (
        select(AreaIndex)
        .where(AreaIndex.parent_code == code, AreaIndex.week == week, in_scope(scope))
        .order_by(AreaIndex.index.desc(), AreaIndex.area_code)
    )
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class Ranking:
    level: str
    week: str | None  # None: nothing stored at this level
    total: int  # areas of the level in the caller's scope that week
    rows: list[AreaIndex]  # the first ``limit``, highest index first


def latest_week(session: Session, level: str) -> str | None:
    """The newest week stored at ``level`` (one lookup on the (level, week) index)."""
    return session.scalar(select(func.max(AreaIndex.week)).where(AreaIndex.level == level))


def ranking(session: Session, level: str, week: str | None, scope: str | None, limit: int) -> Ranking:
    """The areas of ``level`` within the scope in ``week`` (default: the newest week stored at
    that level), highest index first."""
    week = week or latest_week(session, level)
    if week is None:
        return Ranking(level, None, 0, [])
    where = (AreaIndex.level == level, AreaIndex.week == week, in_scope(scope))
    total = session.scalar(select(func.count()).select_from(AreaIndex).where(*where)) or 0
    stmt = select(AreaIndex).where(*where).order_by(AreaIndex.index.desc(), AreaIndex.area_code).limit(limit)
    return Ranking(level, week, total, list(session.scalars(stmt)))
