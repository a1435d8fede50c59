"""The machinery under the area index: the hierarchy as arrays, the ISO-week axis, and per-(area,
week) sums of case quantities, vectorised (bincounts over cases, cumulative sums over weeks, one
sparse product for every level at once). No Python loop runs over areas x weeks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from features.areas import AreaTree
from features.errors import DisputeRiskError
from risk.weeks import iso_week

__all__ = ["GRID", "Hierarchy", "WeekAxis", "weekly_sum"]

GRID = "grid"  # 网格: below the village, known only from cases' grid_code


@dataclass(frozen=True)
class WeekAxis:
    """Consecutive ISO weeks from the Monday ``first`` on; week k is [first + 7k days, first + 7k + 7)."""

    first: pd.Timestamp
    n: int

    def days(self, times: pd.Series | pd.DatetimeIndex) -> np.ndarray:
        """Days since ``first`` as floats (NaT -> +inf: never)."""
        values = np.asarray((pd.to_datetime(times) - self.first) / pd.Timedelta(days=1), dtype=float)
        return np.where(np.isnan(values), np.inf, values)

    def labels(self) -> tuple[list[str], pd.DatetimeIndex]:
        """ISO labels ("2026-W09") and Mondays of every week on the axis."""
        starts = pd.date_range(self.first, periods=self.n, freq="7D").as_unit("ns")
        return [iso_week(d) for d in starts], starts


@dataclass(frozen=True)
class Hierarchy:
    """Every area of the index (the tree's areas, then grids) as arrays, with ``member`` (areas x
    areas, sparse): member[a, b] = 1 when b is a or lies below it, so ``member @ x`` sums each
    area's subtree."""

    codes: np.ndarray
    names: np.ndarray
    levels: np.ndarray
    parent: np.ndarray  # index of the parent area, -1 at a root
    population: np.ndarray
    member: sp.csr_matrix

    @classmethod
    def build(cls, tree: AreaTree, grids: pd.DataFrame) -> Hierarchy:
        """From the area tree and the distinct (grid_code, area_code) pairs of the cases."""
        codes = list(tree)
        index = {code: i for i, code in enumerate(codes)}
        parents = [index.get(tree.parent(c) or "", -1) for c in codes]
        grid_codes = grids["grid_code"].tolist()
        clash = [g for g in grid_codes if g in index]
        if clash:
            raise DisputeRiskError(f"grid_code must not be an area code of the hierarchy, got {clash[0]!r}")
        parents += [index[a] for a in grids["area_code"]]
        parent = np.asarray(parents, dtype=np.int64)
        n = len(parent)
        rows, cols, reach = [np.arange(n)], [np.arange(n)], parent.copy()
        while (reach >= 0).any():  # one step up the tree per pass: depth passes, not a loop per area
            has = reach >= 0
            rows.append(reach[has])
            cols.append(np.flatnonzero(has))
            reach = np.where(has, parent[np.maximum(reach, 0)], -1)
        row, col = np.concatenate(rows), np.concatenate(cols)
        member = sp.csr_matrix((np.ones(len(row)), (row, col)), shape=(n, n))
        return cls(
            codes=np.asarray(codes + grid_codes, dtype=object),
            names=np.asarray([tree.name(c) for c in codes] + grid_codes, dtype=object),
            levels=np.asarray([tree.level(c) for c in codes] + [GRID] * len(grid_codes), dtype=object),
            parent=parent,
            population=np.asarray(
                [_or_nan(tree.population(c)) for c in codes] + [np.nan] * len(grid_codes), dtype=float
            ),
            member=member,
        )

    def depth_order(self) -> list[np.ndarray]:
        """Area indices grouped by depth, roots first (parents always come before children)."""
        depth = np.zeros(len(self.parent), dtype=np.int64)
        reach = self.parent.copy()
        while (reach >= 0).any():
            depth += reach >= 0
            reach = np.where(reach >= 0, self.parent[np.maximum(reach, 0)], -1)
        return [np.flatnonzero(depth == d) for d in range(int(depth.max()) + 1)]

    def subtree_sum(self, values: np.ndarray) -> np.ndarray:
        """Per-area values (areas x ...) summed over each area's subtree."""
        flat = values.reshape(len(self.parent), -1)
        return np.asarray(self.member @ flat).reshape(values.shape)


def _or_nan(value: float | None) -> float:
    return np.nan if value is None else value


def weekly_sum(
    area: np.ndarray, week: np.ndarray, weights: np.ndarray, n_areas: int, n_weeks: int
) -> np.ndarray:
    """(areas x weeks) sums of ``weights`` by each row's area and week; weeks off the axis dropped.

    Examples
    --------
    >>> weekly_sum(np.array([0, 1, 1]), np.array([0, 1, 5]), np.array([1.0, 2.0, 4.0]), 2, 3)
    array([[1., 0., 0.],
           [0., 2., 0.]])
    """
    keep = (week >= 0) & (week < n_weeks)
    key = area[keep] * n_weeks + week[keep]
    return np.bincount(key, weights=weights[keep], minlength=n_areas * n_weeks).reshape(n_areas, n_weeks)


def trailing_sum(values: np.ndarray, weeks: int) -> np.ndarray:
    """Sum over the last ``weeks`` weeks (this one included) along the last axis.

    Examples
    --------
    >>> trailing_sum(np.array([[1.0, 2, 3, 4]]), 2)
    array([[1., 3., 5., 7.]])
    """
    total = np.cumsum(values, axis=-1)
    out = total.copy()
    out[..., weeks:] -= total[..., :-weeks]
    return out


def shifted_sums(
    area: np.ndarray,
    week: np.ndarray,
    max_lag: int,
    weight_at: Callable[[int], np.ndarray],
    n_areas: int,
    n_weeks: int,
) -> np.ndarray:
    """(areas x weeks) sums over cases of ``weight_at(d)`` for the week ``d`` weeks after each
    case's registration week, d = 0..max_lag: how a case's contribution evolves as it ages.

    Examples
    --------
    One case registered in week 0 that counts 1, then 0.5, then 0.25:

    >>> shifted_sums(np.array([0]), np.array([0]), 2, lambda d: np.array([0.5**d]), 1, 4)
    array([[1.  , 0.5 , 0.25, 0.  ]])
    """
    out = np.zeros((n_areas, n_weeks))
    for lag in range(max_lag + 1):  # a loop over case ages (a dozen weeks), never over areas or weeks
        out += weekly_sum(area, week + lag, weight_at(lag), n_areas, n_weeks)
    return out
