"""The stored 社会矛盾风险指数 (``risk index --store``): an area's recent weeks with its children
for drill-down, and the ranking of one level. Analysts and admins; the key's area scope applies,
and an area outside it answers exactly as one never stored (404)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from serving import index_archive
from serving.archive_schemas import AreaIndexOut, AreaWeekOut, IndexLevelName, RankingOut, Week
from serving.deps import Analyst, RuntimeDep, SessionDep
from serving.field_types import ID_PATTERN
from serving.routes.items import MAX_ID
from serving.schemas import error_responses

router = APIRouter(prefix="/v1/areas", tags=["area index"], responses=error_responses(401, 403, 422))

IndexCode = Annotated[
    str,
    Path(pattern=ID_PATTERN, max_length=64, description="a 12-digit 统计用区划代码, or a grid_code"),
]
_MISSING: dict[int | str, dict[str, Any]] = {
    404: {"description": "no index stored for the area, or the area lies outside the key's area"}
}


@router.get("/index", response_model=RankingOut)
def area_ranking(
    user: Analyst,
    session: SessionDep,
    rt: RuntimeDep,
    level: Annotated[IndexLevelName, Query(description="the level ranked")] = "town",
    week: Annotated[Week | None, Query(description="default: the newest week stored")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ID, description="at most page_max (200) are served")] = 50,
) -> RankingOut:
    """The areas of one level within the caller's area, highest index first."""
    limit = min(limit, rt.settings.page_max)
    found = index_archive.ranking(session, level, week, user.area_code, limit)
    areas = [AreaWeekOut.of(row) for row in found.rows]
    return RankingOut(level=level, week=found.week, total=found.total, limit=limit, areas=areas)


@router.get("/{code}/index", response_model=AreaIndexOut, responses=_MISSING)
def area_index(
    code: IndexCode,
    user: Analyst,
    session: SessionDep,
    weeks: Annotated[int, Query(ge=1, le=260, description="how many of its last weeks")] = 12,
) -> AreaIndexOut:
    """An area's index over its last ``weeks`` stored weeks (band, trend, interval, drivers), and
    its children's rows of the newest of those weeks."""
    rows = index_archive.index_of(session, code, weeks, user.area_code)
    return AreaIndexOut.of(rows, index_archive.children_of(session, code, rows[-1].week, user.area_code))
