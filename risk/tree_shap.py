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
        dump = booster.dump_model()
        if dump.get("num_tree_per_iteration", 1) != 1 or dump.get("average_output", False):
            return None
        n_features = int(dump["max_feature_idx"]) + 1
        splits: dict[str, list[Any]] = {
            k: [] for k in ("feature", "threshold", "default_left", "nan_missing", "zero_missing")
        }
        leaf_tree: list[int] = []
        leaf_cond: list[list[list[int]]] = []
        leaf_left: list[list[list[bool]]] = []
        leaf_slot: list[list[int]] = []
        leaf_r: list[list[float]] = []
        leaf_value: list[float] = []
        tree_features: list[list[int]] = []
        bias = 0.0
        for t, tree in enumerate(dump["tree_info"]):
            root = tree["tree_structure"]
            features: list[int] = []
            local: list[dict[str, Any]] = []
            if "split_index" not in root:  # a single leaf: its value is all there is
                bias += float(root["leaf_value"])
            else:
                total = float(root["internal_count"])
                stack: list[tuple[dict[str, Any], list[tuple[int, int, bool, float]]]] = [(root, [])]
                while stack:
                    node, path = stack.pop()
                    if "split_index" in node:
                        if node.get("decision_type") != "<=" or node.get("missing_type") not in (
                            "None",
                            "Zero",
                            "NaN",
                        ):
                            return None
                        if len(local) == cls._SPLITS - 1:
                            return None
                        index, feature = len(local), int(node["split_feature"])
                        local.append(node)
                        count = float(node["internal_count"])
                        for child, left in ((node["left_child"], True), (node["right_child"], False)):
                            n = float(
                                child["internal_count"] if "split_index" in child else child["leaf_count"]
                            )
                            stack.append((child, [*path, (index, feature, left, n / count)]))
                        continue
                    if "leaf_coeff" in node:  # linear trees: not a constant per leaf
                        return None
                    bias += float(node["leaf_count"]) / total * float(node["leaf_value"])
                    by_feature: dict[int, tuple[list[tuple[int, bool]], float]] = {}
                    for index, feature, left, ratio in path:
                        conds, r = by_feature.get(feature, ([], 1.0))
                        by_feature[feature] = ([*conds, (index, left)], r * ratio)
                    if len(by_feature) > 3 or any(len(c) > 3 for c, _ in by_feature.values()):
                        return None
                    for feature in by_feature:
                        if feature not in features:
                            features.append(feature)
                    slots = [*by_feature.items()] + [(-1, ([], 1.0))] * (3 - len(by_feature))
                    # padding conditions read split 7, which every row passes on the left
                    leaf_cond.append(
                        [[i for i, _ in c] + [cls._SPLITS - 1] * (3 - len(c)) for _, (c, _) in slots]
                    )
                    leaf_left.append([[lft for _, lft in c] + [True] * (3 - len(c)) for _, (c, _) in slots])
                    leaf_slot.append([features.index(f) if f >= 0 else 0 for f, _ in slots])
                    leaf_r.append([r for _, (_, r) in slots])
                    leaf_value.append(float(node["leaf_value"]))
                    leaf_tree.append(t)
            pad = cls._SPLITS - len(local)
            splits["feature"] += [int(n["split_feature"]) for n in local] + [0] * pad
            splits["threshold"] += [float(n["threshold"]) for n in local] + [math.inf] * pad
            splits["default_left"] += [bool(n["default_left"]) for n in local] + [True] * pad
            splits["nan_missing"] += [n["missing_type"] == "NaN" for n in local] + [False] * pad
            splits["zero_missing"] += [n["missing_type"] == "Zero" for n in local] + [False] * pad
            tree_features.append(features + [n_features] * (7 - len(features)))
        n_trees = len(tree_features)
        # Every leaf under every pattern of its tree's 7 real splits (bit i: split i goes left).
        patterns = np.arange(128)
        bits = ((patterns[:, None] >> np.arange(cls._SPLITS)) & 1).astype(bool)  # (128, 8)
        bits[:, cls._SPLITS - 1] = True
        cond, want = np.asarray(leaf_cond, dtype=np.intp), np.asarray(leaf_left, dtype=bool)
        z = (bits[:, cond] == want).all(axis=3).astype(np.float64)  # (128, n_leaves, 3)
        r = np.asarray(leaf_r, dtype=np.float64)[None]
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
            * np.asarray(leaf_value, dtype=np.float64)[None, :, None]
        )
        tree = np.asarray(leaf_tree, dtype=np.intp)[None, :, None]
        cell = (tree * 128 + patterns[:, None, None]) * 7 + np.asarray(leaf_slot, dtype=np.intp)[None]
        table = np.bincount(cell.ravel(), weights=phi.ravel(), minlength=n_trees * 128 * 7).reshape(
            n_trees * 128, 7
        )
        split_arrays = {
            "feature": np.asarray(splits["feature"], dtype=np.intp),
            "threshold": np.asarray(splits["threshold"], dtype=np.float64),
            "default_left": np.asarray(splits["default_left"], dtype=bool),
            "nan_missing": np.asarray(splits["nan_missing"], dtype=bool),
            "zero_missing": np.asarray(splits["zero_missing"], dtype=bool),
        }
        return cls(n_features, split_arrays, table, np.asarray(tree_features, dtype=np.intp), bias)

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
