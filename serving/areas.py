"""The area table in the queue database: loaded from an area-code file (``risk areas load``), read
at start-up as an ``AreaTree`` that routes new items to their 镇/街道, and consulted when a key
is made for an area (an unknown code is refused once the table holds any area)."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from features import area_codes
from features.areas import AreaTree, load_area_codes
from features.errors import RecordError
from serving.tables import Area

log = logging.getLogger(__name__)

UNCHECKED_WARNING = (
    "the area table is empty, so area {code} was checked for its structure only; "
    "load the 统计用区划代码 with `risk areas load FILE`"
)


def load_file(session: Session, path: str | Path) -> int:
    """Replace the table with the areas of ``path`` (contract- or NBS-shaped, CSV or Parquet);
    the number of areas. The caller commits: the old table stays until the new one is whole."""
    frame = load_area_codes(path)
    rows = [
        {
            "area_code": r.area_code,
            "name": r.name,
            "level": r.level,
            "parent_code": r.parent_code,
            "population": None if pd.isna(r.population) else float(r.population),
        }
        for r in frame.itertuples(index=False)
    ]
    session.execute(delete(Area))
    if rows:
        session.execute(insert(Area), rows)
    return len(rows)


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Area)) or 0


def tree(session: Session) -> AreaTree | None:
    """The table as an AreaTree, or None while it is empty."""
    rows = session.execute(select(Area.area_code, Area.name, Area.level, Area.parent_code, Area.population))
    frame = pd.DataFrame(rows.all(), columns=["area_code", "name", "level", "parent_code", "population"])
    return None if frame.empty else AreaTree.from_frame(frame)


def check_key_area(session: Session, code: str, field: str = "area_code") -> list[str]:
    """Refuse an area a new key may not name; the warnings to pass on (an unchecked code)."""
    area_codes.check(code, field)
    if session.get(Area, code) is not None:
        return []
    if count(session) > 0:
        raise RecordError(field, code, "must be an area in the area table (risk areas load)")
    warning = UNCHECKED_WARNING.format(code=code)
    log.warning("key area not checked against an area table", extra={"area_code": code})
    return [warning]
