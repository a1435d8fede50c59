"""Checks on what the area index is given: the scored cases, the overdue items and the parameters.
Each failure is a DisputeRiskError stating the rule, the column and the value."""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd

from features.areas import AreaTree
from features.errors import DisputeRiskError
from features.records import normalised
from risk.levels import LEVELS, NONE

__all__ = ["check_config", "checked_cases", "checked_overdue"]

REQUIRED: Final[tuple[str, ...]] = (
    "case_id",
    "area_code",
    "registered_at",
    "category",
    "risk",
    "escalated_at",
)
SIGNALS: Final[tuple[str, ...]] = (
    "police_calls_before", "party_prior_cases_max", "key_group_persons",
    "cue_threat", "cue_weapon", "cue_physical", "cue_injury", "cue_self_harm",
)  # fmt: skip

# Parameter rules, declared once: (test, what it must be).
_POSITIVE_INT = (lambda v: isinstance(v, int) and v >= 1, "an integer >= 1")
_POSITIVE = (lambda v: v > 0, "> 0")
_OPEN_UNIT = (lambda v: 0 < v < 1, "in (0, 1)")
_NON_NEGATIVE = (lambda v: v >= 0, ">= 0")
_RULES: Final[dict[str, tuple[Any, str]]] = {
    "horizon_days": _POSITIVE_INT, "tail_days": _POSITIVE_INT, "forecast_weeks": _POSITIVE_INT, "volume_weeks": _POSITIVE_INT,
    "history_weeks": _POSITIVE_INT, "reference_weeks": _POSITIVE_INT, "trend_weeks": _POSITIVE_INT,
    "delay_median_days": _POSITIVE, "delay_sigma": _POSITIVE, "min_prior_cv": _POSITIVE,
    "root_prior_shape": _POSITIVE, "band_level": _OPEN_UNIT, "trend_share": (lambda v: 0 < v <= 1, "in (0, 1]"),
    "trend_alpha": _OPEN_UNIT, "hot_index": (lambda v: 0 <= v <= 100, "in [0, 100]"),
    "overdue_weight": _NON_NEGATIVE, "mix_cases": _NON_NEGATIVE,
    "band_cuts": (
        lambda v: len(v) == 4 and all(0 < c <= 100 for c in v) and list(v) == sorted(v, reverse=True),
        "four cut points in (0, 100] for 红, 橙, 黄, 蓝, falling",
    ),
}  # fmt: skip


def check_config(config: Any) -> None:
    """Every IndexConfig parameter against its rule.

    Examples
    --------
    >>> from risk.area_index import IndexConfig
    >>> check_config(IndexConfig(trend_alpha=1.5))
    Traceback (most recent call last):
    ...
    features.errors.DisputeRiskError: IndexConfig.trend_alpha must be in (0, 1), got 1.5
    """
    for name, (test, rule) in _RULES.items():
        value = getattr(config, name)
        if not test(value):
            raise DisputeRiskError(f"IndexConfig.{name} must be {rule}, got {value!r}")
    if config.trend_weeks < 3:
        raise DisputeRiskError(f"IndexConfig.trend_weeks must be >= 3, got {config.trend_weeks}")
    ramp = -(-config.horizon_days // 7)  # the weeks a case needs to show its escalation
    if config.history_weeks <= ramp + 1:
        raise DisputeRiskError(
            f"IndexConfig.history_weeks must be more than the horizon in weeks + 1 ({ramp + 1}), got {config.history_weeks}"
        )


def _plain(value: object) -> object:
    """A numpy scalar as the Python value, so messages read ``got -2``, not ``got np.int64(-2)``."""
    return value.item() if isinstance(value, np.generic) else value


def _bad(column: str, rule: str, frame: pd.DataFrame, rows: pd.Series) -> DisputeRiskError:
    first = rows.to_numpy().nonzero()[0][0]
    value = _plain(frame[column].iloc[first])
    where = f" (case {frame['case_id'].iloc[first]})" if "case_id" in frame else ""
    return DisputeRiskError(f"cases: {column} must be {rule}, got {value!r}{where}")


def checked_cases(cases: pd.DataFrame, areas: AreaTree) -> pd.DataFrame:
    """The cases with the index's columns checked and normalised: category (unseen -> 其他),
    grid_code (None where empty), level (无 where absent), signal columns as float (NaN: unknown)."""
    missing = [c for c in REQUIRED if c not in cases.columns]
    if missing:
        raise DisputeRiskError(f"cases: missing required column {missing[0]!r}")
    if cases.empty:
        raise DisputeRiskError("cases: need at least one case, got none")
    frame = cases.reset_index(drop=True)
    out = pd.DataFrame({"case_id": frame["case_id"].astype(str), "area_code": frame["area_code"]})
    duplicated = out["case_id"].duplicated()
    if duplicated.any():
        raise _bad("case_id", "unique", out, duplicated)
    known = out["area_code"].isin(set(areas))
    if not known.all():
        raise _bad("area_code", "an area of the hierarchy", out, ~known)
    for column in ("registered_at", "escalated_at"):
        out[column] = _times(frame, column)
    if out["registered_at"].isna().any():
        raise _bad("registered_at", "a date-time (not missing)", out.assign(registered_at=frame["registered_at"]),
                   out["registered_at"].isna())  # fmt: skip
    category = frame["category"].astype(str)
    out["category"] = category.map({value: normalised("category", value) for value in category.unique()})
    risk = pd.to_numeric(frame["risk"], errors="coerce")
    bad = ~risk.between(0.0, 1.0)
    if bad.any():
        raise _bad("risk", "a probability in [0, 1]", frame.assign(case_id=out["case_id"]), bad)
    out["risk"] = risk.astype(float)
    grid = frame["grid_code"] if "grid_code" in frame else pd.Series(None, index=frame.index, dtype=object)
    out["grid_code"] = grid.where(grid.notna() & (grid.astype(str) != ""), None).astype(object)
    _check_grids(out)
    level = frame["level"] if "level" in frame else pd.Series(NONE, index=frame.index)
    if not level.isin(LEVELS).all():
        raise _bad(
            "level", f"one of {'/'.join(LEVELS)}", frame.assign(case_id=out["case_id"]), ~level.isin(LEVELS)
        )
    out["level"] = level
    for column in SIGNALS:
        if column in frame:
            values = pd.to_numeric(frame[column], errors="coerce")
            if (values.isna() & frame[column].notna()).any():
                raise _bad(
                    column,
                    "a number",
                    frame.assign(case_id=out["case_id"]),
                    values.isna() & frame[column].notna(),
                )
            out[column] = values.astype(float)
    return out


def _times(frame: pd.DataFrame, column: str) -> pd.Series:
    values = frame[column]
    if pd.api.types.is_datetime64_any_dtype(values) and getattr(values.dt, "tz", None) is None:
        return values.astype("datetime64[ns]")
    if values.isna().all():
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    raise DisputeRiskError(
        f"cases: {column} must be datetime64 (naive Asia/Shanghai wall time), got dtype {values.dtype}"
    )


def _check_grids(frame: pd.DataFrame) -> None:
    """A grid lies in one village (or town): the same grid_code under two areas is ambiguous."""
    pairs = frame.loc[frame["grid_code"].notna(), ["grid_code", "area_code"]].drop_duplicates()
    twice = pairs["grid_code"].duplicated(keep=False)
    if twice.any():
        grid = pairs.loc[twice, "grid_code"].iloc[0]
        where = sorted(pairs.loc[pairs["grid_code"] == grid, "area_code"])
        raise DisputeRiskError(f"cases: grid_code must lie in one area, got {grid!r} in {where}")


def checked_overdue(overdue: pd.DataFrame, codes: np.ndarray) -> pd.DataFrame:
    """area_code (an area of the hierarchy), week_start (date-time), overdue_items (>= 0)."""
    for column in ("area_code", "week_start", "overdue_items"):
        if column not in overdue.columns:
            raise DisputeRiskError(f"overdue: missing required column {column!r}")
    out = overdue.reset_index(drop=True)
    unknown = ~out["area_code"].isin(set(codes))
    if unknown.any():
        raise DisputeRiskError(
            f"overdue: area_code must be an area of the hierarchy, got {_plain(out['area_code'][unknown].iloc[0])!r}"
        )
    week = pd.to_datetime(out["week_start"], errors="coerce")
    if week.isna().any():
        raise DisputeRiskError(
            f"overdue: week_start must be a date, got {_plain(out['week_start'][week.isna()].iloc[0])!r}"
        )
    items = pd.to_numeric(out["overdue_items"], errors="coerce")
    if not (items >= 0).all():
        raise DisputeRiskError(
            f"overdue: overdue_items must be a number >= 0, got {_plain(out['overdue_items'][~(items >= 0)].iloc[0])!r}"
        )
    return pd.DataFrame(
        {"area_code": out["area_code"], "week_start": week, "overdue_items": items.astype(float)}
    )
