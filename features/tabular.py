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

from features.catalogue import RISES, Family, Feature, features, fixed, number
from features.errors import DisputeRiskError
from features.schema import CATEGORIES, OTHER, SOURCES

# The narrative's length is deliberately not a feature: adding a threat to a narrative must never
# lower the risk, and length would let the trees learn that longer texts are calmer.
TABULAR_CATALOGUE: tuple[Feature, ...] = (
    *features("category", (f"category={c}" for c in CATEGORIES)),
    *features("source", (f"source={s}" for s in SOURCES)),
    *features("amount", ("amount_log", "amount_missing")),
    *features("people", ("n_parties", "n_people")),
    Feature("police_calls_before", "police_calls", RISES),  # another 110 call never calms a dispute
    Feature("police_calls_missing", "police_calls"),
    *features("mediation", ("mediation_attempts", "mediation_missing")),
    *features("time", ("reg_hour", "reg_weekday", "reg_month", "reg_night")),
)
TABULAR_FEATURES: tuple[str, ...] = tuple(f.name for f in TABULAR_CATALOGUE)


def _amount(case: Mapping[str, Any], history: Mapping[str, Any], terms: Any) -> str:
    amount = number(case.get("amount_yuan"))
    return "涉及金额不详" if math.isnan(amount) else f"涉及金额约{amount:,.0f}元"


def _people(case: Mapping[str, Any], history: Mapping[str, Any], terms: Any) -> str:
    def count(name: str) -> int | str:
        value = number(case.get(name))
        return "若干" if math.isnan(value) else int(value)

    return f"涉及{count('n_parties')}方当事人、{count('n_people')}人"


def _police_calls(case: Mapping[str, Any], history: Mapping[str, Any], terms: Any) -> str:
    calls = number(case.get("police_calls_before"))
    return "登记前110报警次数不详" if math.isnan(calls) else f"登记前已有{int(calls)}次110报警"


def _mediation(case: Mapping[str, Any], history: Mapping[str, Any], terms: Any) -> str:
    tries = number(case.get("mediation_attempts"))
    return "此前调解情况不详" if math.isnan(tries) else f"登记前已调解{int(tries)}次未能化解"


TABULAR_REASON_FAMILIES: tuple[Family, ...] = (
    Family("category", "纠纷类别", "case", lambda case, h, t: f"纠纷类别：{case.get('category', OTHER)}"),
    Family("source", "来源渠道", "case", lambda case, h, t: f"来源渠道：{case.get('source', OTHER)}"),
    Family("amount", "涉及金额", "case", _amount),
    Family("people", "当事方与人数", "case", _people),
    Family("police_calls", "登记前110报警", "case", _police_calls),
    Family("mediation", "此前调解", "case", _mediation),
    Family("time", "登记时间", "case", fixed("登记的时段与季节")),
)

_CATEGORY_INDEX = {c: i for i, c in enumerate(CATEGORIES)}
_SOURCE_INDEX = {s: len(CATEGORIES) + i for i, s in enumerate(SOURCES)}
_NUMERIC_OFFSET = len(CATEGORIES) + len(SOURCES)  # the numeric columns follow the one-hot blocks


def tabular_matrix(cases: pd.DataFrame) -> np.ndarray:
    """Dense float32 matrix (n, len(TABULAR_FEATURES)) for a cases frame."""
    n = len(cases)
    out = np.zeros((n, len(TABULAR_FEATURES)), dtype=np.float32)
    rows = np.arange(n)
    out[rows, _positions(cases["category"], _CATEGORY_INDEX, "category")] = 1.0
    out[rows, _positions(cases["source"], _SOURCE_INDEX, "source")] = 1.0

    amount = (
        pd.to_numeric(cases.get("amount_yuan"), errors="coerce")
        if "amount_yuan" in cases
        else pd.Series(np.nan, index=cases.index)
    )
    calls = _optional_column(cases, "police_calls_before")
    mediations = _optional_column(cases, "mediation_attempts")
    reg = pd.to_datetime(cases["registered_at"])
    hour = reg.dt.hour.to_numpy()
    numeric = np.column_stack(
        [
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
        ]
    )
    out[:, _NUMERIC_OFFSET:] = numeric
    return out


def tabular_row(case: Mapping[str, Any]) -> np.ndarray:
    """The same features for one case given as a mapping (the intake fast path)."""
    out = np.zeros(len(TABULAR_FEATURES), dtype=np.float32)
    out[_position(case.get("category"), _CATEGORY_INDEX, "category")] = 1.0
    out[_position(case.get("source"), _SOURCE_INDEX, "source")] = 1.0
    amount = number(case.get("amount_yuan"))
    calls = number(case.get("police_calls_before"))
    mediations = number(case.get("mediation_attempts"))
    reg = pd.Timestamp(case["registered_at"])
    hour = reg.hour
    out[_NUMERIC_OFFSET:] = (
        math.log1p(amount) if not math.isnan(amount) else math.nan,
        float(math.isnan(amount)),
        number(case.get("n_parties")),
        number(case.get("n_people")),
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
