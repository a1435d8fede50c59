"""Honest evaluation: discrimination, calibration and workload metrics with bootstrap intervals.

Every metric comes from one weighted kernel over cases sorted once by score: the point estimate gives
each case weight 1, a bootstrap resample gives each case the number of times it was drawn. So the
interval and the point estimate are the same computation, and a resample costs a few array
operations. Resampling unit: the case.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

import numpy as np
import pandas as pd

from features.checks import check_labels
from features.errors import DisputeRiskError

DEFAULT_TOP_FRACTIONS: tuple[float, ...] = (0.01, 0.05, 0.10)
_MIN_VALID_RESAMPLES = 20  # fewer two-class resamples than this and an interval means nothing
K = TypeVar("K", bound=Hashable)  # how a caller names its models
_CHUNK_CELLS = 2_000_000  # resamples x cases per chunk: bounds memory at a few tens of MB


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


def _bin_ids(p: np.ndarray, n_bins: int, strategy: str) -> np.ndarray:
    """Bin of each score; equal scores always share a bin, so a coarse scorer may get fewer bins.

    quantile: bin = rank * n_bins // n, a run of equal scores taking the bin of its middle rank.
    """
    if n_bins < 1:
        raise DisputeRiskError(f"n_bins must be >= 1, got {n_bins}")
    if strategy == "uniform":
        return np.searchsorted(np.linspace(0.0, 1.0, n_bins + 1)[1:-1], p, side="right")
    if strategy != "quantile":
        raise DisputeRiskError(f"strategy must be 'quantile' or 'uniform', got {strategy!r}")
    order = np.argsort(p, kind="stable")
    ps = p[order]
    first = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])
    last = np.r_[first[1:], len(ps)] - 1
    middle = np.repeat((first + last) // 2, last - first + 1)
    bins = np.empty(len(p), dtype=np.int64)
    bins[order] = middle * n_bins // len(p)
    return bins


def calibration_table(y: object, p: object, *, n_bins: int = 10, strategy: str = "quantile") -> pd.DataFrame:
    """One row per non-empty bin: score range, n, n_pos, mean predicted and observed rate."""
    y_arr, p_arr = _check(y, p)
    frame = pd.DataFrame({"bin": _bin_ids(p_arr, n_bins, strategy), "p": p_arr, "y": y_arr})
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


def _top_k(n: int, fraction: float) -> int:
    if not 0.0 < fraction <= 1.0:
        raise DisputeRiskError(f"fraction must be in (0, 1], got {fraction}")
    return max(1, math.ceil(fraction * n - 1e-9))


@dataclass(frozen=True)
class _Sorted:
    """Cases sorted by ascending score, with the start of each tie group and calibration bin."""

    order: np.ndarray
    y: np.ndarray
    p: np.ndarray
    ties: np.ndarray
    bins: np.ndarray

    @classmethod
    def of(cls, y: np.ndarray, p: np.ndarray, n_bins: int = 10, strategy: str = "quantile") -> _Sorted:
        order = np.argsort(p, kind="stable")
        ps = p[order]
        bin_ids = _bin_ids(ps, n_bins, strategy)
        first = np.r_[True, ps[1:] != ps[:-1]]
        return cls(
            order, y[order], ps, np.flatnonzero(first), np.flatnonzero(np.r_[True, np.diff(bin_ids) != 0])
        )


def _group(s: _Sorted, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positive weight and total weight per tie group, ascending score (no-op when no ties)."""
    if len(s.ties) == len(s.y):
        return w * s.y, w
    return np.add.reduceat(w * s.y, s.ties, axis=1), np.add.reduceat(w, s.ties, axis=1)


def _auc(pos: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Weighted ROC-AUC per row from ascending tie groups (ties count one half): Mann-Whitney."""
    neg = size - pos
    below = np.cumsum(neg, axis=1) - neg
    with np.errstate(invalid="ignore", divide="ignore"):
        return (pos * (below + 0.5 * neg)).sum(axis=1) / (pos.sum(axis=1) * neg.sum(axis=1))


def _kernel(
    s: _Sorted, w: np.ndarray, fractions: Sequence[float], *, auc_only: bool = False
) -> dict[str, np.ndarray]:
    """All metrics (``auc_only``: ROC-AUC alone) for each row of the weight matrix ``w``
    (resamples x cases, in sorted order)."""
    pos_up, size_up = _group(s, w)
    auc = _auc(pos_up, size_up)
    if auc_only:
        return {"roc_auc": auc}
    pos, size = pos_up[:, ::-1], size_up[:, ::-1]  # tie groups, highest score first
    n_pos, total = pos.sum(axis=1), size.sum(axis=1)
    tp, count = np.cumsum(pos, axis=1), np.cumsum(size, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(count > 0, tp / np.where(count > 0, count, 1.0), 0.0)
        out = {
            "roc_auc": auc,
            # sklearn's average precision: sum over thresholds of (recall step) x precision.
            "pr_auc": (pos * precision).sum(axis=1) / n_pos,
            "brier": (w * (s.p - s.y) ** 2).sum(axis=1) / total,
            "ece": np.abs(np.add.reduceat(w * (s.p - s.y), s.bins, axis=1)).sum(axis=1) / total,
        }
        rows = np.arange(w.shape[0])
        for fraction in fractions:
            k = _top_k(w.shape[1], fraction)
            g = np.argmax(count >= k - 1e-9, axis=1)  # the tie group the cut falls in
            # Ties at the cut are shared pro rata: the expected value under a random order of the tied
            # cases, so the result never depends on row order and a coarse scorer is not flattered.
            hit = (
                tp[rows, g]
                - pos[rows, g]
                + (k - count[rows, g] + size[rows, g]) * pos[rows, g] / size[rows, g]
            )
            out[f"recall_at_{_pct(fraction)}"] = hit / n_pos
            out[f"precision_at_{_pct(fraction)}"] = hit / k
    return out


def _pct(fraction: float) -> str:
    return f"{fraction * 100:g}pct"  # MLflow-safe metric names: recall_at_1pct, precision_at_0.5pct


def _weights(n: int, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """Bootstrap weights (times each case was drawn), in chunks; the same seed gives the same draws."""
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_CELLS // n)
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        idx = rng.integers(0, n, size=(b, n)) + np.arange(b)[:, None] * n
        yield np.bincount(idx.ravel(), minlength=b * n).reshape(b, n).astype(float)


def _interval(samples: np.ndarray) -> tuple[float, float]:
    samples = samples[np.isfinite(samples)]
    if len(samples) < _MIN_VALID_RESAMPLES:
        return math.nan, math.nan
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return float(lo), float(hi)


def recall_precision_at_top(y: object, p: object, fraction: float) -> tuple[float, float]:
    """(recall, precision) when the top ``fraction`` of cases by score is reviewed.

    The top is k = ceil(fraction * n) cases; cases tied at the cut count pro rata (see ``_kernel``).
    Recall is NaN when there is no positive case.
    """
    y_arr, p_arr = _check(y, p)
    s = _Sorted.of(y_arr, p_arr)
    out = _kernel(s, np.ones((1, len(y_arr))), [fraction])
    return float(out[f"recall_at_{_pct(fraction)}"][0]), float(out[f"precision_at_{_pct(fraction)}"][0])


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
    sorted_ = {key: _Sorted.of(y_arr, _check(y_arr, p)[1], n_bins) for key, p in scores.items()}
    ones = np.ones((1, len(y_arr)))
    point = {
        key: {k: float(v[0]) for k, v in _kernel(s, ones, top_fractions).items()}
        for key, s in sorted_.items()
    }
    draws: dict[K, dict[str, list[np.ndarray]]] = {key: {k: [] for k in point[key]} for key in scores}
    for w in _weights(len(y_arr), n_boot, seed):
        two_class = None
        for key, s in sorted_.items():
            ws = w[:, s.order]
            if two_class is None:  # the same for every model: a resample's count of positives
                n_pos = ws @ s.y
                two_class = (n_pos > 0) & (n_pos < len(s.y))
            for name, values in _kernel(s, ws[two_class], top_fractions).items():
                draws[key][name].append(values)
    n_pos = int(y_arr.sum())
    counts = {
        "n": Metric(float(len(y_arr))),
        "n_pos": Metric(float(n_pos)),
        "base_rate": Metric(n_pos / len(y_arr)),
    }
    metrics = {
        key: {k: Metric(v, *_interval(_joined(draws[key][k]))) for k, v in point[key].items()} | counts
        for key in scores
    }
    differences: dict[K, AucDifference] = {}
    if compare_to is not None:
        # one-class resamples, skipped above, have no AUC: the paired interval drops them too
        mine = _joined(draws[compare_to]["roc_auc"])
        for key in scores:
            if key != compare_to:
                diff = point[compare_to]["roc_auc"] - point[key]["roc_auc"]
                differences[key] = AucDifference(diff, *_interval(mine - _joined(draws[key]["roc_auc"])))
    return metrics, differences


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.empty(0)


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
    sa, sb = _Sorted.of(y_arr, pa), _Sorted.of(y_arr, pb)
    ones = np.ones((1, len(y_arr)))
    known = _kernel(sa, ones, ())
    unknown = [m for m in metrics if m not in known]
    if unknown:
        raise DisputeRiskError(f"metric must be one of {sorted(known)}, got {unknown[0]!r}")
    auc_only = set(metrics) == {"roc_auc"}
    diff = {m: float(known[m][0] - _kernel(sb, ones, ())[m][0]) for m in metrics}
    draws: dict[str, list[np.ndarray]] = {m: [] for m in metrics}
    for w in _weights(len(y_arr), n_boot, seed):
        a = _kernel(sa, w[:, sa.order], (), auc_only=auc_only)
        b = _kernel(sb, w[:, sb.order], (), auc_only=auc_only)
        for m in metrics:
            draws[m].append(a[m] - b[m])
    return {m: AucDifference(diff[m], *_interval(_joined(draws[m]))) for m in metrics}
