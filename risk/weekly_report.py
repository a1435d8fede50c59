"""The weekly 周研判 report: the numbers of one ISO week, for everything or one area subtree.

``build_weekly_report`` assembles the sections from tables the rest of the service produces (the
area index, the scored cases, the overdue 督办 items, the model's health by week) into an
immutable ``WeeklyReport``; ``risk.report_render`` turns that into HTML, Markdown and CSV. Nothing
here reads files, a database or the clock: the caller passes the report time.

Free text (reasons, flags) is masked for phone, ID and bank numbers as it enters the report, so no
renderer can leak it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import numpy as np
import pandas as pd

from features import area_codes
from features.areas import AreaTree
from features.errors import DisputeRiskError
from features.personal_data import mask_personal
from features.schema import AREA_LEVEL_NAMES
from risk.levels import LEVELS, ORANGE, RED
from risk.weeks import iso_week, week_start

__all__ = ["ReportOptions", "WeeklyReport", "build_weekly_report"]

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
_DAY: Final = pd.Timedelta(days=1)


@dataclass(frozen=True, eq=False)  # eq would compare DataFrames, which is ambiguous
class WeeklyReport:
    """One week's 周研判 report. Every table is a plain DataFrame with the columns listed."""

    week: str  # ISO week, "2026-W47"
    week_start: pd.Timestamp  # its Monday, 00:00 Shanghai wall time
    previous_week: str
    scope_code: str | None  # the area subtree reported on; None = every area in the index
    scope_name: str
    generated_at: datetime | None  # the report time the caller gave (overdue items are as of then)
    # metric, label, value, previous, change: this week against the one before
    headline: pd.DataFrame
    # per ranking level, the top areas: level, rank, area_code, name, parent_name, index, lower, upper,
    # band, trend, red_3_weeks, index_change, expected_escalations, cases, escalations, top_drivers, driver_*
    ranking: pd.DataFrame
    # recent weeks of the ranked areas on top: level, area_code, name, week, week_start, index, lower, upper, band
    trends: pd.DataFrame
    # every area in scope this week (the map-like view): area_code, name, level, parent_code, index, band, trend, cases
    hierarchy: pd.DataFrame
    # category, cases, share, expected, baseline_cases, baseline_share, baseline_expected, share_change,
    # expected_change, hotspot; the baseline is the weekly mean of the weeks before
    categories: pd.DataFrame
    # the week's new 红/橙 warnings: case_id, registered_at, area_code, area_name, parent_name, category,
    # level, risk, reasons, flags (masked)
    warnings: pd.DataFrame
    # overdue 督办 items: area_code, area_name, item_id, case_id, level, status, due_at, hours_overdue
    overdue: pd.DataFrame
    # by responsible area: area_code, area_name, items, red, orange, max_hours_overdue
    overdue_by_area: pd.DataFrame
    # recent weeks: week, week_start, n, predicted/realised escalations and rates, estimated/realised AUC
    model_health: pd.DataFrame
    score_drift: float  # PSI of this week's scores against the training window
    health_warnings: tuple[str, ...]
    options: ReportOptions

    def tables(self) -> dict[str, pd.DataFrame]:
        """The section tables by name, in report order."""
        return {
            "headline": self.headline,
            "ranking": self.ranking,
            "trends": self.trends,
            "categories": self.categories,
            "warnings": self.warnings,
            "overdue": self.overdue,
            "overdue_by_area": self.overdue_by_area,
            "model_health": self.model_health,
        }


def level_name(level: str) -> str:
    """The Chinese name of an index level.

    >>> level_name("town"), level_name("grid")
    ('镇', '网格')
    """
    return AREA_LEVEL_NAMES.get(level, "网格" if level == "grid" else level)


@dataclass(frozen=True)
class ReportOptions:
    """What the report shows: one ranking per level in ``levels`` (coarsest first) with ``top_n``
    areas each; trend lines for the first ``trend_areas`` of each ranking over ``trend_weeks``
    weeks; category hotspots against the weekly mean of the ``baseline_weeks`` before the week;
    model health over the last ``health_weeks`` weeks."""

    levels: tuple[str, ...] = ("town", "village")
    top_n: int = 15
    trend_weeks: int = 12
    trend_areas: int = 5
    baseline_weeks: int = 4
    health_weeks: int = 8

    def __post_init__(self) -> None:
        if not self.levels or not all(isinstance(lv, str) for lv in self.levels):
            raise DisputeRiskError(f"levels must be a non-empty tuple of index levels, got {self.levels!r}")
        for name in ("top_n", "trend_weeks", "trend_areas", "baseline_weeks", "health_weeks"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise DisputeRiskError(f"{name} must be an integer >= 1, got {value!r}")


def build_weekly_report(
    week: str,
    *,
    index: pd.DataFrame,
    cases: pd.DataFrame,
    overdue_items: pd.DataFrame,
    model_health: pd.DataFrame,
    score_drift: float,
    health_warnings: Sequence[str] = (),
    area: str | None = None,
    options: ReportOptions = ReportOptions(),
    generated_at: datetime | None = None,
) -> WeeklyReport:
    """Assemble the report of ``week`` for the subtree of ``area`` (every area when None).

    Week-over-week changes compare with the week before; overdue items are a snapshot at the
    report time (``generated_at``), so they have no previous value. Model health is the model's,
    not the area's: it is the same for every scope.
    """
    start = week_start(week)
    index = _columns(index, INDEX_COLUMNS, "index")
    cases = _columns(cases, CASE_COLUMNS, "cases")
    overdue_items = _columns(overdue_items, OVERDUE_COLUMNS, "overdue_items")
    model_health = _columns(model_health, HEALTH_COLUMNS, "model_health")
    if index.empty:
        raise DisputeRiskError(f"index must have rows, got an empty index for week {week}")
    levels = list(options.levels)
    if not set(levels) <= set(index["level"]):
        known = sorted(set(index["level"]))
        raise DisputeRiskError(f"levels must be levels of the index {known}, got {levels}")
    index = index.assign(week_start=pd.to_datetime(index["week_start"]))
    if not (index["week_start"] == start).any():
        known = sorted(index["week"].unique())
        raise DisputeRiskError(
            f"index has no rows for week {week} (it covers {known[0]} to {known[-1]}), got {week!r}"
        )

    tree = AreaTree.from_frame(index.drop_duplicates("area_code"))
    if area is not None and area not in tree:
        raise DisputeRiskError(f"area must be an area code of the index, got {area!r}")
    index = index[_within(index["area_code"], tree, area)]
    cases = cases[_within(cases["area_code"], tree, area)]
    overdue_items = overdue_items[_within(overdue_items["area_code"], tree, area)]
    this, before = index[index["week_start"] == start], index[index["week_start"] == start - 7 * _DAY]

    ranking = _ranking(this, before, tree, levels, options.top_n)
    overdue, overdue_by_area = _overdue(overdue_items, tree)
    return WeeklyReport(
        week=iso_week(start),
        week_start=start,
        previous_week=iso_week(start - 7 * _DAY),
        scope_code=area,
        scope_name="全部辖区" if area is None else tree.name(area),
        generated_at=generated_at,
        headline=_headline(this, before, cases, start, overdue, tree, area, levels),
        ranking=ranking,
        trends=_trends(index, ranking, start, options.trend_weeks, options.trend_areas),
        hierarchy=this[["area_code", "name", "level", "parent_code", "index", "band", "trend", "cases"]]
        .sort_values("area_code")
        .reset_index(drop=True),
        categories=_categories(cases, start, options.baseline_weeks),
        warnings=_warnings(cases, start, tree),
        overdue=overdue,
        overdue_by_area=overdue_by_area,
        model_health=_health(model_health, start, options.health_weeks),
        score_drift=float(score_drift),
        health_warnings=tuple(str(w) for w in health_warnings),
        options=options,
    )


def _columns(frame: pd.DataFrame, required: Sequence[str], what: str) -> pd.DataFrame:
    """The frame with its required columns checked; an empty frame may lack them (no rows this week)."""
    missing = [c for c in required if c not in frame.columns]
    if missing and len(frame):
        raise DisputeRiskError(f"{what} must have the columns {list(required)}, missing {missing}")
    return frame.reindex(columns=[*frame.columns, *missing]).copy() if missing else frame


def _within(codes: pd.Series, tree: AreaTree, scope: str | None) -> np.ndarray:
    """Which codes lie in the subtree of ``scope``: by the index's own hierarchy where it knows the
    code (grids too), else by the code's digits."""
    if scope is None:
        return np.ones(len(codes), dtype=bool)

    def inside(code: object) -> bool:
        if code in tree:
            return tree.is_within(str(code), scope)
        return (
            area_codes.is_valid(code)
            and area_codes.is_valid(scope)
            and area_codes.is_within(str(code), scope)
        )

    keep = {code: inside(code) for code in pd.unique(codes)}
    return codes.map(keep).to_numpy(dtype=bool)


def _name(tree: AreaTree, code: object) -> str:
    return tree.name(str(code)) if code in tree else str(code)


def _parent_name(tree: AreaTree, code: object) -> str:
    parent = tree.parent(str(code)) if code in tree else None
    return "" if parent is None else tree.name(parent)


def _in_week(times: pd.Series, start: pd.Timestamp, weeks: int = 1) -> pd.Series:
    times = pd.to_datetime(times)
    return (times >= start) & (times < start + 7 * weeks * _DAY)


def _headline(
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
        week = cases[_in_week(cases["registered_at"], begin)]
        return len(week), int(week["level"].isin(RED_ORANGE).sum())

    (n_now, warn_now), (n_before, warn_before) = case_counts(start), case_counts(start - 7 * _DAY)
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


def _ranking(
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
    ranked["parent_name"] = [_parent_name(tree, c) for c in ranked["area_code"]]
    ranked["index_change"] = ranked["index"] - ranked["area_code"].map(previous).astype("float64")
    columns = ["level", "rank", "area_code", "name", "parent_name", "index", "lower", "upper", "band", "trend",
               "red_3_weeks", "index_change", "expected_escalations", "cases", "escalations", "top_drivers"]  # fmt: skip
    return ranked[columns + drivers]


def _trends(
    index: pd.DataFrame, ranking: pd.DataFrame, start: pd.Timestamp, weeks: int, per_level: int
) -> pd.DataFrame:
    top = ranking[ranking["rank"] <= per_level]
    recent = index[(index["week_start"] > start - weeks * 7 * _DAY) & (index["week_start"] <= start)]
    recent = recent[recent["area_code"].isin(top["area_code"])]
    order = {code: i for i, code in enumerate(top["area_code"])}
    recent = recent.assign(_order=recent["area_code"].map(order)).sort_values(["_order", "week_start"])
    columns = ["level", "area_code", "name", "week", "week_start", "index", "lower", "upper", "band"]
    return recent[columns].reset_index(drop=True)


def _categories(cases: pd.DataFrame, start: pd.Timestamp, baseline_weeks: int) -> pd.DataFrame:
    now = cases[_in_week(cases["registered_at"], start)]
    base = cases[_in_week(cases["registered_at"], start - baseline_weeks * 7 * _DAY, baseline_weeks)]
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


def _warnings(cases: pd.DataFrame, start: pd.Timestamp, tree: AreaTree) -> pd.DataFrame:
    new = cases[_in_week(cases["registered_at"], start) & cases["level"].isin(RED_ORANGE)]
    new = new.assign(_rank=new["level"].map(LEVELS.index)).sort_values(
        ["_rank", "risk", "case_id"], ascending=[True, False, True]
    )
    out = new[["case_id", "registered_at", "area_code", "category", "level", "risk"]].copy()
    out.insert(3, "area_name", [_name(tree, c) for c in new["area_code"]])
    out.insert(4, "parent_name", [_parent_name(tree, c) for c in new["area_code"]])
    for column in ("reasons", "flags"):
        out[column] = [mask_personal(str(v)) if isinstance(v, str) else "" for v in new[column]]
    return out.reset_index(drop=True)


def _overdue(items: pd.DataFrame, tree: AreaTree) -> tuple[pd.DataFrame, pd.DataFrame]:
    items = items.sort_values(["area_code", "hours_overdue"], ascending=[True, False])
    out = items[["area_code", "item_id", "case_id", "level", "status", "due_at", "hours_overdue"]].copy()
    out.insert(1, "area_name", [_name(tree, c) for c in items["area_code"]])
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


def _health(health: pd.DataFrame, start: pd.Timestamp, weeks: int) -> pd.DataFrame:
    starts = (
        pd.to_datetime(health["week_start"]) if "week_start" in health else health["week"].map(week_start)
    )
    recent = health.assign(week_start=starts)
    recent = recent[recent["week_start"] <= start].sort_values("week_start").tail(weeks)
    return recent[["week", "week_start", *HEALTH_COLUMNS[1:]]].reset_index(drop=True)
