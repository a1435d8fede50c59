"""EscalationModel: the fitted feature pipeline, the LightGBM booster, the calibrator, the
warning thresholds and the as-of history state in one picklable object.

Training registers this object in MLflow as a pyfunc *callable* (``__call__``), so this
module needs no MLflow import; serving and batch scoring load it back and call
``score_case`` / ``score`` directly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp

from features.build import CaseFeaturizer, case_frame
from features.cues import CUE_COLUMNS
from features.errors import DisputeRiskError
from features.history_schema import HISTORY_FEATURES
from features.history_state import HistoryState
from features.records import nested_tables
from risk.levels import check_thresholds, level_for, levels_for
from risk.reasons import LOWERS, RAISES, ReasonIndex, describe
from risk.tree_shap import tree_shap_for

MODEL_NAME = "dispute-escalation"
# LightGBM's threads pay only on a big batch: one case (the API) or a few hundred predict faster on
# one thread, 100,000 rows in half the time on two. The booster's own setting is its training's
# (one thread), so it is set per call; 0 = OpenMP's default (every core, or OMP_NUM_THREADS).
PARALLEL_PREDICT_ROWS = 10_000


def booster_predict(booster: Any, X: Any, **kwargs: Any) -> Any:
    """``booster.predict(X, **kwargs)`` on as many threads as pay for ``X``'s rows."""
    threads = 0 if X.shape[0] >= PARALLEL_PREDICT_ROWS else 1
    return booster.predict(X, num_threads=threads, **kwargs)


# (featurizer, case frame) -> model matrix: how a batch runs the featurizer (here, or in parallel)
Transform = Callable[[CaseFeaturizer, pd.DataFrame], np.ndarray]


def _transform(featurizer: CaseFeaturizer, frame: pd.DataFrame) -> np.ndarray:
    return featurizer.transform(frame)


def reason_text(reasons: Sequence[Reason]) -> str:
    """Reasons as one plain-Chinese text (the batch file's column)."""
    return "；".join(f"{r.text}（{r.direction}）" for r in reasons)


class HistoryReader(Protocol):
    """What scoring reads of an as-of history: ``HistoryState`` itself, or serving's live history
    (which adds its own locking around the same call)."""

    def features_one(
        self, case: Mapping[str, Any], parties: Sequence[Mapping[str, Any]]
    ) -> dict[str, float]: ...


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
        self._cue_slots = [(i, CUE_COLUMNS[name]) for i, name in enumerate(names) if name in CUE_COLUMNS]

    # ---- single case (the intake API) -------------------------------------------------------
    def score_case(
        self,
        case: Mapping[str, Any],
        parties: Sequence[Mapping[str, Any]],
        *,
        history: HistoryReader | None = None,
        n_reasons: int = 3,
    ) -> ScoredCase:
        """Score one normalised case against ``history`` (default: what the model knew at training)."""
        features = (history if history is not None else self.history).features_one(case, parties)
        X = self.featurizer.transform_one(case, features)
        contrib = self.contributions_one(X)
        # pred_contrib sums to the raw margin, so one call gives both the score and its reasons.
        raw = 1.0 / (1.0 + math.exp(-min(max(float(contrib.sum()), -700.0), 700.0)))
        risk = float(self.calibrator.predict(np.array([raw]))[0])
        row = X[0].tolist()
        cues = {family: int(row[i]) for i, family in self._cue_slots}
        reasons = self._reasons_for(contrib, case, features, n_reasons)
        return ScoredCase(
            case_id=str(case.get("case_id", "")),
            risk=risk,
            level=level_for(risk, self.thresholds),
            reasons=reasons,
            cues=cues,
        )

    def contributions_one(self, X: np.ndarray) -> np.ndarray:
        """The booster's ``pred_contrib`` of one row (n_features + 1,): through ``risk.tree_shap``
        (faster for a single row, the same values to ~1e-15) when the trees allow it."""
        shap = tree_shap_for(self.booster)
        if shap is not None:
            return shap.contributions(X[0])
        return _dense(booster_predict(self.booster, X, pred_contrib=True))[0]

    def warm(self) -> EscalationModel:
        """Build what the single-case path builds on first use (the tree tables), so the first
        request after a (re)load does not pay for it."""
        tree_shap_for(self.booster)
        return self

    # ---- batches (risk score, the index, the pyfunc) -----------------------------------------
    def features(
        self,
        cases: pd.DataFrame,
        parties: pd.DataFrame,
        *,
        history: HistoryState | None = None,
        transform: Transform | None = None,
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """The case frame (cases with their as-of history) and the model matrix of new cases.
        ``transform`` runs the featurizer (default: in this process; batch scoring passes a
        parallel one)."""
        state = history if history is not None else self.history
        frame = case_frame(cases, state.features_for(cases, parties))
        X = (transform or _transform)(self.featurizer, frame)
        return frame, X

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Calibrated risks of the rows of a model matrix."""
        return np.asarray(self.calibrator.predict(np.asarray(booster_predict(self.booster, X))), dtype=float)

    def assess(
        self,
        cases: pd.DataFrame,
        parties: pd.DataFrame,
        *,
        history: HistoryState | None = None,
        n_reasons: int = 3,
        transform: Transform | None = None,
    ) -> pd.DataFrame:
        """Batch scoring with what the scoring policy and the area index read: case_id, risk,
        model_level, reasons (tuples of Reason; empty when ``n_reasons`` is 0), and every
        feature column of the model matrix (cue counts, history, ...), index aligned by position."""
        frame, X = self.features(cases, parties, history=history, transform=transform)
        risks = self.predict(X)
        reasons: list[tuple[Reason, ...]] = [()] * len(frame)
        if n_reasons > 0:
            families = self._reasons.family_contributions(booster_predict(self.booster, X, pred_contrib=True))
            records = frame.to_dict("records")
            reasons = [self._pick(families[i], record, record, n_reasons) for i, record in enumerate(records)]
        out = pd.DataFrame(X, columns=list(self.featurizer.get_feature_names_out()))
        out.insert(0, "case_id", frame["case_id"].astype(str).to_numpy())
        out.insert(1, "risk", risks)
        out.insert(2, "model_level", levels_for(risks, self.thresholds))
        out.insert(3, "reasons", pd.Series(reasons, dtype=object))
        return out

    def score(
        self,
        cases: pd.DataFrame,
        parties: pd.DataFrame,
        *,
        history: HistoryState | None = None,
        n_reasons: int = 3,
    ) -> pd.DataFrame:
        """case_id, risk, level (the model's) and, with ``n_reasons``, the reasons as one text."""
        assessed = self.assess(cases, parties, history=history, n_reasons=n_reasons)
        out = assessed[["case_id", "risk", "model_level"]].rename(columns={"model_level": "level"})
        if n_reasons > 0:
            out["reasons"] = [reason_text(r) for r in assessed["reasons"]]
        return out

    def __call__(self, model_input: pd.DataFrame) -> pd.DataFrame:
        """MLflow pyfunc entry: contract-shaped cases with a ``parties`` column (list or JSON)."""
        cases, parties = nested_tables(model_input)
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


class NotAnEscalationModel(DisputeRiskError):
    """A registered model that is not this project's EscalationModel."""


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
        raise NotAnEscalationModel(
            f"the loaded model does not hold an EscalationModel (found {type(inner).__name__})"
        )
    return inner


def _dense(values: Any) -> np.ndarray:
    return np.asarray(values.toarray() if sp.issparse(values) else values, dtype=float)


__all__ = [
    "MODEL_NAME",
    "EscalationModel",
    "Reason",
    "ScoredCase",
    "HISTORY_FEATURES",
    "unwrap_pyfunc",
]
