"""The area index as a table: one row per (area, week), OUTPUT_COLUMNS in order. Built from
(areas x weeks) arrays by position, strings taken from short lists (a million rows in about a second)."""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from features.schema import CATEGORIES
from risk.index_drivers import DRIVERS, top_drivers
from risk.index_trend import TREND_CLASSES
from risk.index_weekly import Hierarchy, WeekAxis
from risk.levels import NONE, WARNING_LEVELS

__all__ = ["BANDS", "OUTPUT_COLUMNS", "band_codes", "index_frame"]

BANDS: Final[tuple[str, ...]] = (*WARNING_LEVELS, NONE)
OUTPUT_COLUMNS: Final[tuple[str, ...]] = (
    "area_code", "level", "parent_code", "name", "week", "week_start", "index", "lower", "upper",
    "band", "trend", "red_3_weeks", "forecast_escalations", "expected_escalations",
    "open_cases", "warnings", "cases", "escalations", "population", "forecast_per_10k", "history_observed",
    "history_expected", "history_factor", "overdue_items", *(f"driver_{d}" for d in DRIVERS), "top_drivers",
    *(f"category_{c}" for c in CATEGORIES),
)  # fmt: skip


def band_codes(index: np.ndarray, cuts: tuple[float, ...]) -> np.ndarray:
    """Positions in BANDS: 红/橙/黄/蓝 at or above each cut, 无 below the last.

    Examples
    --------
    >>> [BANDS[c] for c in band_codes(np.array([90.0, 80.0, 79.9, 10.0]), (80.0, 65.0, 50.0, 35.0))]
    ['红', '红', '橙', '无']
    """
    return np.select([index >= cut for cut in cuts], range(len(cuts)), default=len(cuts)).astype(np.int8)


def _text(values: object, positions: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Strings by position from a short list: pandas converts the short list once, not every row."""
    return pd.Series(np.asarray(values, dtype=object)).array.take(positions)


def index_frame(
    hierarchy: Hierarchy,
    axis: WeekAxis,
    table: dict[str, np.ndarray],
    exists: np.ndarray,
    first_week: pd.Timestamp,
) -> pd.DataFrame:
    """One row per existing (area, week) in the requested weeks, areas in hierarchy order."""
    shown = exists & (np.arange(axis.n) >= (first_week - axis.first).days // 7)[None, :]
    area, week = np.nonzero(shown)
    labels, mondays = axis.labels()
    parent = np.where(hierarchy.parent >= 0, hierarchy.codes[np.maximum(hierarchy.parent, 0)], None)
    pick = lambda name: table[name][area, week]  # noqa: E731
    forecast = pick("forecast_escalations")
    with np.errstate(divide="ignore", invalid="ignore"):
        drivers = np.column_stack([pick("theta")[:, None] * table["by_driver"][area, :, week], pick("extra")])
        shares = np.nan_to_num(drivers / forecast[:, None])
        categories = np.nan_to_num(table["by_category"][area, :, week] / pick("model")[:, None])
    numbers = {
        "index": pick("index"), "lower": pick("lower"), "upper": pick("upper"),
        "forecast_escalations": forecast, "expected_escalations": pick("expected"),
        "open_cases": pick("open_cases"), "warnings": pick("warnings"), "cases": pick("cases"),
        "escalations": pick("escalations"), "population": hierarchy.population[area],
        "forecast_per_10k": forecast / hierarchy.population[area] * 1e4,
        "history_observed": pick("observed"), "history_expected": pick("history_expected"),
        "history_factor": pick("theta"), "overdue_items": pick("overdue_items"),
        **{f"driver_{d}": shares[:, i] for i, d in enumerate(DRIVERS)},
        **{f"category_{c}": categories[:, i] for i, c in enumerate(CATEGORIES)},
    }  # fmt: skip
    out = pd.DataFrame(np.column_stack(list(numbers.values())), columns=list(numbers))
    text = {
        "area_code": _text(hierarchy.codes, area), "level": _text(hierarchy.levels, area),
        "parent_code": _text(parent, area), "name": _text(hierarchy.names, area), "week": _text(labels, week),
        "week_start": mondays[week], "band": _text(BANDS, pick("band")), "trend": _text(TREND_CLASSES, pick("trend")),
        "red_3_weeks": pick("red"), "top_drivers": top_drivers(shares, categories, CATEGORIES),
    }  # fmt: skip
    for name, values in text.items():
        out[name] = values
    return out[list(OUTPUT_COLUMNS)]
