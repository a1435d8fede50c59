"""Tabular features of one registered case: category, source, money, counts, time.

Each function works on whole columns (training, batch scoring) and the single-record variant
computes the same values from a mapping (the intake path), so both agree (tests compare them).
Input is normalised at the contract boundary (``features.records``): an unseen category here is
a programming error, not data to fix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from features.errors import DisputeRiskError
from features.schema import CATEGORIES, SOURCES

CATEGORY_FEATURES = tuple(f"category={c}" for c in CATEGORIES)
SOURCE_FEATURES = tuple(f"source={s}" for s in SOURCES)
NUMERIC_FEATURES = (
    "amount_log", "amount_missing", "n_parties", "n_people",
    "police_calls_before", "police_calls_missing", "mediation_attempts", "mediation_missing",
    "reg_hour", "reg_weekday", "reg_month", "reg_night",
)
# The narrative's length is deliberately not a feature: adding a threat to a narrative must never
# lower the risk, and length would let the trees learn that longer texts are calmer.
TABULAR_FEATURES: tuple[str, ...] = CATEGORY_FEATURES + SOURCE_FEATURES + NUMERIC_FEATURES

_CATEGORY_INDEX = {c: i for i, c in enumerate(CATEGORIES)}
_SOURCE_INDEX = {s: len(CATEGORIES) + i for i, s in enumerate(SOURCES)}
_NUMERIC_OFFSET = len(CATEGORIES) + len(SOURCES)


def _as_float(value: Any) -> float:
    if value is None:
        return math.nan
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def tabular_matrix(cases: pd.DataFrame) -> np.ndarray:
    """Dense float32 matrix (n, len(TABULAR_FEATURES)) for a cases frame."""
    n = len(cases)
    out = np.zeros((n, len(TABULAR_FEATURES)), dtype=np.float32)
    rows = np.arange(n)
    out[rows, _positions(cases["category"], _CATEGORY_INDEX, "category")] = 1.0
    out[rows, _positions(cases["source"], _SOURCE_INDEX, "source")] = 1.0

    amount = pd.to_numeric(cases.get("amount_yuan"), errors="coerce") if "amount_yuan" in cases else pd.Series(np.nan, index=cases.index)
    calls = _optional_column(cases, "police_calls_before")
    mediations = _optional_column(cases, "mediation_attempts")
    reg = pd.to_datetime(cases["registered_at"])
    hour = reg.dt.hour.to_numpy()
    numeric = np.column_stack([
        np.log1p(amount.to_numpy(dtype=float)),
        amount.isna().to_numpy(dtype=float),
        pd.to_numeric(cases["n_parties"]).to_numpy(dtype=float),
        pd.to_numeric(cases["n_people"]).to_numpy(dtype=float),
        calls.to_numpy(dtype=float),
        calls.isna().to_numpy(dtype=float),
        mediations.to_numpy(dtype=float),
        mediations.isna().to_numpy(dtype=float),
        hour,
        reg.dt.weekday.to_numpy(),
        reg.dt.month.to_numpy(),
        ((hour >= 22) | (hour < 6)).astype(float),
    ])
    out[:, _NUMERIC_OFFSET:] = numeric
    return out


def tabular_row(case: Mapping[str, Any]) -> np.ndarray:
    """The same features for one case given as a mapping (the intake fast path)."""
    out = np.zeros(len(TABULAR_FEATURES), dtype=np.float32)
    out[_position(case.get("category"), _CATEGORY_INDEX, "category")] = 1.0
    out[_position(case.get("source"), _SOURCE_INDEX, "source")] = 1.0
    amount = _as_float(case.get("amount_yuan"))
    calls = _as_float(case.get("police_calls_before"))
    mediations = _as_float(case.get("mediation_attempts"))
    reg = pd.Timestamp(case["registered_at"])
    hour = reg.hour
    out[_NUMERIC_OFFSET:] = (
        math.log1p(amount) if not math.isnan(amount) else math.nan,
        float(math.isnan(amount)),
        _as_float(case.get("n_parties")),
        _as_float(case.get("n_people")),
        calls,
        float(math.isnan(calls)),
        mediations,
        float(math.isnan(mediations)),
        hour,
        reg.weekday(),
        reg.month,
        float(hour >= 22 or hour < 6),
    )
    return out


def _optional_column(cases: pd.DataFrame, name: str) -> pd.Series:
    if name not in cases:
        return pd.Series(np.nan, index=cases.index, dtype=float)
    return pd.to_numeric(cases[name], errors="coerce").astype(float)


def _position(value: Any, index: dict[str, int], name: str) -> int:
    try:
        return index[value]
    except KeyError:
        raise DisputeRiskError(
            f"{name} must be normalised to the contract's vocabulary first (features.records), got {value!r}"
        ) from None


def _positions(values: pd.Series, index: dict[str, int], name: str) -> np.ndarray:
    positions = values.map(index)
    if positions.isna().any():
        _position(values[positions.isna()].iloc[0], index, name)
    return positions.to_numpy(dtype=np.int64)
