"""The cases still to be registered in the forecast weeks: each area's recent risk inflow, smoothed.

Inflow per week = volume x mean risk per case, both over the last ``volume_weeks`` weeks:

* volume (where the population is known): Marshall's local empirical Bayes on the case count, the
  neighbours being the area's siblings (the children of its parent). Expected count under the
  siblings' pooled rate per resident e = n_sib / pop_sib x pop; the ratio n / e gets a Gamma prior
  with mean 1 and the level's moment-estimated spread (``risk.index_shrinkage``). A village's few
  cases then count for what they say beyond its population. Areas without a population (grids)
  keep their own count.
* mean risk per case: (sum r + k x parent's mean) / (n + k), k = ``mix_cases`` pseudo-cases, so one
  grave case among three does not make every future case of the village grave.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from risk.index_shrinkage import prior_shape, shrink_to_parent
from risk.index_weekly import Hierarchy

__all__ = ["inflow_estimate", "inflow_shares"]


def inflow_estimate(
    hierarchy: Hierarchy, cases: np.ndarray, risk: np.ndarray, *, weeks: int, min_cv2: float, mix_cases: float
) -> np.ndarray:
    """(areas x weeks) expected sum of r per coming week, from subtree sums ``cases`` (count) and
    ``risk`` (sum of r) over the last ``weeks`` weeks.

    Examples
    --------
    A town of three villages of 1,000 residents: 12, 10 and 2 cases where 8 each were expected from
    the town's rate. The spread beyond chance is modest, so the quiet village is expected to bring
    more than its 2 cases (all at risk 0.01 here, one week).

    >>> import pandas as pd
    >>> from features.areas import AreaTree
    >>> codes = ["320612001000", "320612001001", "320612001002", "320612001003"]
    >>> tree = AreaTree.from_frame(pd.DataFrame({"area_code": codes, "name": ["镇", "甲", "乙", "丙"],
    ...     "level": ["town"] + ["village"] * 3, "parent_code": [None] + [codes[0]] * 3,
    ...     "population": [3000.0, 1000.0, 1000.0, 1000.0]}))
    >>> hierarchy = Hierarchy.build(tree, pd.DataFrame(columns=["grid_code", "area_code"]))
    >>> cases = np.array([[24.0], [12.0], [10.0], [2.0]])
    >>> inflow = inflow_estimate(hierarchy, cases, 0.01 * cases, weeks=1, min_cv2=0.04, mix_cases=20.0)
    >>> np.round(inflow[:, 0] / 0.01, 2).tolist()  # expected cases: town, then the villages
    [24.0, 10.29, 9.14, 4.57]
    """
    volume = _smoothed_volume(hierarchy, cases, min_cv2)
    mix = np.zeros_like(risk)
    for depth, rows in enumerate(hierarchy.depth_order()):
        if depth == 0:
            mix[rows] = risk[rows] / np.maximum(cases[rows], 1.0)
            continue
        parent_mix = mix[hierarchy.parent[rows]]
        pooled = risk[rows] + mix_cases * parent_mix
        mix[rows] = np.where(
            cases[rows] + mix_cases > 0, pooled / np.maximum(cases[rows] + mix_cases, 1e-12), parent_mix
        )
    return volume * mix / weeks


def _smoothed_volume(hierarchy: Hierarchy, cases: np.ndarray, min_cv2: float) -> np.ndarray:
    out = cases.copy()
    known = np.isfinite(hierarchy.population) & (hierarchy.population > 0) & (hierarchy.parent >= 0)
    children = np.flatnonzero(known)
    pop = np.where(known, hierarchy.population, 0.0)
    # sib[p, c] = 1 for a child c (with a population) of parent p: one product sums every family.
    sib = sp.csr_matrix(
        (np.ones(len(children)), (hierarchy.parent[children], children)), shape=(len(pop), len(pop))
    )
    family_cases = np.asarray(sib @ np.where(known[:, None], cases, 0.0))
    family_pop = np.asarray(sib @ pop)
    for level in np.unique(hierarchy.levels[known]):
        rows = np.flatnonzero(known & (hierarchy.levels == level))
        parent = hierarchy.parent[rows]
        expected = family_cases[parent] / family_pop[parent][:, None] * pop[rows][:, None]
        a = prior_shape(cases[rows], expected, np.ones_like(expected), min_cv2=min_cv2)
        post = shrink_to_parent(cases[rows], expected, np.ones_like(expected), a)
        out[rows] = np.where(expected > 0, post.mean * expected, cases[rows])
    return out


def inflow_shares(hierarchy: Hierarchy, split: np.ndarray, risk: np.ndarray) -> np.ndarray:
    """(areas x groups x weeks) shares of the recent risk by group (category or driver); an area with
    no recent risk takes its parent's shares."""
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = split / risk[:, None, :]
    for depth, rows in enumerate(hierarchy.depth_order()):
        area, week = np.nonzero(~(risk[rows] > 0))  # only the empty cells are filled, top-down
        area = rows[area]
        shares[area, :, week] = 0.0 if depth == 0 else shares[hierarchy.parent[area], :, week]
    return shares
