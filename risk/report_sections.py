"""The sections of the weekly report, each from the tables ``build_weekly_report`` was given
(already scoped to the report's area): headline, ranking, trends, category hotspots, warnings,
overdue items, model health."""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from features.areas import AreaTree
from features.personal_data import mask_personal
from features.schema import AREA_LEVEL_NAMES
from risk.levels import LEVELS, ORANGE, RED
from risk.weeks import week_start

INDEX_COLUMNS: Final = (
    "area_code", "level", "parent_code", "name", "week", "week_start", "index", "lower", "upper", "band",
    "trend", "red_3_weeks", "expected_escalations", "cases", "escalations", "top_drivers",
)  # fmt: skip
CASE_COLUMNS: Final = (
    "case_id",
    "area_code",
    "registered_at",
    "category",
    "risk",
    "level",
    "reasons",
    "flags",
)
OVERDUE_COLUMNS: Final = ("item_id", "case_id", "area_code", "level", "status", "due_at", "hours_overdue")
HEALTH_COLUMNS: Final = (
    "week", "n", "predicted_escalations", "realised_escalations", "predicted_rate", "realised_rate",
    "estimated_auc", "realised_auc",
)  # fmt: skip
RED_ORANGE: Final = (RED, ORANGE)  # the levels whose new warnings the report lists
HOTSPOTS: Final = 3
DAY: Final = pd.Timedelta(days=1)


def level_name(level: str) -> str:
    """The Chinese name of an index level.

    >>> level_name("town"), level_name("grid")
    ('镇', '网格')
    """
    return AREA_LEVEL_NAMES.get(level, "网格" if level == "grid" else level)


def name(tree: AreaTree, code: object) -> str:
    return tree.name(str(code)) if code in tree else str(code)


def parent_name(tree: AreaTree, code: object) -> str:
    parent = tree.parent(str(code)) if code in tree else None
    return "" if parent is None else tree.name(parent)


def in_week(times: pd.Series, start: pd.Timestamp, weeks: int = 1) -> pd.Series:
    times = pd.to_datetime(times)
    return (times >= start) & (times < start + 7 * weeks * DAY)


def headline(
    this: pd.DataFrame,
    before: pd.DataFrame,
    cases: pd.DataFrame,
    start: pd.Timestamp,
    overdue: pd.DataFrame,
    tree: AreaTree,
    scope: str | None,
    levels: list[str],
) -> pd.DataFrame:
    roots = [scope] if scope is not None else [c for c in this["area_code"] if tree.parent(c) is None]

    def index_total(frame: pd.DataFrame, column: str) -> float:
        return float(frame.loc[frame["area_code"].isin(roots), column].sum()) if len(frame) else np.nan

    def case_counts(begin: pd.Timestamp) -> tuple[int, int]:
        week = cases[in_week(cases["registered_at"], begin)]
        return len(week), int(week["level"].isin(RED_ORANGE).sum())

    (n_now, warn_now), (n_before, warn_before) = case_counts(start), case_counts(start - 7 * DAY)
    rows = [
        ("cases", "本周登记纠纷（件）", n_now, n_before),
        ("new_warnings", "新增红/橙预警（件）", warn_now, warn_before),
        ("expected_escalations", "预期民转刑（起，指数口径）", *(index_total(f, "expected_escalations") for f in (this, before))),
        ("escalations", "已发生民转刑（起）", *(index_total(f, "escalations") for f in (this, before))),
    ]  # fmt: skip
    for level in levels:
        hot = [int((f["level"].eq(level) & f["band"].isin(RED_ORANGE)).sum()) for f in (this, before)]
        rows.append((f"red_orange_{level}", f"红/橙{level_name(level)}级区域（个）", *hot))
    rows.append(("overdue_items", "超期督办事项（件）", len(overdue), np.nan))
    out = pd.DataFrame(rows, columns=["metric", "label", "value", "previous"])
    out[["value", "previous"]] = out[["value", "previous"]].astype("float64")
    out["change"] = out["value"] - out["previous"]
    return out


def ranking(
    this: pd.DataFrame, before: pd.DataFrame, tree: AreaTree, levels: list[str], top_n: int
) -> pd.DataFrame:
    previous = before.set_index("area_code")["index"]
    drivers = sorted(c for c in this.columns if str(c).startswith("driver_"))
    out = []
    for level in levels:
        rows = (
            this[this["level"] == level]
            .sort_values(["index", "area_code"], ascending=[False, True])
            .head(top_n)
        )
        out.append(rows.assign(rank=np.arange(1, len(rows) + 1)))
    ranked = pd.concat(out, ignore_index=True)
    ranked["parent_name"] = [parent_name(tree, c) for c in ranked["area_code"]]
    ranked["index_change"] = ranked["index"] - ranked["area_code"].map(previous).astype("float64")
    columns = ["level", "rank", "area_code", "name", "parent_name", "index", "lower", "upper", "band", "trend",
               "red_3_weeks", "index_change", "expected_escalations", "cases", "escalations", "top_drivers"]  # fmt: skip
    return ranked[columns + drivers]


def trends(
    index: pd.DataFrame, ranking: pd.DataFrame, start: pd.Timestamp, weeks: int, per_level: int
) -> pd.DataFrame:
    top = ranking[ranking["rank"] <= per_level]
    recent = index[(index["week_start"] > start - weeks * 7 * DAY) & (index["week_start"] <= start)]
    recent = recent[recent["area_code"].isin(top["area_code"])]
    order = {code: i for i, code in enumerate(top["area_code"])}
    recent = recent.assign(_order=recent["area_code"].map(order)).sort_values(["_order", "week_start"])
    columns = ["level", "area_code", "name", "week", "week_start", "index", "lower", "upper", "band"]
    return recent[columns].reset_index(drop=True)


def categories(cases: pd.DataFrame, start: pd.Timestamp, baseline_weeks: int) -> pd.DataFrame:
    now = cases[in_week(cases["registered_at"], start)]
    base = cases[in_week(cases["registered_at"], start - baseline_weeks * 7 * DAY, baseline_weeks)]
    out = pd.DataFrame(
        {
            "cases": now.groupby("category").size(),
            "expected": now.groupby("category")["risk"].sum(),
            "baseline_cases": base.groupby("category").size() / baseline_weeks,
            "baseline_expected": base.groupby("category")["risk"].sum() / baseline_weeks,
        }
    ).fillna(0.0)
    out.index.name = "category"
    out["share"] = out["cases"] / max(len(now), 1)
    out["baseline_share"] = out["baseline_cases"] / out["baseline_cases"].sum() if len(base) else np.nan
    out["share_change"] = out["share"] - out["baseline_share"]
    out["expected_change"] = out["expected"] - out["baseline_expected"]
    out = out.reset_index().sort_values(
        ["expected_change", "share_change", "category"], ascending=[False, False, True]
    )
    out["hotspot"] = (np.arange(len(out)) < HOTSPOTS) & (out["expected_change"] > 0).to_numpy()
    columns = ["category", "cases", "share", "expected", "baseline_cases", "baseline_share", "baseline_expected",
               "share_change", "expected_change", "hotspot"]  # fmt: skip
    return out[columns].reset_index(drop=True)


def warnings(cases: pd.DataFrame, start: pd.Timestamp, tree: AreaTree) -> pd.DataFrame:
    new = cases[in_week(cases["registered_at"], start) & cases["level"].isin(RED_ORANGE)]
    new = new.assign(_rank=new["level"].map(LEVELS.index)).sort_values(
        ["_rank", "risk", "case_id"], ascending=[True, False, True]
    )
    out = new[["case_id", "registered_at", "area_code", "category", "level", "risk"]].copy()
    out.insert(3, "area_name", [name(tree, c) for c in new["area_code"]])
    out.insert(4, "parent_name", [parent_name(tree, c) for c in new["area_code"]])
    for column in ("reasons", "flags"):
        out[column] = [mask_personal(str(v)) if isinstance(v, str) else "" for v in new[column]]
    return out.reset_index(drop=True)


def overdue(items: pd.DataFrame, tree: AreaTree) -> tuple[pd.DataFrame, pd.DataFrame]:
    items = items.sort_values(["area_code", "hours_overdue"], ascending=[True, False])
    out = items[["area_code", "item_id", "case_id", "level", "status", "due_at", "hours_overdue"]].copy()
    out.insert(1, "area_name", [name(tree, c) for c in items["area_code"]])
    out = out.reset_index(drop=True)
    by_area = (
        out.groupby(["area_code", "area_name"])
        .agg(
            items=("item_id", "size"),
            red=("level", lambda s: int((s == RED).sum())),
            orange=("level", lambda s: int((s == ORANGE).sum())),
            max_hours_overdue=("hours_overdue", "max"),
        )
        .reset_index()
        .sort_values(["items", "max_hours_overdue", "area_code"], ascending=[False, False, True])
    )
    return out, by_area.reset_index(drop=True)


def health(health: pd.DataFrame, start: pd.Timestamp, weeks: int) -> pd.DataFrame:
    starts = (
        pd.to_datetime(health["week_start"]) if "week_start" in health else health["week"].map(week_start)
    )
    recent = health.assign(week_start=starts)
    recent = recent[recent["week_start"] <= start].sort_values("week_start").tail(weeks)
    return recent[["week", "week_start", *HEALTH_COLUMNS[1:]]].reset_index(drop=True)
