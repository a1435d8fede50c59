"""The two baselines the model must beat on the same test window.

- ``RedFlagChecklist``: what a careful 综治 office could do without a model, scored the way
  structured-judgement instruments such as DASH are: one point per red flag present, equal weights.
- ``logistic_baseline``: a linear model on exactly the features LightGBM sees, to show what the trees
  add over a linear fit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MaxAbsScaler

from features.build import CATALOGUE
from features.checks import check_labels, require_fitted
from features.errors import DisputeRiskError

logger = logging.getLogger(__name__)

EPS = 1e-6  # as in training.calibrate: a risk is never exactly 0 or 1

# flag -> test on the frame of inputs (a missing column or NaN reads as 0: see RedFlagChecklist).
_FLAG_RULES: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "threat": lambda f: f["cue_threat"] > 0,
    "weapon": lambda f: f["cue_weapon"] > 0,
    "violence": lambda f: (f["cue_physical"] > 0) | (f["cue_injury"] > 0),
    "self_harm": lambda f: f["cue_self_harm"] > 0,
    "repeat_police_calls": lambda f: f["police_calls_before"] >= 2,
    "failed_mediations": lambda f: f["mediation_attempts"] >= 2,
    "key_group": lambda f: f["key_group_present"] > 0,
    "prior_escalation": lambda f: f["party_prior_escalations_max"] > 0,
    "repeat_disputant": lambda f: f["party_prior_cases_max"] >= 1,
}
CHECKLIST_FLAGS: tuple[str, ...] = tuple(_FLAG_RULES)
# Feature names checked against the catalogue at import: a renamed feature fails here, loudly,
# instead of silently switching a flag off.
CHECKLIST_COLUMNS: tuple[str, ...] = CATALOGUE.require(
    (
        "cue_threat",
        "cue_weapon",
        "cue_physical",
        "cue_injury",
        "cue_self_harm",
        "police_calls_before",
        "mediation_attempts",
        "key_group_present",
        "party_prior_escalations_max",
        "party_prior_cases_max",
    )
)


class RedFlagChecklist(BaseEstimator):
    """Counts red flags (0-9, equal weights) and maps the count to a probability.

    Input: a DataFrame with the columns in ``CHECKLIST_COLUMNS``. A missing column or a NaN counts as
    "flag absent", the way an unanswered item on a paper checklist adds no point; so the baseline
    still runs on a feature set without history columns, it just has fewer flags to find. ``fit``
    records the missing columns in ``missing_columns_`` and logs them, since a renamed column would
    otherwise silently switch a flag off.

    ``fit`` learns nothing about which flags matter: only the observed escalation rate per count on
    the training window, shrunk towards the overall rate by ``smoothing`` pseudo-cases and made
    non-decreasing in the count (a checklist promises that more flags never mean less risk). Counts
    unseen in training take the rate of the neighbouring counts. This makes its probabilities
    comparable with the model's in Brier score and calibration.
    """

    def __init__(self, smoothing: float = 10.0) -> None:
        self.smoothing = smoothing

    @staticmethod
    def flags(X: pd.DataFrame) -> pd.DataFrame:
        """0/1 per red flag and case, columns in ``CHECKLIST_FLAGS`` order."""
        if not isinstance(X, pd.DataFrame):
            raise DisputeRiskError(f"RedFlagChecklist needs a DataFrame, got {type(X).__name__}")
        inputs = pd.DataFrame(
            {c: pd.to_numeric(X[c], errors="coerce") if c in X else 0.0 for c in CHECKLIST_COLUMNS},
            index=X.index,
        ).fillna(0.0)
        return pd.DataFrame(
            {flag: rule(inputs).astype(int) for flag, rule in _FLAG_RULES.items()}, index=X.index
        )

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """The checklist score: how many red flags are present."""
        return self.flags(X).sum(axis=1).to_numpy()

    def fit(self, X: pd.DataFrame, y: object) -> RedFlagChecklist:
        if not self.smoothing >= 0:
            raise DisputeRiskError(f"smoothing must be >= 0, got {self.smoothing}")
        counts = self.decision_function(X)
        y_arr = check_labels(y, len(counts))
        if len(y_arr) == 0:
            raise DisputeRiskError("RedFlagChecklist.fit needs at least one case, got 0")
        self.missing_columns_ = [c for c in CHECKLIST_COLUMNS if c not in X.columns]
        if self.missing_columns_:
            logger.warning("red-flag checklist: columns missing, read as 0: %s", self.missing_columns_)
        self.base_rate_ = float(y_arr.mean())
        n_by_count = np.bincount(counts, minlength=len(CHECKLIST_FLAGS) + 1)
        pos_by_count = np.bincount(counts, weights=y_arr.astype(float), minlength=len(CHECKLIST_FLAGS) + 1)
        seen = np.flatnonzero(n_by_count)
        rate = (pos_by_count[seen] + self.smoothing * self.base_rate_) / (n_by_count[seen] + self.smoothing)
        monotone = IsotonicRegression(increasing=True).fit_transform(
            seen, rate, sample_weight=n_by_count[seen]
        )
        every_count = np.arange(len(CHECKLIST_FLAGS) + 1)
        self.n_by_count_ = n_by_count
        self.probability_by_count_ = np.clip(np.interp(every_count, seen, monotone), EPS, 1 - EPS)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """(n, 2) like sklearn: column 1 is the probability of escalation."""
        require_fitted(self, "probability_by_count_")
        p = self.probability_by_count_[self.decision_function(X)]
        return np.column_stack([1 - p, p])


def logistic_baseline(*, C: float = 1.0, max_iter: int = 5000, random_state: int = 0) -> Pipeline:
    """An unfitted Pipeline: NaN imputation, scaling, LogisticRegression; takes dense or sparse X.

    The median imputer adds a missing-indicator column per feature with NaNs, because "unknown"
    (e.g. police_calls_before not recorded) carries information LightGBM also sees. MaxAbsScaler
    scales without centring, so sparse TF-IDF input stays sparse. class_weight stays None, so the
    probabilities keep the base rate and can be compared with the model's.
    """
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
            ("scale", MaxAbsScaler()),
            (
                "logit",
                LogisticRegression(
                    C=C, class_weight=None, solver="lbfgs", max_iter=max_iter, random_state=random_state
                ),
            ),
        ]
    )
