"""Fit and evaluate: features as of registration, temporal split, LightGBM + calibration,
baselines on the same split, test-window metrics with intervals. No MLflow here."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from features import area_codes
from features.build import CaseFeaturizer, case_frame
from features.contract import load_dataset
from features.history import HistoryState, compute_history_features
from features.schema import DEFAULT_HORIZON_DAYS
from risk.calibration import ProbabilityCalibrator
from risk.model import MODEL_NAME, EscalationModel
from training.baselines import RedFlagChecklist, logistic_baseline
from training.boost import default_params, fit_booster
from training.calibrate import choose_thresholds, threshold_report
from training.evaluate import evaluate, paired_auc_difference, slice_metrics
from training.labels import as_of_view, horizon_labels
from training.split import temporal_split

log = logging.getLogger(__name__)


@dataclass
class TrainReport:
    model: EscalationModel
    metrics: dict[str, dict[str, Any]]  # model / checklist / logistic / oracle -> metric -> Metric
    comparisons: dict[str, Any]  # other -> AUC(model) - AUC(other), paired bootstrap
    slices: dict[str, pd.DataFrame]
    windows: dict[str, dict[str, Any]]
    thresholds: dict[str, float]
    threshold_table: pd.DataFrame
    calibration_table: pd.DataFrame
    seconds: dict[str, float]
    model_card: str = ""
    model_uri: str | None = None
    version: str | None = None
    run_id: str | None = None
    card_path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def population_of(areas: pd.DataFrame) -> dict[str, float]:
    known = areas.dropna(subset=["population"])
    return dict(zip(known["area_code"].astype(str), known["population"].astype(float), strict=True))


def fit_and_evaluate(
    data_dir: Path,
    *,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    as_of: pd.Timestamp | None = None,
    quick: bool = False,
    seed: int = 0,
    n_boot: int | None = None,
) -> TrainReport:
    clock: dict[str, float] = {}
    t0 = time.perf_counter()
    dataset = load_dataset(data_dir)
    as_of = pd.Timestamp(as_of) if as_of is not None else dataset.export_date
    cases, parties = as_of_view(dataset.cases, dataset.parties, as_of)
    cases = cases.sort_values(["registered_at", "case_id"], kind="stable").reset_index(drop=True)
    population = population_of(dataset.areas)
    clock["load"] = time.perf_counter() - t0

    t = time.perf_counter()
    history = compute_history_features(cases, parties, population=population)
    frame = case_frame(cases, history)
    labels = horizon_labels(cases, horizon_days, as_of)
    labelled = labels.notna()
    split = temporal_split(cases["registered_at"], labelled)
    clock["history"] = time.perf_counter() - t

    t = time.perf_counter()
    windows_ = ("train", "validation", "calibration", "test")
    y_all = labels[labelled].to_numpy()
    # Row positions inside X (labelled cases only, in frame order).
    pos = {w: np.flatnonzero(split.mask(w)[labelled.to_numpy()]) for w in windows_}
    labelled_frame = frame.loc[labelled.to_numpy()].reset_index(drop=True)
    featurizer = CaseFeaturizer(text_max_features=5000 if quick else 20_000, text_min_df=3 if quick else 5)
    train_rows = featurizer.fit_transform(labelled_frame.iloc[pos["train"]], y_all[pos["train"]])
    X = np.empty((len(labelled_frame), train_rows.shape[1]), dtype=np.float32)
    X[pos["train"]] = train_rows  # cross-fitted text scores for the rows the text model saw
    rest = np.concatenate([pos[w] for w in windows_[1:]])
    X[rest] = featurizer.transform(labelled_frame.iloc[rest])
    clock["features"] = time.perf_counter() - t

    t = time.perf_counter()
    params = default_params(seed, quick=quick)
    fit = {
        "with text": fit_booster(X[pos["train"]], y_all[pos["train"]], X[pos["validation"]], y_all[pos["validation"]],
                                 feature_names=list(featurizer.get_feature_names_out()), params=params,
                                 max_rounds=600 if quick else 5000),
        "without text": fit_booster(X[pos["train"]][:, :-1], y_all[pos["train"]], X[pos["validation"]][:, :-1],
                                    y_all[pos["validation"]], feature_names=list(featurizer.get_feature_names_out()[:-1]),
                                    params=params, max_rounds=600 if quick else 5000),
    }
    # Whether the narrative's words earn their place is decided on the validation window, never test.
    valid_auc = {
        name: roc_auc_score(y_all[pos["validation"]], b.predict(X[pos["validation"]] if name == "with text" else X[pos["validation"]][:, :-1]))
        for name, b in fit.items()
    }
    choice = max(valid_auc, key=valid_auc.__getitem__)
    booster = fit[choice]
    if choice == "without text":
        featurizer = featurizer.without_text()
        X = X[:, :-1]
    raw = {w: booster.predict(X[p]) for w, p in pos.items()}
    calibrator = ProbabilityCalibrator(method="auto").fit(raw["calibration"], y_all[pos["calibration"]])
    p_calib = calibrator.predict(raw["calibration"])
    thresholds = choose_thresholds(p_calib, y_all[pos["calibration"]])
    threshold_table = threshold_report(p_calib, y_all[pos["calibration"]], thresholds)
    clock["train"] = time.perf_counter() - t

    t = time.perf_counter()
    y_test = y_all[pos["test"]]
    p_test = calibrator.predict(raw["test"])
    test_frame = labelled_frame.iloc[pos["test"]].reset_index(drop=True)
    checklist = RedFlagChecklist().fit(_checklist_input(featurizer, X[pos["train"]]), y_all[pos["train"]])
    p_check = checklist.predict_proba(_checklist_input(featurizer, X[pos["test"]]))[:, 1]
    logistic = logistic_baseline().fit(X[pos["train"]], y_all[pos["train"]])
    p_logit = logistic.predict_proba(X[pos["test"]])[:, 1]
    boots = n_boot if n_boot is not None else (200 if quick else 1000)
    metrics = {
        "LightGBM (calibrated)": evaluate(y_test, p_test, n_boot=boots, seed=seed),
        "red-flag checklist": evaluate(y_test, p_check, n_boot=boots, seed=seed),
        "logistic regression": evaluate(y_test, p_logit, n_boot=boots, seed=seed),
    }
    comparisons = {
        "red-flag checklist": paired_auc_difference(y_test, p_test, p_check, seed=seed),
        "logistic regression": paired_auc_difference(y_test, p_test, p_logit, seed=seed),
    }
    oracle = _truth_for(data_dir, test_frame["case_id"])
    if oracle is not None:
        metrics["generator truth (oracle)"] = evaluate(y_test, oracle, n_boot=boots, seed=seed)
        comparisons["generator truth (oracle)"] = paired_auc_difference(y_test, p_test, oracle, seed=seed)
    counties = test_frame["area_code"].map(area_codes.county_of)
    slices = {
        "category": slice_metrics(y_test, p_test, test_frame["category"]),
        "county": slice_metrics(y_test, p_test, counties),
    }
    clock["evaluate"] = time.perf_counter() - t

    state = HistoryState.from_records(cases, parties, population=population)
    windows = split.describe()
    for name, rows in pos.items():
        windows[name]["n_pos"] = int(y_all[rows].sum())
    model = EscalationModel(
        featurizer, booster, calibrator, thresholds, state,
        horizon_days=horizon_days,
        metadata={
            "as_of": str(as_of), "windows": windows, "best_iteration": int(booster.best_iteration),
            "n_features": int(X.shape[1]), "data_dir": str(data_dir), "rejects": int(len(dataset.rejects)),
            "text": choice, "validation_auc": {k: float(v) for k, v in valid_auc.items()},
        },
        name=MODEL_NAME,
    )
    from training.evaluate import calibration_table  # local: only the report needs it

    return TrainReport(
        model=model, metrics=metrics, comparisons=comparisons, slices=slices, windows=windows,
        thresholds=thresholds, threshold_table=threshold_table,
        calibration_table=calibration_table(y_test, p_test), seconds=clock,
        extra={"as_of": as_of, "n_cases": len(cases), "n_labelled": int(labelled.sum()),
               "base_rate": float(np.mean(y_all)), "rejects": int(len(dataset.rejects)), "n_boot": boots},
    )


def _checklist_input(featurizer: CaseFeaturizer, X: Any) -> pd.DataFrame:
    return pd.DataFrame(X, columns=list(featurizer.get_feature_names_out()))


def _truth_for(data_dir: Path, case_ids: pd.Series) -> np.ndarray | None:
    """The demo generator's true probabilities (not part of the contract), when present."""
    path = Path(data_dir) / "truth.csv"
    if not path.exists():
        return None
    truth = pd.read_csv(path, usecols=["case_id", "p_true"], dtype={"case_id": str})
    joined = pd.DataFrame({"case_id": case_ids.astype(str)}).merge(truth, on="case_id", how="left")
    if joined["p_true"].isna().any():
        return None
    return joined["p_true"].to_numpy(dtype=float)
