"""Monitoring before labels mature: performance estimated from the model's own calibrated
probabilities (confidence-based performance estimation, as NannyML's CBPE does); population
stability is in ``risk.drift``.

Labels mature ``horizon_days`` (90) after registration, so recent weeks are watched by other means:
a calibrated model's probabilities say what escalation rate and ROC-AUC to expect while labels are
unknown. When a week
matures, the realised values are set beside the estimates, so the estimate itself is checked. All of
this produces warnings for people to read; nothing here acts on a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import rankdata

from features.checks import check_int
from features.errors import DisputeRiskError
from risk.weeks import iso_week

WEEKLY_COLUMNS: Final = (
    "week", "week_start", "n", "predicted_escalations", "predicted_rate", "predicted_rate_lo",
    "predicted_rate_hi", "estimated_auc", "estimated_auc_lo", "estimated_auc_hi", "mature", "n_labelled",
    "realised_escalations", "realised_rate", "realised_auc", "auc_gap",
)  # fmt: skip
_Z95: Final = 1.959963984540054
_MAX_CELLS: Final = 1_000_000  # simulated labels drawn per chunk (8 MB of uniform draws)


@dataclass(frozen=True)
class EstimatedPerformance:
    """What calibrated probabilities promise for cases whose labels are not known yet.

    ``rate_lo``/``rate_hi`` and ``auc_lo``/``auc_hi`` are 95% ranges in which the realised
    escalation rate and ROC-AUC should fall if the model is calibrated on these cases.
    """

    n: int
    expected_rate: float
    rate_lo: float
    rate_hi: float
    expected_auc: float
    auc_lo: float
    auc_hi: float


def estimate_performance(
    p: npt.ArrayLike, scores: npt.ArrayLike | None = None, *, n_sim: int = 200, seed: int = 0
) -> EstimatedPerformance:
    """Expected escalation rate and ROC-AUC of cases with calibrated probabilities ``p``.

    Labels are taken as independent Bernoulli(p). The rate's range comes from the variance of the
    escalation count (Poisson-binomial, sum p(1 - p)) by the normal approximation. The expected
    AUC ranks ``scores`` (default ``p``): sum over pairs of p_i (1 - p_j) [s_i > s_j] (half for ties)
    over sum_{i != j} p_i (1 - p_j), in O(n log n). Its range is the 2.5-97.5% quantiles of the AUC
    over ``n_sim`` simulated label draws (``n_sim=0`` skips it: NaN). AUCs are NaN when the draws
    cannot hold both classes (one case, or every p 0 or every p 1).

    Examples
    --------
    >>> est = estimate_performance([0.05, 0.1, 0.2, 0.6, 0.9], n_sim=0)
    >>> est.n, round(est.expected_rate, 3), round(est.expected_auc, 4)
    (5, 0.37, 0.9231)
    >>> round(est.rate_lo, 3), round(est.rate_hi, 3)
    (0.059, 0.681)
    """
    probs = _probabilities(p, "p")
    ranked = probs if scores is None else _finite(scores, "scores", probs.size)
    check_int(n_sim, "n_sim", 0)
    check_int(seed, "seed", 0)
    # In a fixed order the simulated range depends on the cases only, not on how they were listed.
    order = np.lexsort((probs, ranked))
    probs, ranked = probs[order], ranked[order]
    rate = float(probs.mean())
    half = _Z95 * float(np.sqrt(np.sum(probs * (1 - probs)))) / probs.size
    auc_lo, auc_hi = _simulated_auc_range(probs, ranked, int(n_sim), seed)
    return EstimatedPerformance(
        n=int(probs.size),
        expected_rate=rate,
        rate_lo=max(0.0, rate - half),
        rate_hi=min(1.0, rate + half),
        expected_auc=_expected_auc(probs, ranked),
        auc_lo=auc_lo,
        auc_hi=auc_hi,
    )


def _probabilities(values: object, name: str) -> np.ndarray:
    x = _finite(values, name, None)
    if x.size == 0:
        raise DisputeRiskError(f"{name} must hold at least one probability, got 0")
    bad = x[(x < 0) | (x > 1)]
    if bad.size:
        raise DisputeRiskError(f"{name} must be probabilities in [0, 1], got {float(bad[0])!r}")
    return x


def _finite(values: object, name: str, size: int | None) -> np.ndarray:
    try:
        x = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise DisputeRiskError(f"{name} must be numbers, got {type(values).__name__}") from None
    if x.ndim != 1:
        raise DisputeRiskError(f"{name} must be one-dimensional, got shape {x.shape}")
    if size is not None and x.size != size:
        raise DisputeRiskError(f"{name} must have one value per probability ({size}), got {x.size}")
    if not np.isfinite(x).all():
        raise DisputeRiskError(f"{name} must be finite, got {float(x[~np.isfinite(x)][0])!r}")
    return x


def _expected_auc(p: np.ndarray, scores: np.ndarray) -> float:
    _, group = np.unique(scores, return_inverse=True)  # groups of tied scores, lowest first
    pos = np.bincount(group, weights=p)
    neg = np.bincount(group, weights=1 - p)
    self_pairs = np.bincount(group, weights=p * (1 - p))
    below = np.cumsum(neg) - neg  # negative weight of strictly lower scores
    wins = np.sum(pos * below) + 0.5 * (np.sum(pos * neg) - np.sum(self_pairs))
    pairs = p.sum() * (1 - p).sum() - np.sum(p * (1 - p))
    return float(wins / pairs) if pairs > 0 else float("nan")


def _simulated_auc_range(p: np.ndarray, scores: np.ndarray, n_sim: int, seed: int) -> tuple[float, float]:
    if n_sim == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    ranks = rankdata(scores)  # average ranks: ties count half, as in the expected AUC
    chunk = max(1, _MAX_CELLS // p.size)
    aucs = [_rank_auc(rng.random((min(chunk, n_sim - i), p.size)) < p, ranks) for i in range(0, n_sim, chunk)]
    drawn = np.concatenate(aucs)
    drawn = drawn[~np.isnan(drawn)]
    if drawn.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.quantile(drawn, [0.025, 0.975])
    return float(lo), float(hi)


def _rank_auc(labels: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """ROC-AUC of each row of boolean ``labels`` (Mann-Whitney); NaN for a row with one class."""
    n1 = labels.sum(axis=-1)
    n0 = labels.shape[-1] - n1
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (labels @ ranks - n1 * (n1 + 1) / 2) / (n1 * n0)
    return np.where((n1 > 0) & (n0 > 0), auc, np.nan)


def weekly_monitoring(
    frame: pd.DataFrame, *, horizon_days: int = 90, as_of: object, n_sim: int = 200, seed: int = 0
) -> pd.DataFrame:
    """One row per ISO week of registration: what the model predicted, and what came true once known.

    ``frame`` holds ``registered_at`` (naive datetime64, Asia/Shanghai wall time), ``risk`` (the
    calibrated probability) and ``label`` (1/0, NaN while unknown). A week is ``mature`` when every
    case in it was registered at least ``horizon_days`` before ``as_of``; only then are the realised
    escalations, rate (over labelled cases) and AUC (both classes needed) filled in, with
    ``auc_gap`` = estimated - realised AUC. Columns: ``WEEKLY_COLUMNS``, oldest week first.

    Examples
    --------
    >>> frame = pd.DataFrame({
    ...     "registered_at": pd.to_datetime(["2026-01-05", "2026-01-06", "2026-01-07", "2026-03-30"]),
    ...     "risk": [0.1, 0.7, 0.4, 0.2],
    ...     "label": [0.0, 1.0, 0.0, None],
    ... })
    >>> table = weekly_monitoring(frame, as_of="2026-04-07", n_sim=0)
    >>> table[["week", "n", "predicted_escalations", "mature", "realised_rate", "realised_auc"]]
           week  n  predicted_escalations  mature  realised_rate  realised_auc
    0  2026-W02  3                    1.2    True       0.333333           1.0
    1  2026-W14  1                    0.2   False            NaN           NaN
    """
    registered, risk, label = _weekly_inputs(frame)
    check_int(horizon_days, "horizon_days", 1)
    cutoff = _naive_timestamp(as_of) - pd.Timedelta(days=int(horizon_days))
    day = registered.dt.normalize()
    starts = day - pd.to_timedelta(day.dt.weekday, unit="D")
    weeks = sorted(starts.groupby(starts, sort=False).indices.items())
    mature = {start: bool(registered.iloc[idx].max() <= cutoff) for start, idx in weeks}
    rows = [_week_row(start, risk[idx], label[idx], mature[start], n_sim, seed) for start, idx in weeks]
    return pd.DataFrame(rows, columns=list(WEEKLY_COLUMNS))


def _weekly_inputs(frame: pd.DataFrame) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    missing = [c for c in ("registered_at", "risk", "label") if c not in frame.columns]
    if missing:
        raise DisputeRiskError(f"frame must have columns registered_at, risk and label, missing {missing}")
    registered = frame["registered_at"].reset_index(drop=True)
    if not pd.api.types.is_datetime64_dtype(registered):
        raise DisputeRiskError(
            f"registered_at must be naive datetime64 (Asia/Shanghai time), got {registered.dtype}"
        )
    if registered.isna().any():
        raise DisputeRiskError(
            f"registered_at must not be missing, got NaT in row {int(registered.isna().argmax())}"
        )
    risk = _probabilities(frame["risk"], "risk") if len(frame) else np.empty(0)
    try:
        label = frame["label"].astype("float64").to_numpy()
    except (TypeError, ValueError):
        raise DisputeRiskError(f"label must be 1, 0 or missing, got dtype {frame['label'].dtype}") from None
    bad = label[~np.isnan(label) & (label != 0) & (label != 1)]
    if bad.size:
        raise DisputeRiskError(f"label must be 1, 0 or missing, got {float(bad[0])!r}")
    return registered, risk, label


def _naive_timestamp(as_of: object) -> pd.Timestamp:
    try:
        when = pd.Timestamp(as_of)
    except (TypeError, ValueError):
        raise DisputeRiskError(f"as_of must be a date or time, got {as_of!r}") from None
    if pd.isna(when) or when.tzinfo is not None:
        raise DisputeRiskError(f"as_of must be a naive date or time (Asia/Shanghai), got {as_of!r}")
    return when


def _week_row(
    start: pd.Timestamp, risk: np.ndarray, label: np.ndarray, mature: bool, n_sim: int, seed: int
) -> dict:
    est = estimate_performance(risk, n_sim=n_sim, seed=seed)
    known = ~np.isnan(label)
    labelled = mature and bool(known.any())
    realised_auc = float(_rank_auc(label[known] == 1, rankdata(risk[known]))) if labelled else np.nan
    return {
        "week": iso_week(start),
        "week_start": start,
        "n": est.n,
        "predicted_escalations": float(risk.sum()),
        "predicted_rate": est.expected_rate,
        "predicted_rate_lo": est.rate_lo,
        "predicted_rate_hi": est.rate_hi,
        "estimated_auc": est.expected_auc,
        "estimated_auc_lo": est.auc_lo,
        "estimated_auc_hi": est.auc_hi,
        "mature": mature,
        "n_labelled": int(known.sum()),
        "realised_escalations": float(label[known].sum()) if labelled else np.nan,
        "realised_rate": float(label[known].mean()) if labelled else np.nan,
        "realised_auc": realised_auc,
        "auc_gap": est.expected_auc - realised_auc,
    }
