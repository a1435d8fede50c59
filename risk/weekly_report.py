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

import numpy as np
import pandas as pd

from features import area_codes
from features.areas import AreaTree
from features.errors import DisputeRiskError
from risk import report_sections as sections
from risk.weeks import iso_week, week_start

__all__ = ["ReportOptions", "WeeklyReport", "build_weekly_report"]


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
    index = _checked_index(index, week, start, options)
    cases = _columns(cases, sections.CASE_COLUMNS, "cases")
    overdue_items = _columns(overdue_items, sections.OVERDUE_COLUMNS, "overdue_items")
    model_health = _columns(model_health, sections.HEALTH_COLUMNS, "model_health")
    levels = list(options.levels)

    tree = AreaTree.from_frame(index.drop_duplicates("area_code"))
    if area is not None and area not in tree:
        raise DisputeRiskError(f"area must be an area code of the index, got {area!r}")
    index = index[_within(index["area_code"], tree, area)]
    cases = cases[_within(cases["area_code"], tree, area)]
    overdue_items = overdue_items[_within(overdue_items["area_code"], tree, area)]
    this, before = index[index["week_start"] == start], index[index["week_start"] == start - 7 * sections.DAY]

    ranking = sections.ranking(this, before, tree, levels, options.top_n)
    overdue, overdue_by_area = sections.overdue(overdue_items, tree)
    return WeeklyReport(
        week=iso_week(start),
        week_start=start,
        previous_week=iso_week(start - 7 * sections.DAY),
        scope_code=area,
        scope_name="全部辖区" if area is None else tree.name(area),
        generated_at=generated_at,
        headline=sections.headline(this, before, cases, start, overdue, tree, area, levels),
        ranking=ranking,
        trends=sections.trends(index, ranking, start, options.trend_weeks, options.trend_areas),
        hierarchy=this[["area_code", "name", "level", "parent_code", "index", "band", "trend", "cases"]]
        .sort_values("area_code")
        .reset_index(drop=True),
        categories=sections.categories(cases, start, options.baseline_weeks),
        warnings=sections.warnings(cases, start, tree),
        overdue=overdue,
        overdue_by_area=overdue_by_area,
        model_health=sections.health(model_health, start, options.health_weeks),
        score_drift=float(score_drift),
        health_warnings=tuple(str(w) for w in health_warnings),
        options=options,
    )


def _checked_index(
    index: pd.DataFrame, week: str, start: pd.Timestamp, options: ReportOptions
) -> pd.DataFrame:
    """The index with its columns checked, holding the report's week and the ranked levels."""
    index = _columns(index, sections.INDEX_COLUMNS, "index")
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
    return index


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
