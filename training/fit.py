"""Stage 3 of training: fit the feature pipeline, LightGBM and the calibrator on their windows.

The featurizer learns on the train window (its text score cross-fitted there), the booster stops
early on the validation window, which also decides whether the narrative's words earn their
place, and the calibrator and warning thresholds come from the calibration window. The test
window is never looked at here. No MLflow here.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from features.build import CaseFeaturizer
from features.history_state import HistoryState
from risk.calibration import ProbabilityCalibrator
from risk.drift import SCORE, reference_sample
from risk.model import MODEL_NAME, EscalationModel, booster_predict
from training.boost import default_params, fit_booster, round_cap
from training.calibrate import choose_thresholds, threshold_report
from training.narrative_worker import NarrativeJob
from training.prepare import Prepared
from training.split import WINDOWS

WITH_TEXT, WITHOUT_TEXT = "with text", "without text"


@dataclass(frozen=True)
class Fitted:
    """The fitted model and what the evaluation needs of its fitting."""

    model: EscalationModel
    X: np.ndarray  # the model matrix of every labelled row (train rows: cross-fitted text score)
    raw: Mapping[str, np.ndarray]  # window -> the booster's uncalibrated scores
    threshold_table: pd.DataFrame  # precision and recall of each level on the calibration window
    seconds: Mapping[str, float]


def fit(prepared: Prepared, *, quick: bool = False, seed: int = 0) -> Fitted:
    """Fit everything the registered model holds (see the module docstring for which window does what)."""
    clock: dict[str, float] = {}
    t = time.perf_counter()
    featurizer, X = fit_features(prepared, quick)
    clock["features"] = time.perf_counter() - t

    t = time.perf_counter()
    boosters = _boosters(prepared, featurizer, X, quick=quick, seed=seed)
    return finish_fit(prepared, featurizer, X, boosters, clock, train_started=t)


def finish_fit(
    prepared: Prepared,
    featurizer: CaseFeaturizer,
    X: np.ndarray,
    boosters: Mapping[str, Any],
    clock: Mapping[str, float],
    *,
    train_started: float,
) -> Fitted:
    """From the boosters with and without the text score (however they were trained: here, or on
    a Dask cluster) to the model: the validation window picks one, the calibration window gives
    the calibrator and the warning thresholds. ``X``: the matrix of ``prepared.frame``'s rows."""
    booster, choice, valid_auc = _choose_text(prepared, X, boosters)
    if choice == WITHOUT_TEXT:
        featurizer, X = featurizer.without_text(), X[:, :-1]
    raw = {w: booster_predict(booster, X[rows]) for w, rows in prepared.rows.items()}
    y_calibration = prepared.y[prepared.rows["calibration"]]
    calibrator = ProbabilityCalibrator(method="auto").fit(raw["calibration"], y_calibration)
    p_calibration = calibrator.predict(raw["calibration"])
    thresholds = choose_thresholds(p_calibration, y_calibration)
    seconds = {**clock, "train": clock.get("train", 0.0) + time.perf_counter() - train_started}

    state = HistoryState.from_records(prepared.cases, prepared.parties, population=prepared.population)
    recent = np.concatenate([prepared.rows["calibration"], prepared.rows["test"]])
    model = EscalationModel(
        featurizer,
        booster,
        calibrator,
        thresholds,
        state,
        horizon_days=prepared.horizon_days,
        metadata={
            "as_of": str(prepared.as_of),
            "windows": {name: dict(window) for name, window in prepared.windows.items()},
            "best_iteration": int(booster.best_iteration),
            "n_features": int(X.shape[1]),
            "data_dir": str(prepared.data_dir),
            "rejects": prepared.rejects,
            "text": choice,
            "validation_auc": valid_auc,
            # the last windows as the model saw them: monitoring compares recent intake with this
            "reference": _reference(
                prepared,
                featurizer,
                X[recent],
                calibrator.predict(np.concatenate([raw["calibration"], raw["test"]])),  # rows of ``recent``
                recent,
            ),
        },
        name=MODEL_NAME,
    )
    return Fitted(
        model=model,
        X=X,
        raw=MappingProxyType(raw),
        threshold_table=threshold_report(p_calibration, y_calibration, thresholds),
        seconds=MappingProxyType(seconds),
    )


def _reference(
    prepared: Prepared, featurizer: CaseFeaturizer, X: np.ndarray, scores: np.ndarray, rows: np.ndarray
) -> pd.DataFrame:
    matrix = pd.DataFrame(X, columns=list(featurizer.get_feature_names_out()))
    cases = prepared.frame.iloc[rows].reset_index(drop=True)[["category", "source"]]
    return reference_sample(pd.concat([cases, matrix], axis=1).assign(**{SCORE: scores}))


def new_featurizer(quick: bool) -> CaseFeaturizer:
    """The featurizer's settings (a smaller vocabulary when ``quick``)."""
    return CaseFeaturizer(text_max_features=5000 if quick else 20_000, text_min_df=3 if quick else 5)


def fit_features(prepared: Prepared, quick: bool) -> tuple[CaseFeaturizer, np.ndarray]:
    """The featurizer fitted on the train window, and the matrix of every labelled row."""
    rows, frame, y = prepared.rows, prepared.frame, prepared.y
    featurizer = new_featurizer(quick)
    train = frame.iloc[rows["train"]]
    # A second process counts the training rows' cues while this one fits the word score, then
    # both compute the other rows' narrative parts (training.narrative_worker).
    with NarrativeJob(train["narrative"].tolist(), None) as cues:
        train_rows = featurizer.fit_transform(
            train, y[rows["train"]], cue_counts=lambda: cues.result().cue_counts
        )
    X = np.empty((len(frame), train_rows.shape[1]), dtype=np.float32)
    X[rows["train"]] = train_rows  # cross-fitted text scores for the rows the text model saw
    others = np.concatenate([rows[w] for w in WINDOWS[1:]])
    rest = frame.iloc[others]
    with NarrativeJob(rest["narrative"].tolist(), featurizer.text_) as parts:
        X[others] = parts.transform(featurizer, rest)
    return featurizer, X


# The columns each candidate booster reads: the text score is the matrix's last column.
COLUMNS = {WITH_TEXT: slice(None), WITHOUT_TEXT: slice(0, -1)}


def _boosters(
    prepared: Prepared, featurizer: CaseFeaturizer, X: np.ndarray, *, quick: bool, seed: int
) -> dict[str, Any]:
    """LightGBM with and without the text score, each stopped early on the validation window.

    The two train side by side, one thread each (LightGBM releases the GIL): rounds of 8-leaf
    trees are too short for two OpenMP threads to pay for their synchronisation, so one booster
    per core is faster than each booster on both, and gives the same trees (measured)."""
    train, valid = prepared.rows["train"], prepared.rows["validation"]
    y = prepared.y
    names = list(featurizer.get_feature_names_out())
    params = default_params(seed, quick=quick)

    def one(cols: slice) -> Any:
        return fit_booster(
            X[train][:, cols],
            y[train],
            X[valid][:, cols],
            y[valid],
            feature_names=names[cols],
            params=params,
            max_rounds=round_cap(quick),
        )

    with ThreadPoolExecutor(max_workers=len(COLUMNS)) as pool:
        running = {choice: pool.submit(one, cols) for choice, cols in COLUMNS.items()}
        return {choice: future.result() for choice, future in running.items()}


def _choose_text(
    prepared: Prepared, X: np.ndarray, boosters: Mapping[str, Any]
) -> tuple[Any, str, dict[str, float]]:
    """The validation window picks the booster with or without the text score, never test."""
    valid = prepared.rows["validation"]
    y = prepared.y
    valid_auc = {
        choice: float(roc_auc_score(y[valid], booster_predict(booster, X[valid][:, COLUMNS[choice]])))
        for choice, booster in boosters.items()
    }
    choice = max(valid_auc, key=valid_auc.__getitem__)
    return boosters[choice], choice, valid_auc
