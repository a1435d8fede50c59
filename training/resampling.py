"""The weighted kernel behind ``training.evaluate``: cases sorted once by score, every metric
computed for a matrix of case weights (1 for the point estimate, the times a case was drawn for a
bootstrap resample), the resamples' weights drawn in chunks and their statistics computed on every
CPU, and percentile intervals."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from features.errors import DisputeRiskError

_MIN_VALID_RESAMPLES = 20  # fewer two-class resamples than this and an interval means nothing
_CHUNK_CELLS = 2_000_000  # resamples x cases per chunk: bounds memory at a few tens of MB
Key = TypeVar("Key", bound=Hashable)  # how a caller names the statistics of a resample


def bin_ids(p: np.ndarray, n_bins: int, strategy: str) -> np.ndarray:
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


def top_k(n: int, fraction: float) -> int:
    if not 0.0 < fraction <= 1.0:
        raise DisputeRiskError(f"fraction must be in (0, 1], got {fraction}")
    return max(1, math.ceil(fraction * n - 1e-9))


@dataclass(frozen=True)
class SortedCases:
    """Cases sorted by ascending score, with the start of each tie group and calibration bin."""

    order: np.ndarray
    y: np.ndarray
    p: np.ndarray
    ties: np.ndarray
    bins: np.ndarray

    @classmethod
    def of(cls, y: np.ndarray, p: np.ndarray, n_bins: int = 10, strategy: str = "quantile") -> SortedCases:
        order = np.argsort(p, kind="stable")
        ps = p[order]
        bins = bin_ids(ps, n_bins, strategy)
        first = np.r_[True, ps[1:] != ps[:-1]]
        return cls(
            order, y[order], ps, np.flatnonzero(first), np.flatnonzero(np.r_[True, np.diff(bins) != 0])
        )


def _group(s: SortedCases, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def kernel(
    s: SortedCases, w: np.ndarray, fractions: Sequence[float], *, auc_only: bool = False
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
            k = top_k(w.shape[1], fraction)
            g = np.argmax(count >= k - 1e-9, axis=1)  # the tie group the cut falls in
            # Ties at the cut are shared pro rata: the expected value under a random order of the tied
            # cases, so the result never depends on row order and a coarse scorer is not flattered.
            hit = (
                tp[rows, g]
                - pos[rows, g]
                + (k - count[rows, g] + size[rows, g]) * pos[rows, g] / size[rows, g]
            )
            out[f"recall_at_{pct(fraction)}"] = hit / n_pos
            out[f"precision_at_{pct(fraction)}"] = hit / k
    return out


def pct(fraction: float) -> str:
    return f"{fraction * 100:g}pct"  # MLflow-safe metric names: recall_at_1pct, precision_at_0.5pct


def bootstrap_weights(n: int, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """Bootstrap weights (times each case was drawn), in chunks; the same seed gives the same draws."""
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_CELLS // n)
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        idx = rng.integers(0, n, size=(b, n)) + np.arange(b)[:, None] * n
        yield np.bincount(idx.ravel(), minlength=b * n).reshape(b, n).astype(float)


def bootstrap_statistics(
    n: int,
    n_boot: int,
    seed: int,
    statistics: Callable[[np.ndarray], Mapping[Key, np.ndarray]],
    *,
    threads: int | None = None,
) -> dict[Key, np.ndarray]:
    """``statistics`` of the resamples of ``bootstrap_weights(n, n_boot, seed)``, each of its arrays
    joined over the resamples in draw order ({} when ``n_boot`` is 0).

    ``statistics`` maps rows of weights (resamples x cases) to arrays of values, each row's values
    computed from that row alone, as ``kernel`` does. A chunk's rows are split in up to ``threads``
    parts (default: one per CPU) computed side by side (numpy lets go of the GIL in its loops) while
    this thread draws the next chunk: the draws stay in order. The values are those of
    ``statistics`` of each whole chunk in turn, bit for bit, as no part is a lone row (see
    ``_row_parts``). Memory: two chunks of weights and one chunk's worth of work at a time.
    """
    threads = threads or os.cpu_count() or 1
    drawn: dict[Key, list[np.ndarray]] = {}
    with ThreadPoolExecutor(max_workers=threads) as pool:
        running: list[Future[Mapping[Key, np.ndarray]]] = []
        for w in bootstrap_weights(n, n_boot, seed):  # drawn while the chunk before is computed
            ahead = [pool.submit(statistics, rows) for rows in _row_parts(w, threads)]
            _collect(running, drawn)
            running = ahead
        _collect(running, drawn)
    return {key: np.concatenate(parts) for key, parts in drawn.items()}


def _row_parts(w: np.ndarray, parts: int) -> list[np.ndarray]:
    """Up to ``parts`` runs of consecutive rows of ``w``, none a lone row unless ``w`` is one.

    A lone row is contiguous both ways, and numpy sums it pairwise; rows of a column-major batch
    (what ``w[:, order]`` gives) it sums column by column. So a row's metrics are the same bits in
    any batch of two rows or more, and others in a batch of one (tested).
    """
    return np.array_split(w, max(1, min(parts, len(w) // 2)))


def _collect(running: list[Future[Mapping[Key, np.ndarray]]], drawn: dict[Key, list[np.ndarray]]) -> None:
    for future in running:
        for key, values in future.result().items():
            drawn.setdefault(key, []).append(values)


def interval(samples: np.ndarray) -> tuple[float, float]:
    samples = samples[np.isfinite(samples)]
    if len(samples) < _MIN_VALID_RESAMPLES:
        return math.nan, math.nan
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return float(lo), float(hi)
