"""EscalationModel: the fitted feature pipeline, the LightGBM booster, the calibrator, the
warning thresholds and the as-of history state in one picklable object.

Training registers this object in MLflow as a pyfunc *callable* (``__call__``), so this
module needs no MLflow import; serving and batch scoring load it back and call
``score_case`` / ``score`` directly.
"""

from __future__ import annotations

import copy
import json
import math
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from features.build import CaseFeaturizer, case_frame
from features.history import HISTORY_FEATURES, HistoryState
from features.schema import OTHER, normalise_category, normalise_source
from risk.levels import check_thresholds, level_for, levels_for
from risk.reasons import LOWERS, RAISES, ReasonIndex, describe

MODEL_NAME = "dispute-escalation"
# HistoryState is not thread-safe. The lock is module-level, not an attribute: MLflow wraps the
# model with functools.wraps, which copies the instance __dict__ into what it pickles.
_HISTORY_LOCK = threading.Lock()
# Updates of the history go to a second copy first, which then replaces the one being read, so a
# reader never waits for an update (one takes milliseconds; now and then it re-sorts an index,
# ~0.1 s): see EscalationModel.observe_many. One writer at a time; the copies are per model
# (weak keys: nothing of them is pickled with the model).
_WRITER_LOCK = threading.Lock()
_SPARE_HISTORY: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Reason:
    """One plain-Chinese reason behind a score."""

    code: str  # feature family, e.g. "cue_threat", "party_escalations"
    text: str  # e.g. "事件简述提到言语威胁"
    direction: str  # "升高" (raises the risk) or "降低" (lowers it)
    contribution: float  # log-odds contribution of the family


@dataclass(frozen=True)
class ScoredCase:
    case_id: str
    risk: float  # calibrated probability of 民转刑 within horizon_days
    level: str  # level from the model's thresholds alone (hard flags are applied by the caller)
    reasons: tuple[Reason, ...]
    cues: Mapping[str, int] = field(default_factory=dict)  # non-negated cue counts in the narrative
    warnings: tuple[str, ...] = ()  # e.g. unseen category mapped to 其他


class EscalationModel:
    def __init__(
        self,
        featurizer: CaseFeaturizer,
        booster: Any,
        calibrator: Any,
        thresholds: Mapping[str, float],
        history: HistoryState,
        *,
        horizon_days: int,
        metadata: Mapping[str, Any] | None = None,
        name: str = MODEL_NAME,
    ) -> None:
        self.featurizer = featurizer
        self.booster = booster
        self.calibrator = calibrator
        self.thresholds = check_thresholds(thresholds)
        self.history = history
        self.horizon_days = horizon_days
        self.metadata = dict(metadata or {})
        self.name = name
        names = list(featurizer.get_feature_names_out())
        self._reasons = ReasonIndex(names)
        # Where the cue counts sit in the feature row: found once, not per request.
        self._cue_slots = [
            (i, name[len("cue_") :]) for i, name in enumerate(names) if name.startswith("cue_")
        ]

    # ---- single case (the intake API) -------------------------------------------------------
    def score_case(
        self, case: Mapping[str, Any], parties: Sequence[Mapping[str, Any]], *, n_reasons: int = 3
    ) -> ScoredCase:
        case, warnings = _normalised(case)
        with _HISTORY_LOCK:  # the history state is not thread-safe; a read is ~0.05 ms
            history = self.history.features_one(case, parties)
        X = self.featurizer.transform_one(case, history)
        contrib = self.contributions_one(X)
        # pred_contrib sums to the raw margin, so one call gives both the score and its reasons.
        raw = 1.0 / (1.0 + math.exp(-min(max(float(contrib.sum()), -700.0), 700.0)))
        risk = float(self.calibrator.predict(np.array([raw]))[0])
        row = X[0].tolist()
        cues = {family: int(row[i]) for i, family in self._cue_slots}
        reasons = self._reasons_for(contrib, case, history, n_reasons)
        return ScoredCase(
            case_id=str(case.get("case_id", "")),
            risk=risk,
            level=level_for(risk, self.thresholds),
            reasons=reasons,
            cues=cues,
            warnings=tuple(warnings),
        )

    def contributions_one(self, X: np.ndarray) -> np.ndarray:
        """The booster's ``pred_contrib`` of one row (n_features + 1,): through ``_TreeShap``
        (~4x faster for a single row, the same values to ~1e-15) when the trees allow it."""
        shap = _tree_shap(self.booster)
        if shap is not None:
            return shap.contributions(X[0])
        return _dense(self.booster.predict(X, pred_contrib=True))[0]

    def warm(self) -> EscalationModel:
        """Build what the single-case path builds on first use (the tree tables), so the first
        request after a (re)load does not pay for it."""
        _tree_shap(self.booster)
        with _WRITER_LOCK:
            self._spare_history()
        return self

    def observe(self, case: Mapping[str, Any], parties: Sequence[Mapping[str, Any]]) -> None:
        """Remember a scored case so that later cases of the same people and area see it."""
        self.observe_many([case], [parties])

    def observe_many(
        self, cases: Sequence[Mapping[str, Any]], parties: Sequence[Sequence[Mapping[str, Any]]]
    ) -> None:
        """Remember many scored cases in one update (one history update per batch, not per case).

        The batch goes into a spare copy of the history first; the copy then replaces the state
        that ``score_case`` reads (a swap under the lock) and the replaced state gets the batch
        too, becoming the spare. Readers so wait for a reference swap, never for an update.
        Without a spare (one could not be made) the update runs under the lock, as a reader."""
        rows = [
            dict(p) | {"case_id": c["case_id"]}
            for c, people in zip(cases, parties, strict=True)
            for p in people
        ]
        party_frame = pd.DataFrame(
            rows, columns=["case_id", "party_id", "role", "party_type", "gender", "age", "key_groups"]
        )
        party_frame["key_groups"] = party_frame["key_groups"].fillna("").astype(str)
        case_frame_ = pd.DataFrame([dict(c) for c in cases])
        case_frame_["registered_at"] = pd.to_datetime(case_frame_["registered_at"]).astype("datetime64[ns]")
        with _WRITER_LOCK:
            spare = self._spare_history()
            if spare is None:
                with _HISTORY_LOCK:
                    self.history.update(case_frame_, party_frame)
                return
            try:
                spare.update(case_frame_, party_frame)
            except Exception:
                _SPARE_HISTORY.pop(self, None)  # it may hold part of the batch: made anew next time
                raise
            with _HISTORY_LOCK:
                replaced, self.history = self.history, spare
            _SPARE_HISTORY.pop(self, None)
            replaced.update(case_frame_, party_frame)  # cannot fail where the same update just passed
            _SPARE_HISTORY[self] = replaced

    def _spare_history(self) -> Any:
        """The spare copy of the history (made on first use; None if it cannot be copied)."""
        spare = _SPARE_HISTORY.get(self)
        if spare is None and not self.__dict__.get("_no_spare_history", False):
            with _HISTORY_LOCK:
                try:
                    spare = copy.deepcopy(self.history)
                except Exception:
                    self._no_spare_history = True
                    return None
            _SPARE_HISTORY[self] = spare
        return spare

    # ---- batches (risk score, the pyfunc) ------------------------------------------------------
    def score(
        self,
        cases: pd.DataFrame,
        parties: pd.DataFrame,
        *,
        history: HistoryState | None = None,
        n_reasons: int = 3,
    ) -> pd.DataFrame:
        """Score new cases against ``history`` (default: what the model knew at training time)."""
        state = history if history is not None else self.history
        hist = state.features_for(cases, parties)
        frame = case_frame(cases, hist)
        X = self.featurizer.transform(frame)
        risks = np.asarray(self.calibrator.predict(np.asarray(self.booster.predict(X))), dtype=float)
        reasons: list[str] = []
        if n_reasons > 0:
            contrib = self.booster.predict(X, pred_contrib=True)
            families = self._reasons.family_contributions(contrib)
            records = frame.to_dict("records")
            for i, record in enumerate(records):
                picked = self._pick(families[i], record, record, n_reasons)
                reasons.append("；".join(f"{r.text}（{r.direction}）" for r in picked))
        out = pd.DataFrame(
            {
                "case_id": cases["case_id"].astype(str).to_numpy(),
                "risk": risks,
                "level": levels_for(risks, self.thresholds),
            }
        )
        if n_reasons > 0:
            out["reasons"] = reasons
        return out

    def __call__(self, model_input: pd.DataFrame) -> pd.DataFrame:
        """MLflow pyfunc entry: contract-shaped cases with a ``parties`` column (list or JSON)."""
        cases, parties = split_nested_parties(model_input)
        return self.score(cases, parties)  # features_for reads the state, never changes it

    # ---- helpers --------------------------------------------------------------------------------
    def _reasons_for(
        self, contrib_row: np.ndarray, case: Mapping[str, Any], history: Mapping[str, float], n: int
    ) -> tuple[Reason, ...]:
        return self._pick(self._reasons.family_contributions_one(contrib_row), case, history, n)

    def _pick(
        self,
        families: np.ndarray | Sequence[float],
        case: Mapping[str, Any],
        history: Mapping[str, Any],
        n: int,
    ) -> tuple[Reason, ...]:
        values = families.tolist() if isinstance(families, np.ndarray) else [float(v) for v in families]
        # Reasons that raise the risk come first: they are what a supervisor acts on.
        order = sorted(range(len(values)), key=lambda j: (values[j] <= 0, -abs(values[j])))
        picked = []
        for j in order[:n]:
            code = self._reasons.families[j]
            value = values[j]
            if value == 0.0:
                continue
            terms = (
                self.featurizer.top_terms(str(case.get("narrative", "")))
                if code == "text" and value > 0
                else ()
            )
            picked.append(
                Reason(
                    code,
                    describe(code, case, history, terms),
                    RAISES if value > 0 else LOWERS,
                    round(value, 4),
                )
            )
        return tuple(picked)


def unwrap_pyfunc(pyfunc_model: Any) -> EscalationModel:
    """The EscalationModel inside a loaded MLflow pyfunc (duck-typed: no MLflow import here).

    MLflow wraps a callable python_model in its own class, whose ``func`` is a functools.wraps
    wrapper around our object; ``__wrapped__`` leads back to it.
    """
    inner: Any = (
        pyfunc_model.unwrap_python_model() if hasattr(pyfunc_model, "unwrap_python_model") else pyfunc_model
    )
    for attr in ("func", "__wrapped__"):
        if isinstance(inner, EscalationModel):
            break
        inner = getattr(inner, attr, inner)
    if not isinstance(inner, EscalationModel):
        raise TypeError(f"the loaded model does not hold an EscalationModel (found {type(inner).__name__})")
    return inner


def _normalised(case: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    out = dict(case)
    warnings = []
    for field_name, fn in (("category", normalise_category), ("source", normalise_source)):
        raw = out.get(field_name)
        value = fn(str(raw)) if raw is not None else OTHER
        if raw is not None and value != raw:
            warnings.append(f"{field_name} {raw!r} is not in the data contract; treated as {OTHER}")
        out[field_name] = value
    return out, warnings


class _TreeShap:
    """LightGBM's ``pred_contrib`` (path-dependent TreeSHAP) of one row, from lookup tables.

    A tree of depth <= 3 has at most 7 splits, so what it contributes for a row depends only on
    the row's side at each of them: one of 2**7 patterns. The contributions of every pattern
    are computed once per model (``build``), and a row then costs its ~5,000 split decisions
    and one table lookup per tree: ~40 us instead of LightGBM's ~260 us for 754 trees.

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
        self.not_nan_missing = ~self.nan_missing
        self.zero_missing = splits["zero_missing"]
        self.any_zero_missing = bool(self.zero_missing.any())
        self.n_trees = len(features)
        self.table = table  # (n_trees * 128, 7): contributions by tree and pattern
        self.row_base = np.arange(self.n_trees, dtype=np.intp) * 128
        self.features = features.ravel()  # (n_trees * 7,): the feature of each table column
        self.bias = bias

    @classmethod
    def build(cls, booster: Any) -> _TreeShap | None:
        dump = booster.dump_model()
        if dump.get("num_tree_per_iteration", 1) != 1 or dump.get("average_output", False):
            return None
        n_features = int(dump["max_feature_idx"]) + 1
        splits: dict[str, list[Any]] = {
            k: [] for k in ("feature", "threshold", "default_left", "nan_missing", "zero_missing")
        }
        leaf_tree, leaf_cond, leaf_left, leaf_slot, leaf_r, leaf_value, tree_features = (
            [],
            [],
            [],
            [],
            [],
            [],
            [],
        )
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


# Per booster, built on first use; weak keys: nothing of it is pickled with the model.
_TREE_SHAP: weakref.WeakKeyDictionary[Any, _TreeShap | None] = weakref.WeakKeyDictionary()
_TREE_SHAP_LOCK = threading.Lock()


def _tree_shap(booster: Any) -> _TreeShap | None:
    try:
        return _TREE_SHAP[booster]
    except KeyError:
        pass
    except TypeError:  # cannot be weakly referenced: the booster's own pred_contrib
        return None
    with _TREE_SHAP_LOCK:
        if booster not in _TREE_SHAP:
            try:
                _TREE_SHAP[booster] = _TreeShap.build(booster) if hasattr(booster, "dump_model") else None
            except Exception:  # anything unexpected in the dump: the booster's own pred_contrib
                _TREE_SHAP[booster] = None
        return _TREE_SHAP[booster]


def _dense(values: Any) -> np.ndarray:
    return np.asarray(values.toarray() if sp.issparse(values) else values, dtype=float)


def split_nested_parties(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Contract cases with a nested ``parties`` column -> (cases, parties) tables, typed."""
    cases = frame.drop(columns=["parties"], errors="ignore").copy()
    cases["case_id"] = cases["case_id"].astype(str)
    registered = pd.to_datetime(cases["registered_at"], utc=False, format="ISO8601")
    if getattr(registered.dt, "tz", None) is not None:
        registered = registered.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    cases["registered_at"] = registered.astype("datetime64[ns]")
    for column in ("amount_yuan", "police_calls_before", "mediation_attempts"):
        cases[column] = pd.to_numeric(cases[column], errors="coerce") if column in cases else math.nan
    rows: list[dict[str, Any]] = []
    if "parties" in frame:
        for case_id, nested in zip(cases["case_id"], frame["parties"], strict=True):
            items = (
                json.loads(nested) if isinstance(nested, str) else list(nested if nested is not None else [])
            )
            rows.extend({**dict(p), "case_id": case_id} for p in items)
    parties = pd.DataFrame(
        rows, columns=["case_id", "party_id", "role", "party_type", "gender", "age", "key_groups"]
    )
    parties["key_groups"] = parties["key_groups"].fillna("").astype(str)
    return cases, parties


__all__ = [
    "MODEL_NAME",
    "EscalationModel",
    "Reason",
    "ScoredCase",
    "HISTORY_FEATURES",
    "split_nested_parties",
    "unwrap_pyfunc",
]
