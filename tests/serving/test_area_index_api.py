"""The stored area index and its API: ``store_index`` upserts a ``weekly_area_index`` frame, and
GET /v1/areas/{code}/index and /v1/areas/index answer within the key's area only, on SQLite and
PostgreSQL. The frame is the real index of a small synthetic city (two counties) over four weeks."""

from __future__ import annotations

from typing import get_args

import pandas as pd
import pytest
from api_helpers import CITY, COUNTY, OTHER_COUNTY, OTHER_VILLAGE, TOWN, TOWN_2, VILLAGE, make_key
from index_factory import GRID_1, GRID_LOOKALIKE, OTHER_TOWN, WEEKS, index_frame
from sqlalchemy import func, select

from features.schema import AREA_LEVELS
from risk.index_trend import TREND_CLASSES
from risk.index_weekly import GRID
from serving.archive_schemas import IndexLevelName, TrendName
from serving.index_archive import store_index
from serving.tables import AreaIndex


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    out = index_frame()
    assert sorted(out["week"].unique()) == WEEKS and {GRID_1, GRID_LOOKALIKE} <= set(out["area_code"])
    return out


def _stored(client, frame: pd.DataFrame, version: str = "7") -> None:
    store_index(client.app.state.runtime.engine, frame, version, batch_rows=7)  # several batches


def _row(frame: pd.DataFrame, code: str, week: str) -> pd.Series:
    return frame[(frame["area_code"] == code) & (frame["week"] == week)].iloc[0]


def test_an_area_answers_its_last_weeks_and_its_childrens_newest_week(start, db_url, frame) -> None:
    with start(db_url) as client:
        _stored(client, frame)
        analyst = make_key(client, "analyst", COUNTY)
        r = client.get(f"/v1/areas/{TOWN}/index", params={"weeks": 3}, headers=analyst.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["area_code"], body["name"], body["level"], body["parent_code"]) == (
        TOWN,
        "城东街道",
        "town",
        COUNTY,
    )
    assert [w["week"] for w in body["weeks"]] == WEEKS[1:] and body["children_week"] == WEEKS[-1]
    for week in body["weeks"]:
        expected = _row(frame, TOWN, week["week"])
        assert week["index"] == pytest.approx(expected["index"]) and week["band"] == expected["band"]
        assert (week["lower"], week["upper"]) == pytest.approx((expected["lower"], expected["upper"]))
        assert week["trend"] == expected["trend"] and week["model_version"] == "7"
        assert week["drivers"]["volume"] == pytest.approx(expected["driver_volume"], rel=1e-5)
        assert week["categories"]["邻里纠纷"] == pytest.approx(
            expected["category_邻里纠纷"], rel=1e-5, abs=1e-9
        )
        assert week["cases"] == expected["cases"] and week["week_start"] == str(expected["week_start"].date())
    assert [c["area_code"] for c in body["children"]] == [VILLAGE]  # TOWN's one village


def test_another_countys_key_gets_404_and_never_its_rows(start, db_url, frame) -> None:
    with start(db_url) as client:
        _stored(client, frame)
        other = make_key(client, "analyst", OTHER_COUNTY)
        own = make_key(client, "admin", COUNTY)
        outside = client.get(f"/v1/areas/{VILLAGE}/index", headers=other.headers)
        unknown = client.get("/v1/areas/320699999999/index", headers=other.headers)
        above = client.get(f"/v1/areas/{CITY}/index", headers=own.headers)
        grid = client.get(f"/v1/areas/{GRID_LOOKALIKE}/index", headers=other.headers)
        own_grid = client.get(f"/v1/areas/{GRID_LOOKALIKE}/index", headers=own.headers)
        village_children = client.get(f"/v1/areas/{VILLAGE}/index", headers=own.headers).json()["children"]
        ranked = {
            level: client.get("/v1/areas/index", params={"level": level}, headers=other.headers).json()
            for level in ("county", "town", "village", GRID)
        }
    assert outside.status_code == unknown.status_code == above.status_code == grid.status_code == 404
    assert outside.json() == {
        "error": "not_found",
        "message": f"no area index for area {VILLAGE}",
        "detail": [],
    }
    assert own_grid.status_code == 200 and {c["area_code"] for c in village_children} == {
        GRID_1,
        GRID_LOOKALIKE,
    }
    seen = {a["area_code"] for page in ranked.values() for a in page["areas"]}
    assert seen == {OTHER_COUNTY, OTHER_TOWN, OTHER_VILLAGE}
    assert ranked[GRID]["areas"] == [] and ranked[GRID]["total"] == 0


def test_the_ranking_is_one_level_in_the_callers_area_highest_first(start, db_url, frame) -> None:
    with start(db_url) as client:
        _stored(client, frame)
        admin = make_key(client, "admin")
        county = make_key(client, "analyst", COUNTY)
        latest = client.get("/v1/areas/index", params={"level": "village"}, headers=admin.headers).json()
        one = client.get(
            "/v1/areas/index", params={"level": "village", "limit": 1}, headers=admin.headers
        ).json()
        earlier = client.get(
            "/v1/areas/index", params={"level": "town", "week": WEEKS[0]}, headers=county.headers
        ).json()
        missing = client.get("/v1/areas/index", params={"week": "2019-W01"}, headers=admin.headers).json()
    expected = frame[(frame["level"] == "village") & (frame["week"] == WEEKS[-1])].sort_values(
        "index", ascending=False
    )
    assert latest["week"] == WEEKS[-1] and latest["total"] == 3
    assert [a["area_code"] for a in latest["areas"]] == list(expected["area_code"])
    assert one["total"] == 3 and [a["area_code"] for a in one["areas"]] == [expected["area_code"].iloc[0]]
    assert earlier["week"] == WEEKS[0] and {a["area_code"] for a in earlier["areas"]} == {TOWN, TOWN_2}
    assert missing == {"level": "town", "week": "2019-W01", "total": 0, "limit": 50, "areas": []}


def test_storing_again_replaces_each_area_and_week(start, db_url, frame) -> None:
    changed = frame.assign(index=frame["index"] / 2, band="无")
    with start(db_url) as client:
        _stored(client, frame, "7")
        with client.app.state.runtime.session() as session:  # half the rows again, changed
            store_index(session, changed.iloc[: len(frame) // 2], "8", batch_rows=50)
            n = session.scalar(select(func.count()).select_from(AreaIndex))
            versions = dict(
                session.execute(
                    select(AreaIndex.model_version, func.count()).group_by(AreaIndex.model_version)
                ).all()
            )
            first = session.get(AreaIndex, (frame["area_code"].iloc[0], frame["week"].iloc[0]))
    assert n == len(frame) and versions == {"8": len(frame) // 2, "7": len(frame) - len(frame) // 2}
    assert first is not None and first.band == "无"
    assert first.index == pytest.approx(frame["index"].iloc[0] / 2)


def test_only_analysts_and_admins_read_the_index_and_bad_parameters_are_named(
    start, sqlite_url, frame
) -> None:
    with start(sqlite_url) as client:
        _stored(client, frame)
        supervisor = make_key(client, "supervisor", COUNTY)
        analyst = make_key(client, "analyst")
        refused = client.get(f"/v1/areas/{TOWN}/index", headers=supervisor.headers)
        no_key = client.get("/v1/areas/index")
        zero = client.get(f"/v1/areas/{TOWN}/index", params={"weeks": 0}, headers=analyst.headers)
        level = client.get("/v1/areas/index", params={"level": "街道"}, headers=analyst.headers)
        week = client.get("/v1/areas/index", params={"week": "2025-13"}, headers=analyst.headers)
    assert refused.status_code == 403 and no_key.status_code == 401
    assert [r.status_code for r in (zero, level, week)] == [422, 422, 422]
    assert [d["field"] for r in (zero, level, week) for d in r.json()["detail"]] == ["weeks", "level", "week"]


def test_the_vocabularies_are_the_index_s_own() -> None:
    assert get_args(TrendName) == TREND_CLASSES
    assert get_args(IndexLevelName) == (*AREA_LEVELS, GRID)
