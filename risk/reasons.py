"""Plain-Chinese reasons from per-feature contributions.

Features are grouped into families an intake officer recognises (叙述中的威胁, 当事人的
纠纷史, 所在村的近期情况 ...), as the feature catalogue (``features.build.CATALOGUE``)
declares them; the contribution of a family is the sum over its features, so a reason speaks
for everything the model saw of that kind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from features.build import CATALOGUE
from features.errors import DisputeRiskError

RAISES = "升高"
LOWERS = "降低"
OTHER_FAMILY = "other"  # a column the catalogue does not know (a model from an older catalogue)


def feature_family(name: str) -> str:
    """The reason family of a model column, from the feature catalogue.

    >>> feature_family("cue_threat"), feature_family("party_prior_cases_sum"), feature_family("reg_hour")
    ('cue_threat', 'party_history', 'time')
    """
    try:
        return CATALOGUE.family_of(name)
    except DisputeRiskError:
        return OTHER_FAMILY


def describe(
    family: str, case: Mapping[str, Any], history: Mapping[str, Any], terms: Sequence[str] = ()
) -> str:
    """One sentence for a family, with the case's own values where they help."""
    if family not in CATALOGUE.families:
        return "其他因素"
    return CATALOGUE.describe(family, case, history, terms)


class ReasonIndex:
    """Maps the model's feature columns (plus LightGBM's bias column) onto families."""

    def __init__(self, feature_names: Sequence[str]) -> None:
        families = [feature_family(str(n)) for n in feature_names]
        self.families: list[str] = sorted(set(families))
        index = {f: i for i, f in enumerate(self.families)}
        rows = np.arange(len(feature_names))
        cols = np.array([index[f] for f in families])
        # The extra last row is the bias term of pred_contrib: it belongs to no family.
        self.matrix = sp.csr_matrix(
            (np.ones(len(rows)), (rows, cols)), shape=(len(feature_names) + 1, len(self.families))
        )

    def family_contributions(self, contrib: np.ndarray | sp.spmatrix) -> np.ndarray:
        """(n, n_features + 1) contributions -> (n, n_families)."""
        out = contrib @ self.matrix
        return np.asarray(out.toarray() if sp.issparse(out) else out)

    def family_contributions_one(self, contrib_row: np.ndarray) -> list[float]:
        """One row of contributions (n_features + 1,) -> its families' sums, as floats: the
        single-case path (for one row, scipy's overhead on a sparse product outweighs the sum)."""
        column_family = self.__dict__.get("_column_family")
        if column_family is None:  # made on first use: indexes pickled before it existed lack it
            column_family = self._column_family = self._family_of_columns()
        sums = np.bincount(column_family, weights=contrib_row, minlength=len(self.families) + 1)
        return sums[: len(self.families)].tolist()

    def _family_of_columns(self) -> np.ndarray:
        """The family number of each column of ``matrix``'s rows; the bias row (no family)
        gets one past the last family."""
        m = sp.csr_matrix(self.matrix)
        out = np.full(m.shape[0], len(self.families), dtype=np.intp)
        rows = np.flatnonzero(np.diff(m.indptr))
        out[rows] = m.indices[m.indptr[rows]]
        return out
