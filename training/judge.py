"""Stage 4 of training: judge the fitted model on the test window, beside its baselines.

The red-flag checklist and logistic regression learn from the same train rows and are scored on
the same test rows as the model; the demo generator's true probabilities, when the data has
them, show the best any model could do. Every metric carries a bootstrap interval, and each
baseline's AUC difference a paired one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

import numpy as np
import pandas as pd

from features import area_codes
from training.baselines import RedFlagChecklist, logistic_baseline
from training.evaluate import AucDifference, Metric, calibration_table, evaluate_many
from training.fit import Fitted
from training.metric_tables import slice_metrics
from training.prepare import Prepared

PAIRED_BOOT = 1000  # resamples of each AUC difference to a baseline


class ModelKey(StrEnum):
    """The models a run compares; ``slug`` names their MLflow metrics."""

    MODEL = "LightGBM (calibrated)"
    CHECKLIST = "red-flag checklist"
    LOGISTIC = "logistic regression"
    ORACLE = "generator truth (oracle)"

    @property
    def slug(self) -> str:
        return self.name.lower() if self is not ModelKey.MODEL else "model"


@dataclass(frozen=True)
class Judgement:
    """Test-window metrics of the model and its baselines."""

    metrics: Mapping[ModelKey, Mapping[str, Metric]]
    comparisons: Mapping[ModelKey, AucDifference]  # AUC(model) - AUC(baseline), paired bootstrap
    slices: Mapping[str, pd.DataFrame]  # "category" / "county" -> slice_metrics
    calibration_table: pd.DataFrame
    n_boot: int


def judge(prepared: Prepared, fitted: Fitted, *, n_boot: int = 1000, seed: int = 0) -> Judgement:
    """The model, the checklist, logistic regression (and the oracle) on the test window."""
    rows = prepared.rows
    X, y = fitted.X, prepared.y
    model = fitted.model
    y_test = y[rows["test"]]
    p_test = model.calibrator.predict(fitted.raw["test"])
    names = list(model.featurizer.get_feature_names_out())
    checklist = RedFlagChecklist().fit(pd.DataFrame(X[rows["train"]], columns=names), y[rows["train"]])
    logistic = logistic_baseline().fit(X[rows["train"]], y[rows["train"]])
    scores = {
        ModelKey.MODEL: p_test,
        ModelKey.CHECKLIST: checklist.predict_proba(pd.DataFrame(X[rows["test"]], columns=names))[:, 1],
        ModelKey.LOGISTIC: logistic.predict_proba(X[rows["test"]])[:, 1],
    }
    if prepared.oracle is not None:
        scores[ModelKey.ORACLE] = prepared.oracle[rows["test"]]
    metrics, comparisons = evaluate_many(y_test, scores, n_boot=n_boot, seed=seed, compare_to=ModelKey.MODEL)
    if n_boot != PAIRED_BOOT:  # the paired intervals keep their own resamples whatever n_boot is
        _, comparisons = evaluate_many(
            y_test, scores, n_boot=PAIRED_BOOT, seed=seed, compare_to=ModelKey.MODEL
        )
    test_frame, _ = prepared.window("test")
    return Judgement(
        metrics=MappingProxyType(metrics),
        comparisons=MappingProxyType(comparisons),
        slices=MappingProxyType(_slices(test_frame, y_test, p_test)),
        calibration_table=calibration_table(y_test, p_test),
        n_boot=n_boot,
    )


def _slices(frame: pd.DataFrame, y: np.ndarray, p: np.ndarray) -> dict[str, pd.DataFrame]:
    counties = frame["area_code"].map(area_codes.county_of)
    return {"category": slice_metrics(y, p, frame["category"]), "county": slice_metrics(y, p, counties)}
