"""How well a ranking of areas forecasts where escalations happen: capture rate, PAI and PEI*.

For one week, rank the areas by a score and take the top ``share`` of them (k = ceil(share x n)):

    capture  escalations in the top k areas / all escalations
    PAI      capture / (k / n)            (Chainey et al. 2008, predictive accuracy index)
    PEI*     escalations in the top k / the most any k areas had   (Hunt 2016; 1 = perfect)

Ties at the cut are split: the tied areas share the remaining places in proportion, which is the
expected capture of a random tie-break (a count baseline ties a lot: most villages saw no escalation).
Over many weeks the counts are pooled (ratios of sums), and intervals come from resampling weeks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.errors import DisputeRiskError

__all__ = ["Hits", "hits_at_top", "pooled", "pooled_difference"]


@dataclass(frozen=True)
class Hits:
    """One week's counts for one ranking."""

    captured: float  # escalations in the top k (fractional when ties are split)
    best: float  # escalations in the k areas that had the most
    total: float
    k: int
    n: int


def hits_at_top(score: np.ndarray, outcome: np.ndarray, share: float) -> Hits:
    """Counts of one week: the top ``share`` of areas by ``score`` against ``outcome``.

    Examples
    --------
    >>> hits_at_top(np.array([3.0, 2, 1, 0]), np.array([1.0, 0, 2, 1]), 0.5)
    Hits(captured=1.0, best=3.0, total=4.0, k=2, n=4)

    Two areas tied for the last place share it: half of their escalations count.

    >>> hits_at_top(np.array([3.0, 1, 1, 0]), np.array([1.0, 0, 2, 1]), 0.5).captured
    2.0
    """
    if not 0.0 < share <= 1.0:
        raise DisputeRiskError(f"share must be in (0, 1], got {share}")
    score, outcome = np.asarray(score, dtype=float), np.asarray(outcome, dtype=float)
    n = len(score)
    k = min(n, math.ceil(share * n - 1e-9))
    cut = np.sort(score)[::-1][k - 1]
    above, tied = score > cut, score == cut
    captured = outcome[above].sum() + (k - above.sum()) * outcome[tied].sum() / tied.sum()
    best = np.sort(outcome)[::-1][:k].sum()
    return Hits(float(captured), float(best), float(outcome.sum()), k, n)


def _ratios(frame: pd.DataFrame, rows: np.ndarray) -> dict[str, np.ndarray]:
    """capture, PAI and PEI* of resampled weeks; ``rows`` is (n_boot, n_weeks) of row positions."""
    sums = {
        c: frame[c].to_numpy(dtype=float)[rows].sum(axis=-1) for c in ("captured", "best", "total", "k", "n")
    }
    with np.errstate(divide="ignore", invalid="ignore"):
        capture = sums["captured"] / sums["total"]
        return {
            "capture": capture,
            "pai": capture / (sums["k"] / sums["n"]),
            "pei": sums["captured"] / sums["best"],
        }


def pooled(hits: pd.DataFrame, *, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """Pooled capture, PAI and PEI* over weeks (one row of ``hits`` per week, columns as ``Hits``),
    with percentile intervals from resampling weeks; columns metric, value, lower, upper.

    Examples
    --------
    >>> weeks = pd.DataFrame([hits_at_top(np.array([3.0, 2, 1, 0]), np.array([1.0, 0, 2, 1]), 0.5).__dict__] * 3)
    >>> pooled(weeks, n_boot=50)[["metric", "value"]].to_dict("list")
    {'metric': ['capture', 'pai', 'pei'], 'value': [0.25, 0.5, 0.3333333333333333]}
    """
    point = _ratios(hits, np.arange(len(hits))[None, :])
    boot = _ratios(hits, np.random.default_rng(seed).integers(0, len(hits), (n_boot, len(hits))))
    tail = (1.0 - level) / 2.0
    return pd.DataFrame(
        [
            {
                "metric": name,
                "value": float(point[name][0]),
                "lower": float(np.nanquantile(boot[name], tail)),
                "upper": float(np.nanquantile(boot[name], 1.0 - tail)),
            }
            for name in ("capture", "pai", "pei")
        ]
    )


def pooled_difference(
    hits: pd.DataFrame, other: pd.DataFrame, *, n_boot: int = 2000, seed: int = 0, level: float = 0.95
) -> pd.DataFrame:
    """Pooled capture of ``hits`` minus that of ``other`` (the same weeks, row by row) with a paired
    interval: both resampled with the same weeks. Columns metric, value, lower, upper.

    Examples
    --------
    >>> a = pd.DataFrame([Hits(2.0, 3.0, 4.0, 2, 4).__dict__] * 3)
    >>> b = pd.DataFrame([Hits(1.0, 3.0, 4.0, 2, 4).__dict__] * 3)
    >>> pooled_difference(a, b, n_boot=20)["value"].round(4).tolist()
    [0.25, 0.5, 0.3333]
    """
    if len(hits) != len(other):
        raise DisputeRiskError(f"both rankings need the same weeks, got {len(hits)} and {len(other)}")
    rows = np.random.default_rng(seed).integers(0, len(hits), (n_boot, len(hits)))
    everything = np.arange(len(hits))[None, :]
    point_a, point_b = _ratios(hits, everything), _ratios(other, everything)
    boot_a, boot_b = _ratios(hits, rows), _ratios(other, rows)
    tail = (1.0 - level) / 2.0
    out = []
    for name in ("capture", "pai", "pei"):
        diff = boot_a[name] - boot_b[name]
        out.append(
            {
                "metric": name,
                "value": float(point_a[name][0] - point_b[name][0]),
                "lower": float(np.nanquantile(diff, tail)),
                "upper": float(np.nanquantile(diff, 1.0 - tail)),
            }
        )
    return pd.DataFrame(out)
