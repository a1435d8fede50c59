"""Exact TreeSHAP of one row from per-tree lookup tables: the intake fast path for reasons.

Pure (numpy only): it reads a LightGBM booster's ``dump_model()`` and never imports LightGBM.
"""

from __future__ import annotations

import math
import weakref
from typing import Any

import numpy as np


class TreeShap:
    """LightGBM's ``pred_contrib`` (path-dependent TreeSHAP) of one row, from lookup tables.

    A tree of depth <= 3 has at most 7 splits, so what it contributes for a row depends only on
    the row's side at each of them: one of 2**7 patterns. The contributions of every pattern
    are computed once per model (``build``), and a row then costs its split decisions and one
    table lookup per tree, several times less than LightGBM's own pred_contrib of one row.

    The tables come from the closed form of TreeSHAP for one leaf: the tree's expected output
    given the features in S is the leaf value v times, for each distinct feature j on the
    leaf's path, z_j (1 if the row takes the path's side at every split on j, else 0) when j
    is in S, or r_j (the share of the training rows that took those sides) when it is not.
    For paths of at most three distinct features the Shapley value of that product is

        phi_i = v (z_i - r_i) (r_a r_b / 3 + (z_a r_b + r_a z_b) / 6 + z_a z_b / 3)

    (a, b the path's other features, absent ones as z = r = 1): what TreeSHAP's extend/unwind
    recursion sums, leaf by leaf. The decisions follow LightGBM's NumericalDecision (NaN and
    zero as missing). Built only for one-tree-per-iteration models with numerical splits and
    depth <= 3; anything else gets None from ``build`` and the booster's own pred_contrib."""

    _ZERO = float(np.float32(1e-35))  # LightGBM's kZeroThreshold (a float)
    _SPLITS = 8  # per tree, padded: one byte of decisions per tree (the 8th is always left)

    def __init__(
        self,
        n_features: int,
        splits: dict[str, np.ndarray],
        table: np.ndarray,
        features: np.ndarray,
        bias: float,
    ) -> None:
        self.n_features = n_features
        self.split_feature = splits["feature"]  # (n_trees * 8,)
        self.threshold = splits["threshold"]  # padding: +inf, always left
        self.default_left = splits["default_left"]
        self.nan_missing = splits["nan_missing"]
        self.zero_missing = splits["zero_missing"]
        self.any_zero_missing = bool(self.zero_missing.any())
        self.n_trees = len(features)
        self.table = table  # (n_trees * 128, 7): contributions by tree and pattern
        self.row_base = np.arange(self.n_trees, dtype=np.intp) * 128
        self.features = features.ravel()  # (n_trees * 7,): the feature of each table column
        self.bias = bias

    @classmethod
    def build(cls, booster: Any) -> TreeShap | None:
        """The tables of a booster, or None when its trees are not of the kind they cover."""
        dump = booster.dump_model()
        if dump.get("num_tree_per_iteration", 1) != 1 or dump.get("average_output", False):
            return None
        n_features = int(dump["max_feature_idx"]) + 1
        leaves, splits = _Leaves(), _Splits()
        tree_features: list[list[int]] = []
        try:
            for t, tree in enumerate(dump["tree_info"]):
                local, features = _walk(t, tree["tree_structure"], leaves)
                splits.add(local)
                tree_features.append(features + [n_features] * (7 - len(features)))
        except _Unsupported:
            return None
        table = leaves.pattern_table(len(tree_features))
        return cls(n_features, splits.arrays(), table, np.asarray(tree_features, dtype=np.intp), leaves.bias)

    def contributions(self, row: np.ndarray) -> np.ndarray:
        """(n_features + 1,) float64: per-feature contributions, then the expected value."""
        x = np.asarray(row, dtype=np.float64)[self.split_feature]
        left = x <= self.threshold
        isnan = x != x
        if isnan.any():  # NaN is 0.0, unless the split sends NaN its default way
            left = np.where(isnan, np.where(self.nan_missing, self.default_left, self.threshold >= 0.0), left)
            x = np.where(isnan, 0.0, x)
        if self.any_zero_missing:
            zero = self.zero_missing & (x >= -self._ZERO) & (x <= self._ZERO)
            left = np.where(zero, self.default_left, left)
        pattern = np.packbits(left.reshape(self.n_trees, self._SPLITS), axis=1, bitorder="little")[:, 0] & 127
        values = self.table[self.row_base + pattern]
        out = np.bincount(self.features, weights=values.ravel(), minlength=self.n_features + 1)
        out[self.n_features] = self.bias
        return out


class _Unsupported(Exception):
    """A tree the tables do not cover (categorical or linear splits, depth > 3): LightGBM's own
    pred_contrib is used instead."""


_SPLITS = TreeShap._SPLITS
Path_ = list[tuple[int, int, bool, float]]  # (split index in its tree, feature, went left, share of rows)


class _Splits:
    """Every tree's splits, padded to ``_SPLITS`` per tree (a padding split sends every row left)."""

    def __init__(self) -> None:
        self.columns: dict[str, list[Any]] = {
            k: [] for k in ("feature", "threshold", "default_left", "nan_missing", "zero_missing")
        }

    def add(self, local: list[dict[str, Any]]) -> None:
        pad = _SPLITS - len(local)
        self.columns["feature"] += [int(n["split_feature"]) for n in local] + [0] * pad
        self.columns["threshold"] += [float(n["threshold"]) for n in local] + [math.inf] * pad
        self.columns["default_left"] += [bool(n["default_left"]) for n in local] + [True] * pad
        self.columns["nan_missing"] += [n["missing_type"] == "NaN" for n in local] + [False] * pad
        self.columns["zero_missing"] += [n["missing_type"] == "Zero" for n in local] + [False] * pad

    def arrays(self) -> dict[str, np.ndarray]:
        dtypes = {"feature": np.intp, "threshold": np.float64}
        return {k: np.asarray(v, dtype=dtypes.get(k, bool)) for k, v in self.columns.items()}


class _Leaves:
    """Every leaf's path (up to three features, each with up to three conditions) and value."""

    def __init__(self) -> None:
        self.tree: list[int] = []
        self.cond: list[list[list[int]]] = []
        self.left: list[list[list[bool]]] = []
        self.slot: list[list[int]] = []
        self.r: list[list[float]] = []
        self.value: list[float] = []
        self.bias = 0.0

    def add(self, tree: int, node: dict[str, Any], path: Path_, features: list[int], share: float) -> None:
        if "leaf_coeff" in node:  # linear trees: not a constant per leaf
            raise _Unsupported
        self.bias += share * float(node["leaf_value"])
        by_feature: dict[int, tuple[list[tuple[int, bool]], float]] = {}
        for index, feature, left, ratio in path:
            conds, r = by_feature.get(feature, ([], 1.0))
            by_feature[feature] = ([*conds, (index, left)], r * ratio)
        if len(by_feature) > 3 or any(len(c) > 3 for c, _ in by_feature.values()):
            raise _Unsupported
        features.extend(f for f in by_feature if f not in features)
        slots = [*by_feature.items()] + [(-1, ([], 1.0))] * (3 - len(by_feature))
        # padding conditions read split 7, which every row passes on the left
        self.cond.append([[i for i, _ in c] + [_SPLITS - 1] * (3 - len(c)) for _, (c, _) in slots])
        self.left.append([[lft for _, lft in c] + [True] * (3 - len(c)) for _, (c, _) in slots])
        self.slot.append([features.index(f) if f >= 0 else 0 for f, _ in slots])
        self.r.append([r for _, (_, r) in slots])
        self.value.append(float(node["leaf_value"]))
        self.tree.append(tree)

    def pattern_table(self, n_trees: int) -> np.ndarray:
        """(n_trees * 128, 7): what each leaf adds under each pattern of its tree's 7 real splits
        (bit i: split i goes left), by the closed form in TreeShap's docstring."""
        patterns = np.arange(128)
        bits = ((patterns[:, None] >> np.arange(_SPLITS)) & 1).astype(bool)  # (128, 8)
        bits[:, _SPLITS - 1] = True
        cond, want = np.asarray(self.cond, dtype=np.intp), np.asarray(self.left, dtype=bool)
        z = (bits[:, cond] == want).all(axis=3).astype(np.float64)  # (128, n_leaves, 3)
        r = np.asarray(self.r, dtype=np.float64)[None]
        phi = (
            np.stack(
                [
                    (z[..., i] - r[..., i])
                    * (
                        r[..., a] * r[..., b] / 3
                        + (z[..., a] * r[..., b] + r[..., a] * z[..., b]) / 6
                        + z[..., a] * z[..., b] / 3
                    )
                    for i, a, b in ((0, 1, 2), (1, 0, 2), (2, 0, 1))
                ],
                axis=-1,
            )
            * np.asarray(self.value, dtype=np.float64)[None, :, None]
        )
        tree = np.asarray(self.tree, dtype=np.intp)[None, :, None]
        cell = (tree * 128 + patterns[:, None, None]) * 7 + np.asarray(self.slot, dtype=np.intp)[None]
        table = np.bincount(cell.ravel(), weights=phi.ravel(), minlength=n_trees * 128 * 7)
        return table.reshape(n_trees * 128, 7)


def _walk(tree: int, root: dict[str, Any], leaves: _Leaves) -> tuple[list[dict[str, Any]], list[int]]:
    """A tree's split nodes (in the order their decisions are packed) and its features, adding
    its leaves to ``leaves``; _Unsupported for a tree the tables cannot hold."""
    local: list[dict[str, Any]] = []
    features: list[int] = []
    if "split_index" not in root:  # a single leaf: its value is all there is
        leaves.bias += float(root["leaf_value"])
        return local, features
    total = float(root["internal_count"])
    stack: list[tuple[dict[str, Any], Path_]] = [(root, [])]
    while stack:
        node, path = stack.pop()
        if "split_index" not in node:
            leaves.add(tree, node, path, features, float(node["leaf_count"]) / total)
            continue
        if node.get("decision_type") != "<=" or node.get("missing_type") not in ("None", "Zero", "NaN"):
            raise _Unsupported
        if len(local) == _SPLITS - 1:
            raise _Unsupported
        index, feature = len(local), int(node["split_feature"])
        local.append(node)
        count = float(node["internal_count"])
        for child, left in ((node["left_child"], True), (node["right_child"], False)):
            n = float(child["internal_count"] if "split_index" in child else child["leaf_count"])
            stack.append((child, [*path, (index, feature, left, n / count)]))
    return local, features


# Per booster, built on first use; weak keys: nothing of it is pickled with the model. No lock:
# two threads that miss at once both build the same tables and one result is kept, a waste of a
# few ms once per model, never a wrong answer (a dict assignment is atomic).
_BUILT: weakref.WeakKeyDictionary[Any, TreeShap | None] = weakref.WeakKeyDictionary()


def tree_shap_for(booster: Any) -> TreeShap | None:
    """The booster's tables, or None when its trees need LightGBM's own pred_contrib."""
    try:
        return _BUILT[booster]
    except KeyError:
        pass
    except TypeError:  # cannot be weakly referenced: the booster's own pred_contrib
        return None
    try:
        built = TreeShap.build(booster) if hasattr(booster, "dump_model") else None
    except Exception:  # anything unexpected in the dump: the booster's own pred_contrib
        built = None
    _BUILT[booster] = built
    return built
