"""Honest evaluation: discrimination, calibration and workload metrics with bootstrap intervals.

Every metric comes from one weighted kernel over cases sorted once by score: the point estimate gives
each case weight 1, a bootstrap resample gives each case the number of times it was drawn. So the
interval and the point estimate are the same computation, and a resample costs a few array
operations. Resampling unit: the case.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import NamedTuple, TypeVar

import numpy as np
import pandas as pd

from features.checks import check_labels
from features.errors import DisputeRiskError
from training.resampling import SortedCases, bin_ids, bootstrap_statistics, interval, kernel, pct

DEFAULT_TOP_FRACTIONS: tuple[float, ...] = (0.01, 0.05, 0.10)
K = TypeVar("K", bound=Hashable)  # how a caller names its models
_NONE = np.empty(0)  # the draws of n_boot=0


class Metric(NamedTuple):
    """A point estimate with its 95% bootstrap percentile interval (NaN when there is none)."""

    value: float
    lo: float = math.nan
    hi: float = math.nan


class AucDifference(NamedTuple):
    """ROC-AUC of model a minus model b on the same cases, with a paired bootstrap 95% interval."""

    diff: float
    lo: float
    hi: float


def _check(y: object, p: object) -> tuple[np.ndarray, np.ndarray]:
    y_arr, p_arr = np.asarray(y), np.asarray(p, dtype=float)
    if y_arr.ndim != 1 or p_arr.ndim != 1 or len(y_arr) != len(p_arr):
        raise DisputeRiskError(
            f"y and p must be 1-D of equal length, got shapes {y_arr.shape} and {p_arr.shape}"
        )
    if len(y_arr) == 0:
        raise DisputeRiskError("y and p must hold at least one case, got 0")
    y_arr = check_labels(y_arr, len(y_arr))
    if not (np.isfinite(p_arr).all() and (p_arr >= 0).all() and (p_arr <= 1).all()):
        raise DisputeRiskError(
            f"p must be probabilities in [0, 1], got min {np.nanmin(p_arr)} max {np.nanmax(p_arr)}"
        )
    return y_arr.astype(float), p_arr


def calibration_table(y: object, p: object, *, n_bins: int = 10, strategy: str = "quantile") -> pd.DataFrame:
    """One row per non-empty bin: score range, n, n_pos, mean predicted and observed rate."""
    y_arr, p_arr = _check(y, p)
    frame = pd.DataFrame({"bin": bin_ids(p_arr, n_bins, strategy), "p": p_arr, "y": y_arr})
    table = frame.groupby("bin").agg(
        p_lo=("p", "min"),
        p_hi=("p", "max"),
        n=("y", "size"),
        n_pos=("y", "sum"),
        mean_predicted=("p", "mean"),
        observed_rate=("y", "mean"),
    )
    table["n_pos"] = table["n_pos"].astype(int)
    return table.reset_index(drop=True).rename_axis("bin").reset_index()


def expected_calibration_error(y: object, p: object, n_bins: int = 10, strategy: str = "quantile") -> float:
    """ECE = sum over bins of (n_bin / n) * |mean(p in bin) - mean(y in bin)|.

    ``quantile`` bins hold equal numbers of cases: at a 1-2% base rate, equal-width bins would put
    nearly every case in the first bin and leave the rest nearly empty, so the ECE would measure noise.
    """
    table = calibration_table(y, p, n_bins=n_bins, strategy=strategy)
    weights = table["n"] / table["n"].sum()
    return float((weights * (table["mean_predicted"] - table["observed_rate"]).abs()).sum())


def recall_precision_at_top(y: object, p: object, fraction: float) -> tuple[float, float]:
    """(recall, precision) when the top ``fraction`` of cases by score is reviewed.

    The top is k = ceil(fraction * n) cases; cases tied at the cut count pro rata (see ``kernel``).
    Recall is NaN when there is no positive case.
    """
    y_arr, p_arr = _check(y, p)
    s = SortedCases.of(y_arr, p_arr)
    out = kernel(s, np.ones((1, len(y_arr))), [fraction])
    return float(out[f"recall_at_{pct(fraction)}"][0]), float(out[f"precision_at_{pct(fraction)}"][0])


def evaluate(
    y: object,
    p: object,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    top_fractions: Sequence[float] = DEFAULT_TOP_FRACTIONS,
    n_bins: int = 10,
) -> dict[str, Metric]:
    """Metrics with 95% bootstrap percentile intervals (resampling cases; one-class resamples skipped).

    Keys: roc_auc, pr_auc (average precision), brier, ece, recall_at_<k>pct and precision_at_<k>pct for
    each top fraction, and n, n_pos, base_rate (no interval). The ECE bins are fixed on the full
    sample, so a resample varies the cases, not the bin edges. ``n_boot=0`` gives no intervals.
    """
    metrics, _ = evaluate_many(
        y, {0: p}, n_boot=n_boot, seed=seed, top_fractions=top_fractions, n_bins=n_bins
    )
    return metrics[0]


def evaluate_many(
    y: object,
    scores: Mapping[K, object],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    top_fractions: Sequence[float] = DEFAULT_TOP_FRACTIONS,
    n_bins: int = 10,
    compare_to: K | None = None,
) -> tuple[dict[K, dict[str, Metric]], dict[K, AucDifference]]:
    """``evaluate`` of each model's scores of the same cases, and with ``compare_to`` its
    ``paired_auc_difference`` against each other model: the numbers of those calls (the same seed
    draws the same resamples), drawn once for all of them instead of once per call."""
    y_arr = _check(y, next(iter(scores.values())))[0]
    sorted_ = {key: SortedCases.of(y_arr, _check(y_arr, p)[1], n_bins) for key, p in scores.items()}
    ones = np.ones((1, len(y_arr)))
    point = {
        key: {k: float(v[0]) for k, v in kernel(s, ones, top_fractions).items()} for key, s in sorted_.items()
    }
    positives = np.flatnonzero(y_arr)

    def resampled(w: np.ndarray) -> dict[tuple[K, str], np.ndarray]:
        # the same for every model: a resample's count of positives (whole numbers, so exact; not
        # w @ y, whose BLAS threads would spin on the CPUs the resamples are computed on)
        n_pos = w[:, positives].sum(axis=1)
        two_class = (n_pos > 0) & (n_pos < len(y_arr))
        out = {}
        for key, s in sorted_.items():
            for name, values in kernel(s, w[:, s.order][two_class], top_fractions).items():
                out[key, name] = values
        return out

    drawn = bootstrap_statistics(len(y_arr), n_boot, seed, resampled)
    draws = {key: {k: drawn.get((key, k), _NONE) for k in point[key]} for key in scores}
    n_pos = int(y_arr.sum())
    counts = {
        "n": Metric(float(len(y_arr))),
        "n_pos": Metric(float(n_pos)),
        "base_rate": Metric(n_pos / len(y_arr)),
    }
    metrics = {
        key: {k: Metric(v, *interval(draws[key][k])) for k, v in point[key].items()} | counts
        for key in scores
    }
    differences: dict[K, AucDifference] = {}
    if compare_to is not None:
        # one-class resamples, skipped above, have no AUC: the paired interval drops them too
        mine = draws[compare_to]["roc_auc"]
        for key in scores:
            if key != compare_to:
                diff = point[compare_to]["roc_auc"] - point[key]["roc_auc"]
                differences[key] = AucDifference(diff, *interval(mine - draws[key]["roc_auc"]))
    return metrics, differences


def paired_auc_difference(
    y: object, p_a: object, p_b: object, *, n_boot: int = 1000, seed: int = 0
) -> AucDifference:
    """AUC(a) - AUC(b), with an interval from resampling the same cases for both models.

    Pairing matters: both models are scored on one test window, so their errors are correlated and
    two separate intervals overlapping says little about whether a beats b.
    """
    return paired_difference(y, p_a, p_b, metric="roc_auc", n_boot=n_boot, seed=seed)


def paired_difference(
    y: object, p_a: object, p_b: object, *, metric: str, n_boot: int = 1000, seed: int = 0
) -> AucDifference:
    """``metric`` (roc_auc, pr_auc, brier ...) of a minus that of b on the same cases, with a paired
    bootstrap interval (the same resamples for both)."""
    return paired_differences(y, p_a, p_b, metrics=(metric,), n_boot=n_boot, seed=seed)[metric]


def paired_differences(
    y: object, p_a: object, p_b: object, *, metrics: Sequence[str], n_boot: int = 1000, seed: int = 0
) -> dict[str, AucDifference]:
    """``paired_difference`` of each of ``metrics``, from one set of resamples (the same seed gives
    each metric the draws its own call would)."""
    y_arr, pa = _check(y, p_a)
    _, pb = _check(y, p_b)
    sa, sb = SortedCases.of(y_arr, pa), SortedCases.of(y_arr, pb)
    ones = np.ones((1, len(y_arr)))
    known = kernel(sa, ones, ())
    unknown = [m for m in metrics if m not in known]
    if unknown:
        raise DisputeRiskError(f"metric must be one of {sorted(known)}, got {unknown[0]!r}")
    auc_only = set(metrics) == {"roc_auc"}
    diff = {m: float(known[m][0] - kernel(sb, ones, ())[m][0]) for m in metrics}

    def resampled(w: np.ndarray) -> dict[str, np.ndarray]:
        a = kernel(sa, w[:, sa.order], (), auc_only=auc_only)
        b = kernel(sb, w[:, sb.order], (), auc_only=auc_only)
        return {m: a[m] - b[m] for m in metrics}

    draws = bootstrap_statistics(len(y_arr), n_boot, seed, resampled)
    return {m: AucDifference(diff[m], *interval(draws.get(m, _NONE))) for m in metrics}
