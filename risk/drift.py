"""Population stability: whether recent intake has moved away from the training window, by PSI
of each main feature and of the score. A warning for people to read; nothing here acts on a model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.build import CATALOGUE
from features.checks import check_int
from features.errors import DisputeRiskError

# The conventional reading of PSI: below 0.1 stable, 0.1-0.25 a moderate shift, above 0.25 major.
STABLE_BELOW: Final = 0.1
MAJOR_ABOVE: Final = 0.25
STATUS_ZH: Final[dict[str, str]] = {"stable": "稳定", "moderate": "中度偏移", "major": "显著偏移"}
DRIFT_COLUMNS: Final = ("feature", "psi", "status", "status_zh")
# An empty bin would make PSI infinite; its share is floored at 0.01% (a common choice).
_FLOOR: Final = 1e-4
SCORE: Final = "score"  # the calibrated risk, watched beside the features
# What monitoring watches: the case's category and source, and the model's main signals (names
# checked against the feature catalogue at import, so a renamed feature fails here).
WATCHED: Final[tuple[str, ...]] = ("category", "source") + CATALOGUE.require(
    (
        "amount_log", "n_people", "police_calls_before", "mediation_attempts", "party_prior_cases_max",
        "party_prior_escalations_max", "key_group_persons", "cue_threat", "cue_weapon", "cue_physical",
        "cue_injury", "village_cases_90d", "town_cases_90d", "town_escalations_365d",
    )
)  # fmt: skip
REFERENCE_SIZE: Final = 5000


def reference_sample(frame: pd.DataFrame, *, n: int = REFERENCE_SIZE, seed: int = 0) -> pd.DataFrame:
    """What a model keeps of its own windows to compare recent intake with: up to ``n`` rows of the
    ``WATCHED`` columns and the score (the columns ``frame`` has), drawn with a fixed seed."""
    columns = [c for c in (*WATCHED, SCORE) if c in frame.columns]
    rows = frame if len(frame) <= n else frame.sample(n, random_state=seed)
    return rows[columns].reset_index(drop=True)


def psi(reference: npt.ArrayLike, current: npt.ArrayLike, *, bins: int = 10) -> float:
    """Population stability index of ``current`` against ``reference``.

    Numbers fall in ``bins`` quantile bins of the reference (fewer when quantiles tie, as for counts
    or a constant column); values or categories of any other dtype are one bin each, plus one for
    categories the reference never had. Missing values are a bin of their own, so a column that
    starts arriving empty shows as drift. Read it as: < 0.1 stable, 0.1-0.25 moderate shift,
    > 0.25 major shift (``psi_status``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> reference = rng.normal(size=5000)
    >>> psi(reference, reference)
    0.0
    >>> round(psi(reference, rng.normal(size=5000)), 3) < 0.1, psi(reference, reference + 1) > 0.25
    (True, True)
    >>> round(psi(["邻里纠纷", "债务纠纷"] * 50, ["邻里纠纷"] * 100), 2)
    4.6
    """
    return _psi(reference, current, bins, "reference", "current")


def psi_status(value: float) -> str:
    """'stable', 'moderate' or 'major' by the conventional PSI cut-offs (``STATUS_ZH`` in Chinese).

    >>> psi_status(0.05), psi_status(0.1), psi_status(0.25), psi_status(0.3)
    ('stable', 'moderate', 'moderate', 'major')
    """
    if not np.isfinite(value) or value < 0:
        raise DisputeRiskError(f"psi must be a finite number >= 0, got {value!r}")
    return "stable" if value < STABLE_BELOW else "moderate" if value <= MAJOR_ABOVE else "major"


def drift_table(
    reference: pd.DataFrame, current: pd.DataFrame, columns: Sequence[str], *, bins: int = 10
) -> pd.DataFrame:
    """PSI of each of ``columns``, current against reference, the largest first.

    Examples
    --------
    >>> reference = pd.DataFrame({"amount_yuan": np.arange(1000.0), "category": ["邻里纠纷"] * 1000})
    >>> current = pd.DataFrame({"amount_yuan": np.arange(1000.0) + 400, "category": ["邻里纠纷"] * 1000})
    >>> drift_table(reference, current, ["category", "amount_yuan"])
           feature       psi  status status_zh
    0  amount_yuan  3.404114   major      显著偏移
    1     category  0.000000  stable        稳定
    """
    columns = list(columns)
    if not columns or len(set(columns)) != len(columns):
        raise DisputeRiskError(f"columns must name at least one column, each once, got {columns}")
    for name, frame in (("reference", reference), ("current", current)):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise DisputeRiskError(f"{name} must have every column in columns, missing {missing}")
    values = [_psi(reference[c], current[c], bins, f"reference[{c!r}]", f"current[{c!r}]") for c in columns]
    table = pd.DataFrame({"feature": columns, "psi": values})
    table["status"] = table["psi"].map(psi_status)
    table["status_zh"] = table["status"].map(STATUS_ZH)
    return table.sort_values("psi", ascending=False, kind="stable").reset_index(drop=True)


def _psi(reference: object, current: object, bins: int, ref_name: str, cur_name: str) -> float:
    check_int(bins, "bins", 2)
    ref, cur = _values(reference, ref_name), _values(current, cur_name)
    if pd.api.types.is_numeric_dtype(ref) != pd.api.types.is_numeric_dtype(cur):
        raise DisputeRiskError(
            f"{cur_name} must be numeric exactly when {ref_name} is, got {cur.dtype} and {ref.dtype}"
        )
    shares = _numeric_shares if pd.api.types.is_numeric_dtype(ref) else _category_shares
    expected, actual = (np.maximum(s, _FLOOR) for s in shares(ref, cur, int(bins)))
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _values(values: object, name: str) -> pd.Series:
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values).ravel())
    if series.empty:
        raise DisputeRiskError(f"{name} must hold at least one value, got 0")
    return series


def _numeric_shares(ref: pd.Series, cur: pd.Series, bins: int) -> tuple[np.ndarray, np.ndarray]:
    ref_x, cur_x = ref.to_numpy(dtype=float, na_value=np.nan), cur.to_numpy(dtype=float, na_value=np.nan)
    finite = ref_x[np.isfinite(ref_x)]
    quantiles = np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]) if finite.size else []
    edges = np.unique(quantiles)  # tied quantiles merge their bins

    def shares(x: np.ndarray) -> np.ndarray:
        nan = np.isnan(x)  # bins are (-inf, e0], (e0, e1], ..., (e_k, inf), then NaN
        counts = np.bincount(np.searchsorted(edges, x[~nan], side="left"), minlength=edges.size + 1)
        return np.append(counts, nan.sum()) / x.size

    return shares(ref_x), shares(cur_x)


def _category_shares(ref: pd.Series, cur: pd.Series, bins: int) -> tuple[np.ndarray, np.ndarray]:
    categories = pd.Index(ref.dropna().unique())

    def shares(x: pd.Series) -> np.ndarray:
        nan = x.isna().to_numpy()  # slot 0 holds categories the reference never had, the last NaN
        counts = np.bincount(categories.get_indexer(x[~nan]) + 1, minlength=categories.size + 1)
        return np.append(counts, nan.sum()) / x.size

    return shares(ref), shares(cur)
