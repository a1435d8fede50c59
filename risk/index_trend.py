"""Trend classes of an area's index over recent weeks, after ArcGIS's emerging hot-spot analysis.

Within a window of the last ``window`` weeks (ending at the week classified), a week is *hot* when
the area's index is confidently high (the caller decides: the lower end of its band at or above a
cut). The classes, as ArcGIS defines them for a location whose final time step is hot:

    intensifying  hot in >= ``share`` of the window's weeks, and the index rises (Mann-Kendall)
    persistent    hot in >= ``share`` of the weeks, no significant Mann-Kendall trend
    diminishing   hot in >= ``share`` of the weeks, and the index falls (Mann-Kendall)
    new           hot in the final week only
    consecutive   one uninterrupted run of >= 2 hot weeks at the end, never hot before it,
                  and fewer than ``share`` of the weeks hot
    sporadic      hot in the final week, hot before it with gaps, fewer than ``share`` hot
    none          not hot in the final week (ArcGIS's "historical" falls here), or fewer than
                  ``window`` weeks of history

Mann-Kendall: S = sum over pairs i < j of sign(x_j - x_i), Var(S) = (n(n-1)(2n+5) - sum over tie
groups t(t-1)(2t+5)) / 18, z = (S - sign S) / sqrt(Var S), two-sided p from the normal
distribution; a trend is significant when p < ``alpha``.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import stats

__all__ = ["TREND_CLASSES", "mann_kendall", "trend_classes", "trend_codes"]

TREND_CLASSES: Final[tuple[str, ...]] = (
    "none", "new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic",
)  # fmt: skip


def mann_kendall(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mann-Kendall S and two-sided p-value along the last axis (one series per window).

    Examples
    --------
    >>> s, p = mann_kendall(np.array([[1.0, 2, 3, 4, 5, 6, 7, 8], [3.0, 1, 4, 1, 5, 9, 2, 6]]))
    >>> s.tolist(), np.round(p, 4).tolist()
    ([28.0, 11.0], [0.0008, 0.2125])
    """
    n = windows.shape[-1]
    s = np.zeros(windows.shape[:-1])
    ties = np.ones(windows.shape)  # per value: the size t of its tie group (itself included)
    for i in range(n):  # one pair of positions at a time: a (..., n, n) array would not fit
        for j in range(i + 1, n):
            s += np.sign(windows[..., j] - windows[..., i])
            same = windows[..., j] == windows[..., i]
            ties[..., i] += same
            ties[..., j] += same
    # Summing (t-1)(2t+5) over the values gives the sum over tie groups of t(t-1)(2t+5).
    tie_term = ((ties - 1) * (2 * ties + 5)).sum(axis=-1)
    var = (n * (n - 1) * (2 * n + 5) - tie_term) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var > 0, (s - np.sign(s)) / np.sqrt(var), 0.0)
    return s, 2.0 * stats.norm.sf(np.abs(z))


def trend_classes(
    index: np.ndarray, hot: np.ndarray, *, window: int, share: float, alpha: float
) -> np.ndarray:
    """The trend class (one of TREND_CLASSES) of every (area, week) cell; rows are areas, columns
    consecutive weeks. Weeks with fewer than ``window`` weeks of history (NaN index inside the
    window, or too close to the first column) are "none".

    Examples
    --------
    >>> hot = np.array([[0, 0, 0, 1], [0, 0, 1, 1], [1, 1, 1, 1], [1, 0, 1, 1], [1, 1, 1, 0]], bool)
    >>> index = np.array([[10, 10, 10, 90], [10, 10, 80, 85], [70, 80, 90, 95], [80, 20, 85, 80.0],
    ...                   [70, 70, 70, 30.0]])
    >>> trend_classes(index, hot, window=4, share=0.9, alpha=0.1)[:, -1].tolist()
    ['new', 'consecutive', 'intensifying', 'sporadic', 'none']
    """
    codes = trend_codes(index, hot, window=window, share=share, alpha=alpha)
    return np.asarray(TREND_CLASSES, dtype=object)[codes]


def trend_codes(index: np.ndarray, hot: np.ndarray, *, window: int, share: float, alpha: float) -> np.ndarray:
    """``trend_classes`` as positions in TREND_CLASSES (int8), for callers with millions of cells."""
    out = np.zeros(index.shape, dtype=np.int8)
    if index.shape[1] < window:
        return out
    values = sliding_window_view(index, window, axis=1)  # (areas, weeks - window + 1, window)
    hots = sliding_window_view(hot, window, axis=1)
    complete = ~np.isnan(values).any(axis=-1)
    final = hots[..., -1] & complete
    n_hot = hots.sum(axis=-1)
    run = np.zeros(n_hot.shape, dtype=np.int64)  # length of the run of hot weeks ending at the final one
    alive = np.ones(n_hot.shape, dtype=bool)
    for k in range(window - 1, -1, -1):
        alive &= hots[..., k]
        run += alive
    mostly = n_hot >= share * window
    tested = mostly & final  # Mann-Kendall only where the class depends on it
    s = np.zeros(final.shape)
    significant = np.zeros(final.shape, dtype=bool)
    s[tested], p = mann_kendall(values[tested])
    significant[tested] = p < alpha
    label = np.select(
        [
            ~final,
            mostly & significant & (s > 0),
            mostly & significant & (s < 0),
            mostly,
            n_hot == 1,
            (run >= 2) & (n_hot == run),
        ],
        [
            TREND_CLASSES.index(c)
            for c in ("none", "intensifying", "diminishing", "persistent", "new", "consecutive")
        ],
        default=TREND_CLASSES.index("sporadic"),
    )
    out[:, window - 1 :] = label
    return out
